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
    QUEUED_MESSAGE_LOST,
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
    """Reports queue detection on a broker; the runs handed to it, with their delay."""
    from surveillance import tasks

    settings.DETECTION_ON_NEW_REPORTS = True
    settings.DETECTION_DEBOUNCE_SECONDS = 60
    tasks_in_process.conf.task_always_eager = False
    sent: list[tuple[tuple[int], int]] = []

    def fake_apply_async(args, countdown):
        sent.append((args, countdown))

    monkeypatch.setattr(tasks.detection_run_start, "apply_async", fake_apply_async)
    return sent


def test_a_burst_of_reports_queues_at_most_one_run_per_drug(
    inotuzumab, runs_sent, django_assert_num_queries
):
    report = Report(drug=inotuzumab)
    on_report_committed(report)
    # The run cannot start before its delay: until shortly before, nothing is looked up.
    with django_assert_num_queries(0):
        for _ in range(500):
            on_report_committed(report)
    assert DetectionRun.objects.filter(trigger="new_reports", status="queued").count() == 1
    assert len(runs_sent) == 1
    assert runs_sent[0][1] == 60


def test_a_report_near_the_end_of_the_delay_looks_again_and_queues_a_run_if_the_last_started(
    inotuzumab, runs_sent, monkeypatch
):
    import surveillance.triggers

    report = Report(drug=inotuzumab)
    on_report_committed(report)
    first = DetectionRun.objects.get()
    DetectionRun.objects.filter(pk=first.pk).update(status=RunStatus.RUNNING)
    now = time.time()
    monkeypatch.setattr(surveillance.triggers.time, "time", lambda: now + 45)
    on_report_committed(report)
    assert len(runs_sent) == 1
    # Within the clock margin of the delay's end, the run may have started.
    monkeypatch.setattr(surveillance.triggers.time, "time", lambda: now + 51)
    on_report_committed(report)
    assert DetectionRun.objects.filter(status="queued").exclude(pk=first.pk).count() == 1
    assert len(runs_sent) == 2


def test_a_run_another_process_queued_is_relied_on_until_shortly_before_its_delay_ends(
    inotuzumab, runs_sent, django_assert_num_queries
):
    report = Report(drug=inotuzumab)
    old = run_create(trigger="new_reports", drug=inotuzumab)
    DetectionRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(seconds=51))
    # Queued 51 s ago with a 60 s delay: it may start any moment, so each report looks.
    for _ in range(2):
        with django_assert_num_queries(1):
            on_report_committed(report)
    DetectionRun.objects.filter(pk=old.pk).update(created_at=timezone.now())
    on_report_committed(report)
    with django_assert_num_queries(0):
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
        tasks.detection_run_start, "apply_async", lambda args, countdown: started.append(args)
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
    assert "Succeeded" in html and "All drugs" in html


def test_a_run_that_cannot_be_queued_never_fails_the_report(inotuzumab, settings, monkeypatch):
    from surveillance import tasks

    settings.DETECTION_ON_NEW_REPORTS = True

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.detection_run_start, "apply_async", broker_down)
    on_report_committed(Report(drug=inotuzumab))
    run = DetectionRun.objects.get()
    assert run.status == "failed"
    assert "could not be started" in run.error
    # The failed run does not block the next one.
    on_report_committed(Report(drug=inotuzumab))
    assert DetectionRun.objects.count() == 2


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


def test_a_new_reports_run_whose_message_was_lost_is_failed_soon(inotuzumab, settings):
    settings.DETECTION_DEBOUNCE_SECONDS = 60
    lost = run_create(trigger="new_reports", drug=inotuzumab)
    waiting = run_create(trigger="manual")
    long_ago = timezone.now() - timedelta(seconds=60) - QUEUED_MESSAGE_LOST - timedelta(minutes=1)
    DetectionRun.objects.filter(pk__in=[lost.pk, waiting.pk]).update(created_at=long_ago)
    fresh = DetectionRun.objects.create(trigger="new_reports", drug=None)
    assert runs_sweep_stale() == 1
    lost.refresh_from_db()
    assert lost.status == RunStatus.FAILED
    # Other runs queued as long wait for the usual stale limit (a long queue is not a loss);
    # a run queued by new reports a moment ago waits for its debounce delay.
    assert DetectionRun.objects.get(pk=waiting.pk).status == RunStatus.QUEUED
    assert DetectionRun.objects.get(pk=fresh.pk).status == RunStatus.QUEUED
