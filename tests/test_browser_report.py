from pathlib import Path

import pytest

from reports.models import Report

from .browser import page, sign_in  # noqa: F401

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def pick(row, typed, option_name):
    term = row.get_by_label("Reaction")
    term.click()
    term.press_sequentially(typed, delay=40)
    option = row.get_by_role("option", name=option_name)
    option.first.wait_for()
    option.first.click()


@pytest.mark.browser
def test_a_nurse_files_two_reactions_in_lay_words_and_sees_their_listedness(
    page,  # noqa: F811
    live_server,
    nurse,
    inotuzumab,
):
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.get_by_role("link", name="New report").click()
    page.get_by_label("Patient reference").fill("PT-0042")
    page.get_by_label("Age (years)").fill("47")
    page.get_by_label("Therapy start").fill("2026-10-01")

    rows = page.locator("[data-reaction-row]:visible")
    first = rows.nth(0)
    pick(first, "nosebl", "Epistaxis")
    assert first.get_by_label("Reaction").input_value() == "Epistaxis"
    assert first.locator("input[name$='-verbatim']").input_value() == "nosebl"
    first.get_by_label("Onset").fill("2026-10-08")
    first.get_by_label("CTCAE grade").select_option("1")
    first.locator(".listedness-hint.listed").wait_for()

    page.get_by_role("button", name="Add another reaction").click()
    second = rows.nth(1)
    pick(second, "coughing up", "Haemoptysis")
    second.get_by_label("Onset").fill("2026-10-09")
    second.get_by_label("CTCAE grade").select_option("3")
    second.get_by_label("Requires or prolongs hospitalisation").check()
    second.locator(".listedness-hint.unlisted").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report_form.png"), full_page=True)

    page.get_by_role("button", name="File the report").click()
    page.wait_for_url("**/reports/*/")
    report = Report.objects.get()
    assert page.get_by_role("heading", name=f"Report {report.reference}").is_visible()
    epistaxis = page.get_by_role("row", name="Epistaxis")
    haemoptysis = page.get_by_role("row", name="Haemoptysis")
    assert "Listed" in epistaxis.inner_text()
    assert "Unlisted" in haemoptysis.inner_text()
    assert page.get_by_text("Expedited report due").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "report_confirmation.png"), full_page=True)
    assert sorted((str(r.term), r.listedness) for r in report.reactions.all()) == [
        ("Epistaxis", "listed"),
        ("Haemoptysis", "unlisted"),
    ]


@pytest.mark.browser
def test_a_failed_submit_in_the_browser_keeps_what_was_typed(page, live_server, nurse, inotuzumab):  # noqa: F811
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/new/")
    page.get_by_label("Patient reference").fill("PT-0043")
    row = page.locator("[data-reaction-row]:visible").first
    row.get_by_label("Reaction").fill("went all wobbly and strange")
    row.get_by_label("CTCAE grade").select_option("5")
    row.get_by_label("Outcome").select_option("recovered")
    page.get_by_label("What happened").fill("Bruises on both arms.")
    page.get_by_role("button", name="File the report").click()
    page.wait_for_load_state()
    assert page.get_by_text("the outcome must be fatal").is_visible()
    assert page.get_by_label("Patient reference").input_value() == "PT-0043"
    row = page.locator("[data-reaction-row]:visible").first
    assert row.get_by_label("Reaction").input_value() == "went all wobbly and strange"
    assert page.get_by_label("What happened").input_value() == "Bruises on both arms."
    assert Report.objects.count() == 0


@pytest.mark.browser
def test_script_in_narrative_verbatim_and_comments_is_shown_as_text(
    page,  # noqa: F811
    live_server,
    nurse,
    officer,
    inotuzumab,
):
    from rest_framework.test import APIClient

    from .factories import reaction, report_payload

    payload = "<script>alert('x')</script><img src=x onerror=alert('y')>"
    api = APIClient()
    api.force_authenticate(nurse)
    body = api.post(
        "/api/v1/reports/",
        report_payload(reaction("Nausea", verbatim=payload), narrative=payload),
        format="json",
    ).json()
    api.post(f"/api/v1/reports/{body['id']}/void/", {"reason": payload}, format="json")
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/{body['id']}/")
    assert page.get_by_text("<script>alert('x')</script>", exact=False).first.is_visible()
    assert page.locator("script:not([src])").count() == 0
    assert dialogs == []
