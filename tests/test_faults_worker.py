"""Faults of the broker and of the worker, against real services the tests start and stop: a
Redis server of their own on a spare port, the web app under gunicorn and Celery workers, in
subprocesses that share the test database (so PostgreSQL only).

- Redis is down while nurses file reports: every report is saved at once, the drug has one
  queued run (none failed), and it runs once Redis is back, exactly once.
- Redis stops and restarts empty while a report's run waits for its delay: the worker lives
  on, and the run happens once it is due, exactly once.
- A worker is killed in the middle of a run, with the production time limits and lease: its
  run is failed and its drug freed within about a minute, the next run (which found the
  drug busy) does the work, and no signal is duplicated or loses its review status.
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.db import connection
from django.db.models import Count
from kombu import Connection
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.authtoken.models import Token

from reports.models import Exposure, Patient, Report
from surveillance.choices import ReviewStatus, RunStatus, Trigger
from surveillance.models import DetectionRun, DrugRun, Signal
from surveillance.review import signal_move
from surveillance.services import drugs_behind, run_create, run_execute

from .cohort import Case, worked_scenario
from .conftest import need_service
from .factories import reaction, report_payload

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
# Anything a test waits for (a service starting, a run finishing) gets this long.
PATIENCE = 60.0
ACTIVE = {RunStatus.QUEUED, RunStatus.RUNNING}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Service:
    """A subprocess in a process group of its own (gunicorn's workers included), logging to a
    file that failure messages quote."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def exit_status(self) -> int | None:
        """The status once the process has exited, without reaping it: until stop() reaps it,
        no other process can be given its id, so signalling its group stays safe."""
        if self.process.returncode is not None:
            return self.process.returncode
        info = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return None if info is None else info.si_status

    def assert_running(self) -> None:
        status = self.exit_status()
        if status is not None:
            pytest.fail(f"{self.name} exited with status {status}; its log ends:\n{self.tail()}")

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group, as the kernel's OOM killer or a lost machine would."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=PATIENCE)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to what is left of the group, then reap."""
        if self.process.returncode is not None:
            return
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while self.exit_status() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=PATIENCE)


def wait_for(
    what: str,
    done: Callable[[], bool],
    *,
    watching: tuple[Service, ...] = (),
    timeout: float = PATIENCE,
    describe: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        for service in watching:
            service.assert_running()
        if time.monotonic() > deadline:
            pytest.fail(f"Waited {timeout:.0f} s for {what}, in vain. {describe()}")
        time.sleep(0.25)


class OwnRedis:
    """A throwaway Redis server on a spare port: no snapshot, no append-only file."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.server: Service | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def answers(self) -> bool:
        # One attempt: redis-py's default retries take seconds to say no.
        client = redis.Redis(
            port=self.port, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.server = Service("redis", args, dict(os.environ), self.workdir)
        wait_for("Redis to answer", self.answers, watching=(self.server,), timeout=20)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        assert not self.answers(), "Redis still answers after it was stopped"


class Stack:
    """The product's processes, configured through the environment as in production, on the
    test database and on the test's own Redis (broker on db 0, locks and cache on db 1)."""

    def __init__(self, own_redis: OwnRedis, workdir: Path) -> None:
        self.redis = own_redis
        self.workdir = workdir
        self.services: list[Service] = []
        db = connection.settings_dict
        self.database_url = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": self.redis.url(0),
            "CELERY_RESULT_BACKEND": "",
            "REDIS_URL": self.redis.url(1),
            "DJANGO_DEBUG": "true",
            "DETECTION_ON_NEW_REPORTS": "true",
            "DETECTION_DEBOUNCE_SECONDS": "1",
            "DJANGO_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        service = Service(name, args, env, self.workdir)
        self.services.append(service)
        return service

    def web(self, **env: str) -> str:
        """The web app under gunicorn; returns its address."""
        port = free_port()
        args = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        args += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"]
        web = self._start("web", args, self.env(**env))
        wait_for("the web app to answer", lambda: http_status(port) is not None, watching=(web,))
        return f"127.0.0.1:{port}"

    def worker(self, name: str = "worker", *, slow_seconds: float = 0, **env: str) -> Service:
        """A Celery worker with the solo pool, so that killing it leaves no child behind."""
        options = ["--pool=solo", "--loglevel=WARNING", "--without-heartbeat"]
        options += ["--without-gossip", "--without-mingle", f"--hostname={name}@%h"]
        if slow_seconds:
            args = [sys.executable, "-m", "tests.faults_slow_worker", *options]
            env["FAULTS_DETECTION_DELAY"] = str(slow_seconds)
        else:
            args = [sys.executable, "-m", "celery", "-A", "config", "worker", *options]
        return self._start(name, args, self.env(**env))

    def beat(self, **env: str) -> Service:
        """Celery beat with the product's schedule, as in production."""
        args = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING"]
        args += ["--schedule", str(self.workdir / "beat-schedule")]
        return self._start("beat", args, self.env(**env))

    def send(self, task: str, *args: Any) -> None:
        """Publish a task by name on the test's broker, as beat does. The connection is given
        explicitly: Celery prefers the CELERY_BROKER_URL of this process's environment to any
        app's broker_url."""
        sender = Celery("faults", set_as_current=False)
        try:
            with Connection(self.redis.url(0)) as broker:
                sender.send_task(task, args=args, producer=sender.amqp.Producer(broker))
        finally:
            sender.close()

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


def http_status(port: int) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/api/v1/")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def post_json(address: str, path: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=PATIENCE)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text
    finally:
        conn.close()


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pvtracker-faults-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def own_redis(workdir: Path) -> Iterator[OwnRedis]:
    need_service(
        "redis-server", shutil.which("redis-server") is not None, "install Redis (redis-server)"
    )
    server = OwnRedis(workdir)
    try:
        yield server
    finally:
        if server.server is not None:
            server.server.stop()


@pytest.fixture
def stack(transactional_db, own_redis: OwnRedis, workdir: Path) -> Iterator[Stack]:
    """Stopped before the test database is flushed, so that no subprocess holds it."""
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    processes = Stack(own_redis, workdir)
    try:
        yield processes
    finally:
        processes.stop()


def runs_of(drug) -> str:
    rows = DetectionRun.objects.filter(drug=drug).order_by("pk")
    return "Runs: " + "; ".join(f"{r.pk} {r.trigger} {r.status} {r.error!r}" for r in rows)


def treated_cohort(nurse, drug) -> str:
    """Twenty registered patients on the drug; returns the nurse's API token."""
    patients = Patient.objects.bulk_create(
        [Patient(site=nurse.site, reference=f"FLT-{i}") for i in range(20)]
    )
    Exposure.objects.bulk_create([Exposure(patient=p, drug=drug) for p in patients])
    token, _ = Token.objects.get_or_create(user=nurse)
    return str(token.key)


def file_report(web: str, token: str, number: int) -> None:
    """A serious unlisted reaction, filed through the API as a nurse's client would."""
    payload = report_payload(
        reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]),
        patient=f"FLT-{number}",
    )
    started = time.monotonic()
    status, body = post_json(web, "/api/v1/reports/", payload, token)
    took = time.monotonic() - started
    assert status == 201, f"report {number}: {status} {body}"
    # A broker outage must not hold the request until a proxy or gunicorn gives up on it.
    assert took < 10, f"report {number} took {took:.1f} s"


def next_run(drug, worker: Service, *, after: int) -> DetectionRun:
    """The one run for the drug created after run `after`, once it has finished."""
    later = DetectionRun.objects.filter(drug=drug, pk__gt=after)
    wait_for(
        "the next run to finish",
        lambda: later.exists() and not later.filter(status__in=ACTIVE).exists(),
        watching=(worker,),
        describe=lambda: f"{runs_of(drug)}\nWorker log:\n{worker.tail()}",
    )
    [run] = later
    assert run.status == RunStatus.SUCCEEDED, runs_of(drug)
    assert not DetectionRun.objects.filter(status__in=ACTIVE).exists(), runs_of(drug)
    return run


def assert_detected_once(drug, cases: int) -> None:
    [found] = Signal.objects.filter(drug=drug, term__name="Retinal haemorrhage")
    assert (found.kind, found.priority, found.cases) == ("unlisted", "high", cases)
    assert found.evaluations.count() == 1, "the signal was evaluated by more than one run"
    assert drugs_behind() == [], "the drug still looks behind after its run"


def test_reports_filed_while_redis_is_down_are_saved_and_detected_once_it_is_back(
    stack, own_redis, nurse, inotuzumab
):
    token = treated_cohort(nurse, inotuzumab)
    own_redis.start()
    web = stack.web()

    own_redis.stop()
    for number in range(30):
        file_report(web, token, number)
    assert Report.objects.filter(drug=inotuzumab).count() == 30
    # The reports queued one run for the drug, which waits for Redis; none failed.
    [queued] = DetectionRun.objects.filter(drug=inotuzumab)
    assert queued.status == RunStatus.QUEUED, runs_of(inotuzumab)

    own_redis.start()
    worker = stack.worker()
    stack.beat(DETECTION_DISPATCH_SECONDS="1")
    wait_for(
        "the queued run to finish",
        lambda: DetectionRun.objects.get(pk=queued.pk).status not in ACTIVE,
        watching=(worker,),
        describe=lambda: f"{runs_of(inotuzumab)}\nWorker log:\n{worker.tail()}",
    )
    assert list(DetectionRun.objects.filter(drug=inotuzumab)) == [queued], runs_of(inotuzumab)
    queued.refresh_from_db()
    assert queued.status == RunStatus.SUCCEEDED, runs_of(inotuzumab)
    assert queued.trigger == Trigger.NEW_REPORTS
    assert_detected_once(inotuzumab, cases=30)


def test_a_worker_lives_through_a_redis_restart_while_a_run_waits_and_the_run_happens_once(
    stack, own_redis, nurse, inotuzumab
):
    """With countdown messages, the worker held the run's message for its delay and died
    when Redis went away ("Unrecoverable error: AttributeError('NoneType' object has no
    attribute 'hostname')", kombu 5.7), and the message died with it."""
    token = treated_cohort(nurse, inotuzumab)
    own_redis.start()
    delay = {"DETECTION_DEBOUNCE_SECONDS": "8", "DETECTION_DISPATCH_SECONDS": "1"}
    web = stack.web(**delay)
    worker = stack.worker(**delay)
    beat = stack.beat(**delay)
    file_report(web, token, 0)
    [queued] = DetectionRun.objects.filter(drug=inotuzumab)
    assert queued.status == RunStatus.QUEUED
    time.sleep(3)  # the worker is up, and the run still waits for its delay

    # Redis without persistence comes back empty.
    own_redis.stop()
    for number in (1, 2):
        file_report(web, token, number)
    time.sleep(2)
    own_redis.start()
    assert Report.objects.filter(drug=inotuzumab).count() == 3

    wait_for(
        "the queued run to finish",
        lambda: DetectionRun.objects.get(pk=queued.pk).status not in ACTIVE,
        watching=(worker, beat),
        describe=lambda: f"{runs_of(inotuzumab)}\nWorker log:\n{worker.tail()}",
    )
    worker.assert_running()
    queued.refresh_from_db()
    assert queued.status == RunStatus.SUCCEEDED, runs_of(inotuzumab)
    assert list(DetectionRun.objects.filter(drug=inotuzumab)) == [queued], runs_of(inotuzumab)
    assert_detected_once(inotuzumab, cases=3)
    assert "Unrecoverable error" not in worker.tail(400)


def test_a_run_whose_worker_is_killed_is_failed_within_a_minute_and_the_next_run_does_its_work(
    stack, own_redis, nurse, officer, inotuzumab, settings
):
    own_redis.start()
    # This process's detection takes the same locks as the workers'.
    settings.REDIS_URL = own_redis.url(1)
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    first = run_execute(run_create(trigger=Trigger.MANUAL, drug=inotuzumab))
    assert first.status == RunStatus.SUCCEEDED, first.error
    reviewed = Signal.objects.get(drug=inotuzumab, term__name="Retinal haemorrhage")
    assert reviewed.cases == 2
    signal_move(
        actor=officer, signal=reviewed, status=ReviewStatus.UNDER_VALIDATION, comment="Checking."
    )
    signals_before = set(Signal.objects.values_list("pk", flat=True))
    cohort.report(196, Case("Retinal haemorrhage", grade=2))

    # The production time limits (900 s), lease (30 s) and dispatch interval (10 s).
    for name in ("CELERY_TASK_TIME_LIMIT", "CELERY_TASK_SOFT_TIME_LIMIT"):
        assert name not in os.environ
    slow = stack.worker("slow", slow_seconds=600)
    killed = run_create(trigger=Trigger.MANUAL, drug=inotuzumab)
    stack.send("surveillance.tasks.detection_run_start", killed.pk)
    locks = redis.Redis.from_url(own_redis.url(1))
    lock = f"pvtracker:detect:drug:{inotuzumab.pk}"
    wait_for(
        "the slow worker to take the drug's lock",
        lambda: locks.exists(lock) == 1,
        watching=(slow,),
        describe=lambda: f"{runs_of(inotuzumab)}\nWorker log:\n{slow.tail()}",
    )
    slow.kill()
    killed_at = time.monotonic()
    # The dead worker still holds the drug, for the rest of its lease only.
    assert 0 < locks.ttl(lock) <= 30
    locks.close()
    killed.refresh_from_db()
    assert killed.status == RunStatus.RUNNING, "the run was not in progress when the worker died"

    # The next run finds the drug busy and waits for it.
    worker = stack.worker()
    stack.beat()
    # From the command line: an officer's request would be shown the killed run, still on.
    following = run_create(trigger=Trigger.COMMAND_LINE, drug=inotuzumab)
    stack.send("surveillance.tasks.detection_run_start", following.pk)
    wait_for(
        "the dead worker's run to be failed and the next run to finish",
        lambda: not DetectionRun.objects.filter(status__in=ACTIVE).exists(),
        watching=(worker,),
        timeout=90,
        describe=lambda: f"{runs_of(inotuzumab)}\nWorker log:\n{worker.tail()}",
    )
    recovered_in = time.monotonic() - killed_at
    assert recovered_in < 75, f"recovered after {recovered_in:.0f} s"
    killed.refresh_from_db()
    following.refresh_from_db()
    assert killed.status == RunStatus.FAILED, runs_of(inotuzumab)
    assert "worker lost" in killed.error
    assert following.status == RunStatus.SUCCEEDED, runs_of(inotuzumab)
    assert DrugRun.objects.get(run=following).attempts >= 1, "the next run never found it busy"

    duplicated = (
        Signal.objects.values("drug", "term", "kind").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert list(duplicated) == []
    assert signals_before <= set(Signal.objects.values_list("pk", flat=True))
    reviewed.refresh_from_db()
    assert reviewed.status == ReviewStatus.UNDER_VALIDATION
    assert reviewed.cases == 3, "the next run did not count the report the killed run missed"
    assert drugs_behind() == []
