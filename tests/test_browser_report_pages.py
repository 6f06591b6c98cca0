from pathlib import Path

import pytest
from django.test import Client

from reports.models import Report

from .browser import page, sign_in  # noqa: F401
from .test_reports_views import form_data

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def nothing_cut_off(page) -> bool:  # noqa: F811
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_a_nurse_reads_the_report_list_and_her_report_page(
    page,  # noqa: F811
    live_server,
    nurse,
    officer,
    inotuzumab,
    width,
):
    filer = Client()
    filer.force_login(nurse)
    filer.post(
        "/reports/new/",
        form_data(
            {"term": "Nausea", "onset_date": "2026-09-20", "causality": "probable"},
            therapy_start="2026-10-01",
        ),
    )
    report = Report.objects.get()
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/")
    filters = page.get_by_role("search")
    for label in ("Drug (name, brand or slug)", "On the label", "Duplicate", "Received until"):
        assert filters.get_by_label(label, exact=True).is_visible()
    received_from = filters.get_by_label("Received from", exact=True)
    assert received_from.get_attribute("type") == "date"
    received_from.fill(f"{report.received_at:%Y-%m-%d}")
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/reports/?*")
    assert page.get_by_role("link", name=report.reference).is_visible()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_list_{width}.png"), full_page=True)

    page.goto(f"{live_server.url}/reports/?received_after=garbage")
    assert (
        page.get_by_role("alert").filter(has_text="Received from: Enter a valid date.").is_visible()
    )
    page.screenshot(path=str(SCREENSHOTS / f"report_list_bad_date_{width}.png"), full_page=True)

    page.goto(f"{live_server.url}/reports/{report.pk}/")
    warning = page.locator(".banner.warning")
    assert "onset 2026-09-20 is before the therapy start 2026-10-01" in warning.inner_text()
    assert page.get_by_role("columnheader", name="Causality").is_visible()
    assert "Probable" in page.get_by_role("row", name="Nausea").inner_text()
    assert page.get_by_text("nurse1 (Nurse)").is_visible()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_page_nurse_{width}.png"), full_page=True)

    page.context.clear_cookies()
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    history = page.locator("table.history")
    assert "Received through: Web form" in history.inner_text()
    assert "{'" not in history.inner_text()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_page_officer_{width}.png"), full_page=True)
