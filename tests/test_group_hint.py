"""A group term on the form: the page says at once that a specific reaction is needed and
offers the group's members, as the server refuses the group itself."""

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from .browser import page, sign_in  # noqa: F401

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
URL = "/api/v1/drugs/inotuzumab-ozogamicin/listedness/"


@pytest.mark.django_db
def test_the_listedness_of_a_group_says_it_is_one_with_its_members_labelled_first(
    api: APIClient, inotuzumab
):
    body = api.get(URL, {"term": "Haemorrhage"}).json()
    assert body["is_group"] is True
    assert 0 < len(body["members"]) <= 12
    # The label names Epistaxis and Gingival bleeding: such members come before the others.
    assert {"Epistaxis", "Gingival bleeding"} <= set(body["members"])
    nausea = api.get(URL, {"term": "Nausea"}).json()
    assert (nausea["is_group"], nausea["members"]) == (False, [])


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_the_form_offers_a_groups_members_and_a_member_is_judged(
    page,  # noqa: F811
    live_server,
    nurse,
    inotuzumab,
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/new/")
    row = page.locator("[data-reaction-row]:visible").first
    row.get_by_label("Reaction").fill("Haemorrhage")
    row.get_by_label("Reaction").press("Tab")
    hint = row.locator(".listedness-hint.group")
    hint.wait_for()
    assert "is a group: choose the specific reaction" in hint.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"form_group_{width}.png"), full_page=True)
    hint.get_by_role("button", name="Epistaxis").click()
    assert row.get_by_label("Reaction").input_value() == "Epistaxis"
    row.locator(".listedness-hint.listed").wait_for()
