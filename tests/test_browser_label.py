from pathlib import Path

import pytest

from .browser import page, sign_in  # noqa: F401

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.mark.browser
def test_a_nurse_reads_the_label_at_a_glance(page, live_server, nurse, inotuzumab):  # noqa: F811
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.get_by_role("link", name="inotuzumab ozogamicin").click()
    page.wait_for_url("**/drugs/inotuzumab-ozogamicin/label/")

    blood = page.locator(
        "section.soc", has=page.get_by_role("heading", name="Blood and lymphatic system disorders")
    )
    row = blood.get_by_role("row", name="Thrombocytopenia")
    assert "Very common" in row.inner_text()
    bar = row.get_by_role("img", name="51% all grades, 42% grade 3 or higher")
    assert bar.is_visible()
    assert page.get_by_role("heading", name="Nervous system disorders").is_visible()
    epistaxis = page.get_by_role("row", name="Epistaxis")
    assert "nosebleeds" in epistaxis.inner_text()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "label.png"), full_page=True)


@pytest.mark.browser
def test_signing_in_with_a_wrong_password_keeps_the_username(page, live_server, nurse):  # noqa: F811
    page.goto(f"{live_server.url}/drugs/inotuzumab-ozogamicin/label/")
    page.wait_for_url("**/login/**")
    page.get_by_label("Username").fill("nurse1")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Username").input_value() == "nurse1"
