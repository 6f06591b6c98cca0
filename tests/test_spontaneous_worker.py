"""End to end on PostgreSQL: an officer uploads a FAERS quarter on the page, a real Celery
worker imports it from the shared upload folder, the page reads its progress (through the
cache) while the quarter's transaction is still open, then its result."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from spontaneous.models import CaseReport, DisproportionalityBaseline, ImportRun, ReportImport

from .conftest import DATA, need_service, port_open

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = DATA / "faers" / "faers_ascii_2017q2.zip"


@pytest.fixture
def worker(tasks_in_process, settings, tmp_path, redis_url):
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    broker = os.getenv("CELERY_BROKER_URL", "")
    need_service("Redis broker", bool(broker) and port_open(broker, 6379), "set CELERY_BROKER_URL")
    need_service("Redis cache", "redis" in settings.CACHES["default"]["BACKEND"], "set REDIS_URL")
    uploads = tmp_path / "uploads"
    settings.SPONTANEOUS_UPLOAD_DIR = uploads
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
        "SPONTANEOUS_UPLOAD_DIR": str(uploads),
        "FAERS_PAUSE_STEP": "linking",
        "FAERS_PAUSE_SECONDS": "4",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faers_slow_worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
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
def test_a_worker_imports_an_uploaded_quarter_and_the_page_follows_it(worker, officer, settings):
    web = Client()
    web.force_login(officer)
    with SAMPLE.open("rb") as quarter:
        response = web.post("/spontaneous/", {"quarters": [quarter], "roles": ["PS", "SS"]})
    assert response.status_code == 302
    run = ImportRun.objects.get()
    page = web.get(response["Location"]).content.decode()
    assert "The import of faers_ascii_2017q2.zip was started" in page
    assert f'data-progress-url="/spontaneous/runs/{run.pk}/progress/"' in page
    uploaded = Path(settings.SPONTANEOUS_UPLOAD_DIR) / run.folder / "faers_ascii_2017q2.zip"
    assert uploaded.read_bytes() == SAMPLE.read_bytes()  # kept for the worker

    url = f"/spontaneous/runs/{run.pk}/progress/"
    seen: list[dict] = []
    committed_while_linking: set[int] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker stopped"
        answer = web.get(url).json()
        seen.append(answer)
        if answer["step"] == "linking":
            # The quarter's transaction is open in the worker: nothing of it is visible yet.
            committed_while_linking.add(CaseReport.objects.count())
        if not answer["active"]:
            break
        time.sleep(0.3)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.error == ""
    assert committed_while_linking == {0}, "the page saw the import's progress from outside"
    running = [a for a in seen if a["status"] == "running" and a["step"] == "linking"]
    assert running and running[0]["progress"].startswith("linking: ")
    assert running[0]["state"] == "Running"

    final = seen[-1]
    assert final["status"] == "succeeded" and final["active"] is False
    assert final["results"] == [
        "2017Q2 (faers_ascii_2017q2.zip): read 100, kept 100, superseded 0, deleted 0"
    ]
    batch = ReportImport.objects.get()
    assert list(run.imports.all()) == [batch] and batch.imported_by == officer
    assert CaseReport.objects.count() == 100
    assert DisproportionalityBaseline.objects.filter(revision=batch.pk).count() == 2
    assert not uploaded.exists() and run.files_deleted_at is not None
    page = web.get("/spontaneous/").content.decode()
    assert "1 of 1 file imported" in page and "Uploaded files deleted." in page


@pytest.mark.django_db(transaction=True)
def test_while_an_import_holds_the_tables_the_page_and_its_progress_still_answer(officer):
    """A quarter at real size is written with the spontaneous tables locked (PostgreSQL):
    the page says so within seconds, and the import's progress is still read."""
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    import psycopg

    run = ImportRun.objects.create(
        files=["faers_ascii_2017q2.zip"], folder="faers/x", status="running", started_at=None
    )
    db = connection.settings_dict
    web = Client()
    web.force_login(officer)
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
    ) as importer:
        importer.execute(
            "LOCK TABLE spontaneous_source, spontaneous_reportimport, spontaneous_product, "
            "spontaneous_event, spontaneous_casereport IN ACCESS EXCLUSIVE MODE"
        )
        started = time.monotonic()
        response = web.get("/spontaneous/")
        assert time.monotonic() - started < 10
        assert response.status_code == 200
        text = response.content.decode()
        assert "A FAERS import is writing to the sources' tables" in text
        assert f'id="run-{run.pk}"' in text
        answer = web.get(f"/spontaneous/runs/{run.pk}/progress/").json()
        assert answer["status"] == "running"
    text = web.get("/spontaneous/").content.decode()
    assert "A FAERS import is writing" not in text and "No source yet" in text
