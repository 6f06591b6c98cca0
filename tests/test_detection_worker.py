"""End to end: reports through the API queue one debounced run, beat hands it to a real Celery
worker on the Redis broker once it is due, and the signals appear through the API."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from reports.models import Exposure, Patient
from surveillance.models import DetectionRun

from .conftest import need_service, port_open
from .factories import reaction, report_payload

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker(tasks_in_process, settings, tmp_path):
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    broker = os.getenv("CELERY_BROKER_URL", "")
    need_service("Redis broker", bool(broker) and port_open(broker, 6379), "set CELERY_BROKER_URL")
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    app = tasks_in_process
    app.conf.task_always_eager = False
    app.conf.broker_url = broker
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_LOG_LEVEL": "WARNING",
        "DETECTION_DISPATCH_SECONDS": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            # Beat inside the worker hands out the queued run once it is due.
            "--beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.django_db(transaction=True)
def test_reports_through_the_api_trigger_one_debounced_run_that_a_worker_completes(
    worker, nurse, officer, inotuzumab, settings
):
    settings.DETECTION_ON_NEW_REPORTS = True
    settings.DETECTION_DEBOUNCE_SECONDS = 3
    patients = Patient.objects.bulk_create(
        [Patient(site=nurse.site, reference=f"E2E-{i}") for i in range(20)]
    )
    Exposure.objects.bulk_create([Exposure(patient=p, drug=inotuzumab) for p in patients])
    api = APIClient()
    api.force_authenticate(nurse)
    for i in range(3):
        response = api.post(
            "/api/v1/reports/",
            report_payload(
                reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]),
                patient=f"E2E-{i}",
            ),
            format="json",
        )
        assert response.status_code == 201
    assert DetectionRun.objects.count() == 1

    deadline = time.monotonic() + 90
    run = DetectionRun.objects.get()
    while time.monotonic() < deadline and run.status in {"queued", "running"}:
        assert worker.poll() is None, "the worker stopped"
        time.sleep(0.5)
        run.refresh_from_db()
    assert run.status == "succeeded", run.error or run.status
    assert run.trigger == "new_reports"

    officer_api = APIClient()
    officer_api.force_authenticate(officer)
    results = officer_api.get("/api/v1/signals/", {"term": "Retinal haemorrhage"}).json()["results"]
    assert [(s["kind"], s["priority"], s["cases"]) for s in results] == [("unlisted", "high", 3)]
    assert officer_api.get(f"/api/v1/signal-runs/{run.pk}/").json()["status"] == "succeeded"
