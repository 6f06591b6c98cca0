import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reports.models import Report
from surveillance.choices import RunStatus
from surveillance.locks import DrugBusy, drug_lock
from surveillance.models import DetectionRun, DrugLock, DrugRun, Signal
from surveillance.services import (
    RESEND_AFTER,
    drug_part_execute,
    run_create,
    run_execute,
    run_fail,
    run_start,
    runs_sweep_stale,
)
from surveillance.triggers import on_report_committed

from .cohort import worked_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_api(officer):
    client = APIClient()
    client.force_authenticate(officer)
    return client


def test_an_officer_starts_a_run_and_follows_it(
    officer_api, inotuzumab, nurse, django_capture_on_commit_callbacks
):
    worked_scenario(inotuzumab, nurse, nurse.site)
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_api.post(
            "/api/v1/signal-runs/", {"drug": "inotuzumab-ozogamicin"}, format="json"
        )
    assert response.status_code == 202
    assert response.json()["created"] is True
    run_id = response.json()["id"]
    # Without a broker the task ran in this process.
    body = officer_api.get(f"/api/v1/signal-runs/{run_id}/").json()
    assert body["status"] == "succeeded"
    assert {"id", "status", "started_at", "finished_at", "error"} <= set(body)
    signals = officer_api.get("/api/v1/signals/", {"kind": "unlisted"}).json()
    assert [s["term"] for s in signals["results"]] == ["Retinal haemorrhage"]
    [hyper] = officer_api.get("/api/v1/signals/", {"term": "allergic reaction"}).json()["results"]
    assert hyper["kind"] == "incidence" and hyper["band"] == "common"
    detail = officer_api.get(f"/api/v1/signals/{hyper['id']}/").json()
    assert len(detail["evaluations"]) == 1
    assert len(detail["cases_list"]) == 30


def test_an_unknown_drug_is_a_400(officer_api, inotuzumab):
    response = officer_api.post("/api/v1/signal-runs/", {"drug": "nope"}, format="json")
    assert response.status_code == 400
    assert "drug" in response.json()


@pytest.mark.parametrize("url", ["/api/v1/signals/", "/api/v1/signal-runs/"])
def test_only_safety_officers_see_signals_and_runs(nurse, admin_account, url, inotuzumab):
    for user, expected in [(None, 401), (nurse, 403), (admin_account, 403)]:
        client = APIClient()
        if user:
            client.force_authenticate(user)
        assert client.get(url).status_code == expected
        assert client.post("/api/v1/signal-runs/", {}, format="json").status_code == expected


@pytest.fixture
def runs_sent(settings, monkeypatch, tasks_in_process):
    """Reports queue detection with a broker; the runs handed to it."""
    from surveillance import tasks

    settings.DETECTION_ON_NEW_REPORTS = True
    settings.DETECTION_DEBOUNCE_SECONDS = 60
    tasks_in_process.conf.task_always_eager = False
    sent: list[int] = []

    def fake_apply_async(args, **options):
        assert not {"countdown", "eta"} & set(options), "a worker would hold this message"
        sent.append(args[0])

    monkeypatch.setattr(tasks.detection_run_start, "apply_async", fake_apply_async)
    return sent


def test_a_burst_of_reports_queues_at_most_one_run_per_drug(
    inotuzumab, runs_sent, django_assert_num_queries
):
    report = Report(drug=inotuzumab)
    on_report_committed(report)
    # The queued run is found with one indexed query a report.
    with django_assert_num_queries(500):
        for _ in range(500):
            on_report_committed(report)
    [run] = DetectionRun.objects.filter(trigger="new_reports", status="queued")
    assert run.not_before is not None
    assert 59 <= (run.not_before - run.created_at).total_seconds() <= 61
    # Nothing was handed to the broker: the run waits in the database for its time.
    assert runs_sent == []


def test_a_report_after_the_queued_run_started_queues_the_next_run(inotuzumab, runs_sent):
    report = Report(drug=inotuzumab)
    on_report_committed(report)
    first = DetectionRun.objects.get()
    on_report_committed(report)
    assert DetectionRun.objects.count() == 1
    # The run may have started before it saw this report: the report queues the next one.
    DetectionRun.objects.filter(pk=first.pk).update(status=RunStatus.RUNNING)
    on_report_committed(report)
    assert DetectionRun.objects.filter(status="queued").exclude(pk=first.pk).count() == 1
    assert DetectionRun.objects.count() == 2


def test_a_run_another_process_queued_takes_the_reports_of_this_one(
    inotuzumab, runs_sent, django_assert_num_queries
):
    report = Report(drug=inotuzumab)
    old = run_create(trigger="new_reports", drug=inotuzumab)
    for due_in in (9, 60):
        DetectionRun.objects.filter(pk=old.pk).update(
            not_before=timezone.now() + timedelta(seconds=due_in)
        )
        for _ in range(2):
            with django_assert_num_queries(1):
                on_report_committed(report)
    assert DetectionRun.objects.count() == 1
    assert runs_sent == []


def test_without_a_broker_every_report_looks_for_a_queued_run(
    inotuzumab, settings, monkeypatch, django_assert_num_queries
):
    from surveillance import tasks

    settings.DETECTION_ON_NEW_REPORTS = True
    started = []
    monkeypatch.setattr(
        tasks.detection_run_start, "apply_async", lambda args, **options: started.append(args)
    )
    report = Report(drug=inotuzumab)
    on_report_committed(report)
    with django_assert_num_queries(1):
        on_report_committed(report)


def test_a_run_whose_worker_died_is_failed_and_the_next_run_does_the_work(inotuzumab, nurse):
    worked_scenario(inotuzumab, nurse, nurse.site)
    dead = run_create(trigger="manual")
    [part] = run_start(dead)
    long_ago = timezone.now() - timedelta(days=1)
    DrugRun.objects.filter(pk=part.pk).update(status=RunStatus.RUNNING, started_at=long_ago)
    DetectionRun.objects.filter(pk=dead.pk).update(heartbeat_at=long_ago)
    assert runs_sweep_stale() >= 1
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert "worker" in dead.error
    again = run_execute(run_create(trigger="manual"))
    assert again.status == "succeeded"
    assert Signal.objects.filter(term__name="Retinal haemorrhage").count() == 1


def test_two_runs_never_work_on_one_drug_at_once(inotuzumab):
    with (
        drug_lock(inotuzumab.pk, ttl_seconds=60),
        pytest.raises(DrugBusy),
        drug_lock(inotuzumab.pk, ttl_seconds=60),
    ):
        pass
    with drug_lock(inotuzumab.pk, ttl_seconds=60):
        pass


def test_a_redis_lease_renewed_from_the_heartbeat_thread_outlives_its_ttl_until_lost(
    inotuzumab, settings, redis_url
):
    settings.REDIS_URL = redis_url
    renewed: list[bool] = []
    with drug_lock(inotuzumab.pk, ttl_seconds=1) as lease:
        for _ in range(3):
            time.sleep(0.5)
            heartbeat = threading.Thread(target=lambda: renewed.append(lease.renew()))
            heartbeat.start()
            heartbeat.join()
        assert renewed == [True, True, True]
        # Held 1.5 s on a 1 s lease: still this worker's.
        with pytest.raises(DrugBusy), drug_lock(inotuzumab.pk, ttl_seconds=1):
            pass
        time.sleep(1.2)
        # Not renewed for longer than the lease: the drug is free, and the holder is told.
        assert lease.renew() is False
        with drug_lock(inotuzumab.pk, ttl_seconds=60):
            pass
    with drug_lock(inotuzumab.pk, ttl_seconds=60):
        pass


def test_detect_signals_command_prints_a_summary(inotuzumab, nurse):
    from io import StringIO

    from django.core.management import call_command

    worked_scenario(inotuzumab, nurse, nurse.site)
    out = StringIO()
    call_command("detect_signals", "--drug", "inotuzumab-ozogamicin", stdout=out)
    assert "succeeded" in out.getvalue()
    assert "signals 3 new" in out.getvalue()


def test_the_runs_page_is_for_officers(client, officer, nurse, inotuzumab):
    run_execute(run_create(trigger="manual"))
    client.force_login(nurse)
    assert client.get("/surveillance/runs/").status_code == 403
    client.force_login(officer)
    html = client.get("/surveillance/runs/").content.decode()
    assert "Finished" in html and "All drugs" in html


def test_while_the_broker_is_down_reports_queue_one_run_per_drug_and_none_fails(
    inotuzumab, runs_sent, monkeypatch, django_assert_max_num_queries
):
    from surveillance import tasks
    from surveillance.tasks import runs_dispatch_due

    sent = runs_sent
    attempts = []

    def broker_down(*args, **kwargs):
        attempts.append(args)
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.detection_run_start, "apply_async", broker_down)
    for _ in range(30):
        on_report_committed(Report(drug=inotuzumab))
    [run] = DetectionRun.objects.all()
    assert run.status == RunStatus.QUEUED
    # Reports never wait on the broker; the dispatcher tries, fails, and tries again later.
    assert attempts == []
    DetectionRun.objects.filter(pk=run.pk).update(not_before=timezone.now())
    for _ in range(3):
        assert runs_dispatch_due() == 0
    assert len(attempts) == 3
    run.refresh_from_db()
    assert (run.status, run.sent_at) == (RunStatus.QUEUED, None)
    assert DetectionRun.objects.count() == 1

    # The broker is back: the next dispatch hands the run out, once.
    monkeypatch.setattr(
        tasks.detection_run_start, "apply_async", lambda args, **options: sent.append(args[0])
    )
    assert runs_dispatch_due() == 1
    assert runs_dispatch_due() == 0
    assert sent == [run.pk]


def test_an_in_process_run_on_a_busy_drug_ends_failed_not_running(inotuzumab, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DETECTION_LOCK_WAIT_SECONDS = 0.5
    with drug_lock(inotuzumab.pk, ttl_seconds=60):
        run = run_execute(run_create(trigger="command_line", drug=inotuzumab))
    assert run.status == "failed"
    assert "another run" in run.error


def test_without_a_broker_a_run_waits_for_the_drug_to_be_free(inotuzumab, nurse, settings):
    """Nothing retries a run in the web process: it waits for the run holding its drug."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DETECTION_LOCK_WAIT_SECONDS = 10
    settings.REDIS_URL = ""
    worked_scenario(inotuzumab, nurse, nurse.site)
    # Another process holds the drug's lease for one more second.
    DrugLock.objects.create(
        drug=inotuzumab, holder="other", expires_at=timezone.now() + timedelta(seconds=1)
    )
    run = run_execute(run_create(trigger="new_reports", drug=inotuzumab))
    assert run.status == "succeeded"
    assert Signal.objects.filter(term__name="Retinal haemorrhage").exists()


def test_officers_are_emailed_once_about_a_new_high_priority_signal(
    inotuzumab, nurse, officer, mailoutbox, django_capture_on_commit_callbacks
):
    officer.email = "officer@example.org"
    officer.save()
    worked_scenario(inotuzumab, nurse, nurse.site)
    with django_capture_on_commit_callbacks(execute=True):
        run_execute(run_create(trigger="manual"))
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["officer@example.org"]
    assert "Retinal haemorrhage" in message.subject
    with django_capture_on_commit_callbacks(execute=True):
        run_execute(run_create(trigger="manual"))
    assert len(mailoutbox) == 1


def test_the_sweep_catches_up_reports_whose_run_could_not_be_queued(
    inotuzumab, nurse, settings, monkeypatch
):
    from surveillance import tasks
    from surveillance.services import drugs_behind

    worked_scenario(inotuzumab, nurse, nurse.site)
    settings.DETECTION_ON_NEW_REPORTS = True

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.detection_run_start, "apply_async", broker_down)
        on_report_committed(Report.objects.order_by("pk")[0])
    assert DetectionRun.objects.get().status == "failed"
    assert drugs_behind() == [inotuzumab.pk]
    # The broker is back: the periodic sweep queues the run, and it completes.
    tasks.detection_sweep()
    latest = DetectionRun.objects.latest("created_at")
    assert latest.status == "succeeded"
    assert Signal.objects.filter(term__name="Retinal haemorrhage").exists()
    assert drugs_behind() == []


def test_a_task_delivered_again_after_its_run_closed_does_nothing(inotuzumab, nurse):
    """A worker killed before acknowledging its task: the broker delivers it again, long
    after the sweep failed the run; it must not work inside a closed run."""
    worked_scenario(inotuzumab, nurse, nurse.site)
    run = run_create(trigger="manual")
    [part] = run_start(run)
    run_fail(run.pk, "worker lost (timed out)")
    assert drug_part_execute(part.pk) == RunStatus.FAILED
    assert not Signal.objects.exists()
    part.refresh_from_db()
    assert part.started_at is None


def test_a_run_whose_message_was_lost_is_handed_out_again_and_done_once(
    inotuzumab, nurse, runs_sent
):
    from surveillance.tasks import runs_dispatch_due

    worked_scenario(inotuzumab, nurse, nurse.site)
    lost = run_create(trigger="new_reports", drug=inotuzumab)
    recent = run_create(trigger="schedule")
    later = run_create(trigger="schedule")
    now = timezone.now()
    DetectionRun.objects.filter(pk=lost.pk).update(sent_at=now - RESEND_AFTER - timedelta(1))
    DetectionRun.objects.filter(pk=recent.pk).update(sent_at=now - timedelta(minutes=1))
    DetectionRun.objects.filter(pk=later.pk).update(not_before=now + timedelta(minutes=1))
    # Sent long ago and never started (a broker that restarted empty): sent again. One sent a
    # minute ago may still be waiting for a worker; one not yet due waits.
    assert runs_dispatch_due() == 1
    assert runs_sent == [lost.pk]
    # Both messages arrive: the run is claimed by the first, the second does nothing.
    tasks_run = __import__("surveillance.tasks", fromlist=["x"])
    for _ in range(2):
        tasks_run.detection_run_start.run(lost.pk)
    [part] = DrugRun.objects.filter(run=lost)
    assert drug_part_execute(part.pk) == RunStatus.SUCCEEDED
    assert drug_part_execute(part.pk) == RunStatus.SUCCEEDED
    lost.refresh_from_db()
    assert lost.status == RunStatus.SUCCEEDED
    assert Signal.objects.get(term__name="Retinal haemorrhage").evaluations.count() == 1


def test_a_running_part_is_lost_when_its_heartbeat_stops_for_a_lease_not_before(
    inotuzumab, settings
):
    settings.DETECTION_LEASE_SECONDS = 30
    run = run_create(trigger="manual", drug=inotuzumab)
    [part] = run_start(run)
    now = timezone.now()
    # Started an hour ago, still beating: a long detection, not a dead worker.
    DrugRun.objects.filter(pk=part.pk).update(
        status=RunStatus.RUNNING,
        started_at=now - timedelta(hours=1),
        heartbeat_at=now - timedelta(seconds=20),
    )
    assert runs_sweep_stale() == 0
    DrugRun.objects.filter(pk=part.pk).update(heartbeat_at=now - timedelta(seconds=31))
    assert runs_sweep_stale() == 1
    part.refresh_from_db()
    run.refresh_from_db()
    assert part.status == run.status == RunStatus.FAILED
    assert "heartbeat" in run.error


def test_a_part_whose_drug_is_busy_waits_in_the_database_then_gives_up(
    inotuzumab, runs_sent, monkeypatch, settings
):
    from surveillance import services, tasks
    from surveillance.tasks import runs_dispatch_due

    settings.CELERY_TASK_ALWAYS_EAGER = False  # a worker: it does not wait for the drug

    parts_sent: list[int] = []
    monkeypatch.setattr(
        tasks.detect_drug, "apply_async", lambda args, **options: parts_sent.append(args[0])
    )
    run = run_create(trigger="manual", drug=inotuzumab)
    [part] = run_start(run)
    with drug_lock(inotuzumab.pk, ttl_seconds=60):
        assert tasks.detect_drug.run(part.pk) == RunStatus.QUEUED
    part.refresh_from_db()
    assert (part.status, part.attempts, part.sent_at) == (RunStatus.QUEUED, 1, None)
    assert part.not_before is not None
    assert 4 <= (part.not_before - timezone.now()).total_seconds() <= 5
    # Not handed out before its time; then once.
    assert runs_dispatch_due() == 0
    DrugRun.objects.filter(pk=part.pk).update(not_before=timezone.now())
    assert runs_dispatch_due() == 1
    assert parts_sent == [part.pk]
    DrugRun.objects.filter(pk=part.pk).update(attempts=services.BUSY_ATTEMPTS - 1)
    with drug_lock(inotuzumab.pk, ttl_seconds=60):
        assert tasks.detect_drug.run(part.pk) == RunStatus.FAILED
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "another run" in run.error


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_drug_and_its_heartbeat_for_as_long_as_it_works(
    inotuzumab, settings, monkeypatch
):
    from surveillance import services

    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.DETECTION_LEASE_SECONDS = 1
    evaluate = services.evaluate_drug
    seen: dict[str, object] = {}

    def slow_evaluate(drug):
        # Three leases long: without renewal the drug would be free and the part look dead.
        time.sleep(3)
        seen["sweep"] = runs_sweep_stale()
        try:
            with drug_lock(drug.pk, ttl_seconds=1):
                seen["second worker"] = "took the drug"
        except DrugBusy:
            seen["second worker"] = "busy"
        beat = DrugRun.objects.get(drug=drug).heartbeat_at
        assert beat is not None
        seen["heartbeat age"] = (timezone.now() - beat).total_seconds()
        return evaluate(drug)

    monkeypatch.setattr(services, "evaluate_drug", slow_evaluate)
    run = run_create(trigger="manual", drug=inotuzumab)
    [part] = run_start(run)
    assert drug_part_execute(part.pk) == RunStatus.SUCCEEDED
    assert seen["sweep"] == 0
    assert seen["second worker"] == "busy"
    assert isinstance(seen["heartbeat age"], float)
    assert seen["heartbeat age"] < 1
    # Released when done.
    with drug_lock(inotuzumab.pk, ttl_seconds=1):
        pass
