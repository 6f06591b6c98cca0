"""Dates are the hospital's (DJANGO_TIME_ZONE): a report received just after local midnight
on New Year's Day, while it is still the old year in UTC (or the other way round), takes its
case-number year, due date and "future" judgement from the local date."""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.utils import timezone

from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db


def submit_at(api, instant: datetime, *reactions):
    with mock.patch("django.utils.timezone.now", return_value=instant):
        return api.post("/api/v1/reports/", report_payload(*reactions), format="json")


def serious_unlisted(onset: str):
    # Retinal haemorrhage is not on the seed label: serious and unlisted, so expedited.
    return reaction(
        "Retinal haemorrhage", onset_date=onset, grade=3, seriousness=["hospitalization"]
    )


def test_the_settings_read_the_hospitals_zone_from_the_environment():
    from .test_settings_and_services import run_manage

    code = "from django.conf import settings; print(settings.TIME_ZONE, settings.CELERY_TIMEZONE)"
    result = run_manage("shell", "-c", code, DJANGO_TIME_ZONE="Pacific/Auckland")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["Pacific/Auckland", "Pacific/Auckland"]


def test_east_of_utc_a_report_after_local_midnight_is_of_the_new_year(settings, api, inotuzumab):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13 in summer
    instant = datetime(2026, 12, 31, 11, 30, tzinfo=UTC)  # 00:30 on 1 January 2027 there
    assert timezone.localdate(instant).isoformat() == "2027-01-01"
    response = submit_at(api, instant, serious_unlisted("2027-01-01"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"].startswith("AE-2027-")
    assert body["expedited_due"] == "2027-01-16"


def test_west_of_utc_a_report_before_local_midnight_is_of_the_old_year(settings, api, inotuzumab):
    settings.TIME_ZONE = "America/Los_Angeles"  # UTC-8
    instant = datetime(2027, 1, 1, 7, 30, tzinfo=UTC)  # 23:30 on 31 December 2026 there
    response = submit_at(api, instant, serious_unlisted("2026-12-31"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"].startswith("AE-2026-")
    assert body["expedited_due"] == "2027-01-15"


def test_a_date_is_in_the_future_by_the_hospitals_calendar(settings, api, inotuzumab):
    settings.TIME_ZONE = "America/Los_Angeles"
    instant = datetime(2027, 1, 1, 7, 30, tzinfo=UTC)  # still 31 December 2026 there
    response = submit_at(api, instant, serious_unlisted("2027-01-01"))
    assert response.status_code == 400
    assert "future" in str(response.json()["reactions"])
