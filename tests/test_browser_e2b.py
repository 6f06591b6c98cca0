"""The ICSR download buttons in the browser: the report page and the expedited list."""

import pytest

from reports.models import Report

from .browser import page, sign_in  # noqa: F401
from .e2b_helpers import file_report, meddra_version, reaction  # noqa: F401
from .test_browser_report_pages import SCREENSHOTS, nothing_cut_off


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_downloads_icsrs_and_reads_why_one_is_blocked(
    page,  # noqa: F811
    live_server,
    nurse,
    officer,
    inotuzumab,
    width,
):
    sent = file_report(nurse, reference="P-1")
    blocked = file_report(
        nurse,
        reaction(
            "Retinal haemorrhage",
            "bleeding at the back of the eye",
            3,
            seriousness=["hospitalization"],
        ),
        reference="P-2",
    )
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")

    page.goto(f"{live_server.url}/reports/{sent.pk}/")
    assert page.get_by_text("Not yet exported as an ICSR").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ICSR (E2B XML)").click()
    assert download.value.suggested_filename.startswith(sent.reference)
    page.reload()
    assert page.get_by_text("Last exported as an ICSR").is_visible()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_icsr_sent_{width}.png"), full_page=True)

    page.goto(f"{live_server.url}/reports/{blocked.pk}/")
    page.get_by_role("link", name="Download ICSR (E2B XML)").click()
    page.wait_for_url(f"**/reports/{blocked.pk}/")
    messages = page.locator(".messages")
    assert "was not exported" in messages.inner_text()
    assert "Retinal haemorrhage" in messages.inner_text()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_icsr_blocked_{width}.png"), full_page=True)

    page.goto(f"{live_server.url}/reports/expedited/")
    assert page.get_by_role("link", name="Download all as one ICSR batch (E2B XML)").is_visible()
    for report in Report.objects.all():
        name = f"Download the ICSR of {report.reference}"
        assert page.get_by_role("link", name=name, exact=True).is_visible()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"expedited_icsr_{width}.png"), full_page=True)
