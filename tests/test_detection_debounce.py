"""A burst of reports starts one detection run per drug per debounce window, with a broker
(beat hands out the queued run) and without one (the first report's run at once, then one
run at the window's end, started by a timer in the web process)."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Report
from surveillance import triggers
from surveillance.choices import RunStatus, Trigger
from surveillance.models import DetectionRun
from surveillance.services import run_create, run_queue_for_new_reports
from surveillance.tasks import runs_dispatch_due
from surveillance.triggers import on_report_committed

from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db

WINDOW = 60


@pytest.fixture
def detection_on(settings):
    settings.DETECTION_ON_NEW_REPORTS = True
    settings.DETECTION_DEBOUNCE_SECONDS = WINDOW


@pytest.fixture
def timers(monkeypatch):
    """The times the web process was asked to start due runs at; no timer thread starts."""
    due: list = []
    monkeypatch.setattr(triggers, "dispatch_when_due", due.append)
    return due


def file_burst(api, count, capture):
    for i in range(count):
        with capture(execute=True):
            response = api.post(
                "/api/v1/reports/",
                report_payload(
                    reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]),
                    patient=f"BURST-{i}",
                ),
                format="json",
            )
        assert response.status_code == 201


def clock_moved(monkeypatch, seconds):
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(seconds=seconds))


def test_seven_reports_in_a_burst_start_one_run_at_once_and_queue_one_more_not_seven(
    api, inotuzumab, detection_on, timers, django_capture_on_commit_callbacks
):
    file_burst(api, 7, django_capture_on_commit_callbacks)
    first, queued = DetectionRun.objects.order_by("created_at", "pk")
    assert DetectionRun.objects.count() == 2
    # The first report of a quiet drug: detection at once, so the nurse sees fresh signals.
    assert (first.trigger, first.status) == (Trigger.NEW_REPORTS, RunStatus.SUCCEEDED)
    # The six others share one run, due one window after the first run started.
    assert (queued.trigger, queued.status, queued.drug) == (
        Trigger.NEW_REPORTS,
        RunStatus.QUEUED,
        inotuzumab,
    )
    assert first.started_at is not None
    assert queued.not_before == first.started_at + timedelta(seconds=WINDOW)
    # One timer, for that run.
    assert timers == [queued.not_before]


def test_the_queued_run_starts_once_the_window_is_over(
    api, inotuzumab, detection_on, timers, django_capture_on_commit_callbacks, monkeypatch
):
    file_burst(api, 3, django_capture_on_commit_callbacks)
    queued = DetectionRun.objects.get(status=RunStatus.QUEUED)
    # What the timer calls: before the window's end nothing is due.
    assert runs_dispatch_due() == 0
    clock_moved(monkeypatch, WINDOW + 1)
    assert runs_dispatch_due() == 1
    queued.refresh_from_db()
    assert queued.status == RunStatus.SUCCEEDED
    # It counted the whole burst.
    assert queued.counts["signals_updated"] + queued.counts["signals_new"] >= 1
    assert DetectionRun.objects.filter(status=RunStatus.QUEUED).count() == 0


def test_a_report_after_the_window_runs_detection_at_once_again(
    api, inotuzumab, detection_on, timers, django_capture_on_commit_callbacks, monkeypatch
):
    file_burst(api, 1, django_capture_on_commit_callbacks)
    clock_moved(monkeypatch, WINDOW + 1)
    on_report_committed(Report.objects.get())
    assert list(DetectionRun.objects.values_list("status", flat=True)) == [RunStatus.SUCCEEDED] * 2
    assert timers == []


def test_a_queued_run_whose_timer_died_with_its_process_is_started_by_the_next_report(
    inotuzumab, detection_on, timers
):
    stranded = DetectionRun.objects.create(
        trigger=Trigger.NEW_REPORTS,
        drug=inotuzumab,
        not_before=timezone.now() - timedelta(minutes=10),
    )
    on_report_committed(Report(drug=inotuzumab))
    stranded.refresh_from_db()
    assert stranded.status == RunStatus.SUCCEEDED
    assert DetectionRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_timer_in_the_web_process_starts_the_queued_run(inotuzumab, settings):
    settings.DETECTION_ON_NEW_REPORTS = True
    settings.DETECTION_DEBOUNCE_SECONDS = 1
    for _ in range(3):
        on_report_committed(Report(drug=inotuzumab))
    first, queued = DetectionRun.objects.order_by("created_at", "pk")
    assert first.status == RunStatus.SUCCEEDED
    assert queued.status == RunStatus.QUEUED
    # Wait for the timer's thread rather than poll the run: SQLite's shared in-memory test
    # database refuses a read while another connection writes the table.
    timers = [t for t in threading.enumerate() if t.name == "detection-debounce"]
    assert timers, "no timer was started for the queued run"
    for timer in timers:
        timer.join(timeout=20)
        assert not timer.is_alive(), "the timer did not start the queued run"
    queued.refresh_from_db()
    assert queued.status == RunStatus.SUCCEEDED
    assert queued.started_at is not None and first.started_at is not None
    assert queued.started_at >= first.started_at + timedelta(seconds=1)
    assert DetectionRun.objects.count() == 2


# With a broker: runs wait in the database for beat's dispatcher.


def test_with_a_broker_the_next_run_waits_a_window_after_the_last_one_started(inotuzumab):
    last = run_create(trigger=Trigger.NEW_REPORTS, drug=inotuzumab)
    started = timezone.now() - timedelta(seconds=10)
    DetectionRun.objects.filter(pk=last.pk).update(
        status=RunStatus.RUNNING, started_at=started, not_before=None
    )
    # A report while the drug's run is running: the next run one window from now.
    queued = run_queue_for_new_reports(inotuzumab.pk, delay_seconds=WINDOW)
    assert queued is not None and queued.not_before is not None
    assert queued.not_before >= started + timedelta(seconds=WINDOW)
    assert queued.not_before >= queued.created_at + timedelta(seconds=WINDOW)


def test_the_sweep_catching_up_a_drug_still_waits_for_its_window(inotuzumab):
    last = run_create(trigger=Trigger.NEW_REPORTS, drug=inotuzumab)
    started = timezone.now() - timedelta(seconds=10)
    DetectionRun.objects.filter(pk=last.pk).update(
        status=RunStatus.FAILED, started_at=started, finished_at=started
    )
    queued = run_queue_for_new_reports(inotuzumab.pk)
    assert queued is not None
    assert queued.not_before == started + timedelta(seconds=WINDOW)
    assert runs_dispatch_due() == 0


def test_a_quiet_drug_may_start_at_once(inotuzumab):
    long_ago = timezone.now() - timedelta(hours=1)
    last = run_create(trigger=Trigger.NEW_REPORTS, drug=inotuzumab)
    DetectionRun.objects.filter(pk=last.pk).update(
        status=RunStatus.SUCCEEDED, started_at=long_ago, finished_at=long_ago
    )
    queued = run_queue_for_new_reports(inotuzumab.pk)
    assert queued is not None and queued.not_before is None


def test_other_runs_do_not_hold_back_the_new_reports_run(inotuzumab):
    officer_run = run_create(trigger=Trigger.MANUAL, drug=inotuzumab)
    DetectionRun.objects.filter(pk=officer_run.pk).update(
        status=RunStatus.SUCCEEDED, started_at=timezone.now()
    )
    queued = run_queue_for_new_reports(inotuzumab.pk)
    assert queued is not None and queued.not_before is None
