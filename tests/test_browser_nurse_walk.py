"""A nurse's way through the form and a follow-up, at desk and tablet width: the required
fields marked, a typo forgiven in the reaction's suggestions, the warning shown once the report
is filed, and a stored date shown again in the follow-up's date input."""

from pathlib import Path

import pytest

from reports.models import Report

from .browser import page, sign_in  # noqa: F401
from .test_browser_report_pages import nothing_cut_off

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_a_nurse_files_a_report_and_a_follow_up_and_reads_every_date_back(
    page,  # noqa: F811
    live_server,
    nurse,
    inotuzumab,
    width,
):
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/new/")
    assert page.get_by_text("Fields marked * are required.").is_visible()
    for label in ("Patient reference", "Suspect drug", "CTCAE grade", "Your qualification"):
        mark = page.locator("label", has_text=label).first.locator(".required-mark")
        assert mark.is_visible(), label
    assert not page.locator("label", has_text="Therapy start").locator(".required-mark").count()

    page.get_by_label("Patient reference").fill("PT-0077")
    page.get_by_label("Therapy start").fill("2026-10-10")
    row = page.locator("[data-reaction-row]:visible").first
    reaction = row.get_by_label("Reaction")
    reaction.click()
    reaction.press_sequentially("headake", delay=30)
    headache = row.get_by_role("option", name="Headache")
    headache.first.wait_for()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"walk_form_typo_{width}.png"), full_page=True)
    headache.first.click()
    assert reaction.input_value() == "Headache"
    row.get_by_label("Onset").fill("2026-10-01")
    row.get_by_label("CTCAE grade").select_option("1")
    page.get_by_role("button", name="File the report").click()
    page.wait_for_url("**/reports/*/")

    report = Report.objects.get()
    warning = page.locator(".banner.warning")
    assert "onset 2026-10-01 is before the therapy start 2026-10-10" in warning.inner_text()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"walk_filed_{width}.png"), full_page=True)

    page.get_by_role("link", name="Add follow-up information").click()
    page.wait_for_url("**/follow-up/")
    update = page.locator("fieldset.update").first
    update.get_by_label("Outcome").select_option("recovered")
    update.get_by_label("End date").fill("2026-10-20")
    page.get_by_role("button", name="Save the follow-up").click()
    page.wait_for_url(f"**/reports/{report.pk}/")
    report.refresh_from_db()
    assert report.version == 2

    page.get_by_role("link", name="Add follow-up information").click()
    page.wait_for_url("**/follow-up/")
    update = page.locator("fieldset.update").first
    assert update.get_by_label("End date").input_value() == "2026-10-20"
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"walk_follow_up_{width}.png"), full_page=True)
