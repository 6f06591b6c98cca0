import pytest
from django.test import Client

from reports.models import Report

from .browser import page, sign_in  # noqa: F401
from .test_browser_report_pages import SCREENSHOTS, nothing_cut_off
from .test_report_versions import file_report, follow_up


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_a_nurse_opens_an_older_version_and_reads_what_changed(
    page,  # noqa: F811
    live_server,
    nurse,
    inotuzumab,
    width,
):
    filer = Client()
    filer.force_login(nurse)
    report = file_report(filer)
    follow_up(filer, report)
    report = Report.objects.get()
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    versions = page.get_by_role("heading", name="Versions")
    versions.scroll_into_view_if_needed()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_versions_list_{width}.png"), full_page=True)
    page.get_by_role("link", name="Version 1", exact=True).click()
    page.wait_for_url(f"**/reports/{report.pk}/versions/1/")

    heading = f"Report {report.reference}, version 1"
    assert page.get_by_role("heading", name=heading).is_visible()
    changes = page.locator("ul.differences").inner_text()
    assert "Nausea: end date not given → 15 Oct 2026; outcome Unknown → Recovered" in changes
    assert "Reaction added: Epistaxis" in changes
    nausea = page.get_by_role("row", name="Nausea")
    assert "Unknown" in nausea.inner_text()
    assert "Possible" in nausea.inner_text()
    assert page.get_by_role("row", name="Epistaxis").count() == 0
    body = page.locator("main").inner_text()
    for raw in ("not_recovered", "hospitalization", "{'", "auto\n"):
        assert raw not in body
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_version_{width}.png"), full_page=True)

    page.get_by_role("link", name="Version 2 →").click()
    page.wait_for_url(f"**/reports/{report.pk}/versions/2/")
    assert page.get_by_text("Nothing: the report reads now as it did in this version.").is_visible()
    assert "Requires or prolongs hospitalisation" in (
        page.get_by_role("row", name="Epistaxis").inner_text()
    )
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_version_latest_{width}.png"), full_page=True)
