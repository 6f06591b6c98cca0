"""The database unreachable, for real, and concurrent retries with one Idempotency-Key.

The application runs in gunicorn (several processes, several threads each, DEBUG off, the
production connection settings: persistent connections with health checks) and is called
over HTTP. Its database traffic goes through a proxy (tests/faults_proxy.py) that the tests
cut, turn into a black hole, or cut in the middle of a submission's transaction.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from audit.models import AuditEntry
from reports.models import Exposure, IdempotencyRecord, Patient, Reaction, Report, ReportVersion

from .conftest import need_service, port_open
from .factories import reaction, report_payload
from .faults_proxy import FaultProxy

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
REPORTS = "/api/v1/reports/"
# The server's DATABASE_CONNECT_TIMEOUT (libpq's minimum is 2 seconds).
CONNECT_TIMEOUT = 2
# Generous: a 503 arrives within a second or two; a hang is what this bounds.
PROMPT = CONNECT_TIMEOUT + 8
UNAVAILABLE = "database is unavailable"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def connect(self, timeout: float = 30) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.connect()
        return conn

    def send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        *,
        token: str,
        body: Any = None,
        key: str | None = None,
    ) -> Answer:
        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        started = time.monotonic()
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        return Answer(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=json.loads(raw) if raw else None,
            seconds=time.monotonic() - started,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        return self.send(self.connect(), method, path, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(port: int | None = None) -> str:
    """The test database, as the server process is to reach it."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{port or db['PORT'] or 5432}/{db['NAME']}"
    )


@contextmanager
def gunicorn(url: str, log: Path, *, workers: int, threads: int, **extra: str) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_CONN_MAX_AGE": "60",
        "DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "fault-tests-" + "k" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DETECTION_ON_NEW_REPORTS": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("CELERY_BROKER_URL", None)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--worker-class=gthread",
        "--preload",
        "--timeout=60",
        "--graceful-timeout=5",
        "--log-level=warning",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + 30
        while not port_open(f"http://127.0.0.1:{port}", port):
            assert process.poll() is None, f"gunicorn stopped:\n{server.output()}"
            assert time.monotonic() < deadline, f"gunicorn did not start:\n{server.output()}"
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def postgres(transactional_db: None) -> None:
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")


@pytest.fixture
def proxy(postgres: None) -> Iterator[FaultProxy]:
    db = connection.settings_dict
    faults = FaultProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)).start()
    yield faults
    faults.stop()


@pytest.fixture
def app_via_proxy(proxy: FaultProxy, tmp_path: Path) -> Iterator[Server]:
    with gunicorn(database_url(proxy.port), tmp_path / "gunicorn.log", workers=2, threads=4) as s:
        yield s


@pytest.fixture
def app_direct(postgres: None, tmp_path: Path) -> Iterator[Server]:
    with gunicorn(database_url(), tmp_path / "gunicorn.log", workers=3, threads=4) as s:
        yield s


@pytest.fixture
def token(nurse: Any) -> str:
    return str(Token.objects.get(user=nurse).key)


def counts() -> dict[str, int]:
    """Every row a submission writes."""
    return {
        "reports": Report.objects.count(),
        "reactions": Reaction.objects.count(),
        "patients": Patient.objects.count(),
        "exposures": Exposure.objects.count(),
        "idempotency records": IdempotencyRecord.objects.count(),
        "versions": ReportVersion.objects.count(),
        "audit entries": AuditEntry.objects.filter(action="report.create").count(),
    }


ONE_REPORT = {
    "reports": 1,
    "reactions": 2,
    "patients": 1,
    "exposures": 1,
    "idempotency records": 1,
    "versions": 1,
    "audit entries": 1,
}


def added(before: dict[str, int]) -> dict[str, int]:
    after = counts()
    return {name: after[name] - before[name] for name in before}


def body() -> dict[str, Any]:
    payload: dict[str, Any] = report_payload(
        reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]),
        reaction("Nausea"),
        patient="PT-FAULT-1",
    )
    return payload


def assert_unavailable(answer: Answer, server: Server) -> None:
    assert answer.status == 503, (answer.status, answer.body, server.output())
    assert answer.headers["content-type"] == "application/json"
    assert UNAVAILABLE in answer.body["detail"]
    assert "nothing was saved" in answer.body["detail"]
    assert answer.headers["retry-after"] == "30"
    assert answer.seconds < PROMPT


def assert_accepted_once(server: Server, token: str, key: str, before: dict[str, int]) -> None:
    """The retry is accepted as a new report, a further retry replays it, and the database
    holds that one report, whole."""
    first = server.call("POST", REPORTS, token=token, body=body(), key=key)
    assert first.status == 201, (first.body, server.output())
    assert "idempotent-replayed" not in first.headers
    assert [r["term"] for r in first.body["reactions"]] == ["Retinal haemorrhage", "Nausea"]
    again = server.call("POST", REPORTS, token=token, body=body(), key=key)
    assert again.status == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.body["id"] == first.body["id"]
    assert again.body["reference"] == first.body["reference"]
    assert added(before) == ONE_REPORT


def test_with_the_database_down_a_submission_is_a_clear_503_and_its_retry_is_accepted_once(
    app_via_proxy, proxy, token, inotuzumab
):
    server = app_via_proxy
    # The workers hold open connections, which the cut breaks under them.
    assert server.call("GET", REPORTS, token=token).status == 200
    before = counts()

    proxy.cut()
    posted = server.call("POST", REPORTS, token=token, body=body(), key="retry-after-outage")
    assert_unavailable(posted, server)
    assert_unavailable(server.call("GET", REPORTS, token=token), server)
    assert_unavailable(
        server.call("GET", f"{REPORTS}?drug=inotuzumab-ozogamicin", token=token), server
    )
    assert added(before) == dict.fromkeys(before, 0)

    proxy.restore()
    assert_accepted_once(server, token, "retry-after-outage", before)


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout(
    app_via_proxy, proxy, token, inotuzumab
):
    server = app_via_proxy
    assert server.call("GET", REPORTS, token=token).status == 200
    before = counts()

    proxy.blackhole()
    posted = server.call("POST", REPORTS, token=token, body=body(), key="retry-after-silence")
    assert_unavailable(posted, server)
    # The wait was the connect timeout's, not a quick refusal.
    assert posted.seconds >= CONNECT_TIMEOUT * 0.9
    assert added(before) == dict.fromkeys(before, 0)

    proxy.restore()
    assert_accepted_once(server, token, "retry-after-silence", before)


def test_a_connection_lost_in_the_middle_of_a_submission_leaves_no_partial_report(
    app_via_proxy, proxy, token, inotuzumab
):
    server = app_via_proxy
    assert server.call("GET", REPORTS, token=token).status == 200
    before = counts()

    # By the time the reactions are written, the transaction holds the patient, the
    # exposure, the case number, the report and the idempotency record.
    proxy.cut_on(b'INSERT INTO "reports_reaction"')
    posted = server.call("POST", REPORTS, token=token, body=body(), key="retry-after-cut")
    assert proxy.tripped.is_set(), "the submission never reached its reactions"
    assert_unavailable(posted, server)
    assert added(before) == dict.fromkeys(before, 0)

    proxy.restore()
    assert_accepted_once(server, token, "retry-after-cut", before)


# The server's DATABASE_STATEMENT_TIMEOUT in the test below, in seconds.
STATEMENT_TIMEOUT = 2


@contextmanager
def reports_table_locked() -> Iterator[None]:
    """Another session holds the reports table: every statement that touches it waits, as on
    a database that hangs (a stuck migration, a lock left by a batch job, a stalled disk)."""
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 5432),
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    ) as holder:
        holder.execute("LOCK TABLE reports_report IN ACCESS EXCLUSIVE MODE")
        yield
        holder.rollback()


def test_a_database_that_hangs_on_an_open_connection_is_a_503_within_the_statement_timeout(
    postgres, tmp_path, token, inotuzumab
):
    with gunicorn(
        database_url(),
        tmp_path / "gunicorn.log",
        workers=1,
        threads=2,
        DATABASE_STATEMENT_TIMEOUT=str(STATEMENT_TIMEOUT),
    ) as server:
        # The worker's connection is open (persistent) before the database hangs.
        assert server.call("GET", REPORTS, token=token).status == 200
        before = counts()
        with reports_table_locked():
            posted = server.call("POST", REPORTS, token=token, body=body(), key="after-hang")
            listed = server.call("GET", REPORTS, token=token)
        for answer in (posted, listed):
            assert_unavailable(answer, server)
            assert answer.seconds >= STATEMENT_TIMEOUT * 0.9
        assert added(before) == dict.fromkeys(before, 0)
        assert_accepted_once(server, token, "after-hang", before)


def test_connections_carry_the_statement_timeout_and_tcp_keepalives(postgres):
    connection.ensure_connection()
    pg = connection.connection
    assert pg is not None
    parameters = pg.info.get_parameters()
    assert parameters["keepalives"] == "1"
    assert int(parameters["tcp_user_timeout"]) > 0
    expected_ms = int(float(os.getenv("DATABASE_STATEMENT_TIMEOUT", "15")) * 1000)
    assert expected_ms > 0
    assert statement_timeout_ms() == expected_ms


def test_detection_has_its_own_longer_statement_timeout(postgres):
    from core.db import statement_timeout

    before = statement_timeout_ms()
    with statement_timeout(600):
        assert statement_timeout_ms() == 600_000
    assert statement_timeout_ms() == before


def statement_timeout_ms() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


CONCURRENT = 12


def test_concurrent_submissions_with_one_idempotency_key_make_exactly_one_report(
    app_direct, token, inotuzumab
):
    """Several processes and threads race on one key: the unique index on the key decides;
    the losers roll back and answer the winner's report, marked as replayed."""
    server = app_direct
    assert server.call("GET", REPORTS, token=token).status == 200
    before = counts()
    barrier = threading.Barrier(CONCURRENT)
    answers: list[Answer] = []
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            conn = server.connect()
            barrier.wait(timeout=30)
            answers.append(
                server.send(conn, "POST", REPORTS, token=token, body=body(), key="one-key")
            )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sorted(a.status for a in answers) == [201] * CONCURRENT, server.output()
    originals = [a for a in answers if "idempotent-replayed" not in a.headers]
    assert len(originals) == 1
    assert all(
        a.headers.get("idempotent-replayed") == "true" for a in answers if a not in originals
    )
    assert {a.body["id"] for a in answers} == {originals[0].body["id"]}
    assert {a.body["reference"] for a in answers} == {originals[0].body["reference"]}
    assert added(before) == ONE_REPORT
