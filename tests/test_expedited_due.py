"""The officers' list of expedited reports, the most urgent first, with the days left."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from reports.models import Report

from .browser import page, sign_in  # noqa: F401
from .factories import reaction, report_payload

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def expedited(api: APIClient, patient: str, received_days_ago: int) -> Report:
    body = api.post(
        "/api/v1/reports/",
        report_payload(
            reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]),
            patient=patient,
        ),
        format="json",
    ).json()
    report = Report.objects.get(pk=body["id"])
    received = report.received_at - timedelta(days=received_days_ago)
    Report.objects.filter(pk=report.pk).update(
        received_at=received, expedited_due=timezone.localdate(received) + timedelta(days=15)
    )
    return Report.objects.get(pk=report.pk)


@pytest.fixture
def reports(api, inotuzumab):
    overdue = expedited(api, "PT-0001", 17)
    soon = expedited(api, "PT-0002", 13)
    later = expedited(api, "PT-0003", 1)
    void = expedited(api, "PT-0004", 20)
    api.post(f"/api/v1/reports/{void.pk}/void/", {"reason": "entered twice"}, format="json")
    api.post("/api/v1/reports/", report_payload(patient="PT-0005"), format="json")
    return overdue, soon, later, void


@pytest.mark.django_db
def test_officers_see_expedited_reports_by_urgency_with_the_days_left(reports, officer, nurse):
    overdue, soon, later, void = reports
    client = Client()
    client.force_login(officer)
    html = client.get("/reports/expedited/").content.decode()
    at = [html.index(r.reference) for r in (overdue, soon, later)]
    assert at == sorted(at)
    assert void.reference not in html
    assert "Overdue by 2 days" in html
    assert "2 days left" in html and "14 days left" in html
    assert "1 overdue" in html and "1 due within 3 days" in html
    nurses = Client()
    nurses.force_login(nurse)
    assert nurses.get("/reports/expedited/").status_code == 403


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_the_due_list_reads_at_both_widths(page, live_server, reports, officer, width):  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.get_by_role("link", name="Due", exact=True).click()
    page.get_by_role("heading", name="Expedited reports due").wait_for()
    assert page.get_by_text("Overdue by 2 days").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"expedited_due_{width}.png"), full_page=True)
