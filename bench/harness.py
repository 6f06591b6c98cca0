"""What the API benchmarks share: a PostgreSQL database made ready, accounts and their
tokens, gunicorn and other child processes (stopped whatever happens), keep-alive HTTP
clients, report bodies and latency percentiles.

The benchmarks run as scripts (`python bench/NAME.py`) and import this module as
`bench.harness`, with the checkout on sys.path.
"""

import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TERMS = [
    "Nausea",
    "nosebleeds",
    "Thrombocytopenia",
    "Headache",
    "Retinal haemorrhage",
    "Fatigue",
    "pneumonia",
    "coughing up blood",
    "Pyrexia",
    "Diarrhoea",
]
SEED_DRUG = "inotuzumab-ozogamicin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the database if missing; with fresh, drop it first."""
    name = database_name(url)
    server = ["-h", "127.0.0.1", "-U", "postgres"]
    if fresh:
        subprocess.run(["dropdb", *server, "--if-exists", name], capture_output=True, check=True)
    subprocess.run(["createdb", *server, name], capture_output=True, check=False)


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    """The product's environment in production mode on this database; settings add to it
    (without a CELERY_BROKER_URL, tasks run in-process)."""
    if not database_url.startswith("postgres"):
        sys.exit("This benchmark runs on PostgreSQL: give it a postgres:// URL.")
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "",
        **settings,
    }


def prepare(env: dict[str, str]) -> None:
    """Migrate (which loads the shipped terminology and labels) and collect static files."""
    manage(env, "migrate", "--no-input")
    manage(env, "collectstatic", "--no-input")


def account_token(env: dict[str, str], username: str, role: str, site: str = "") -> str:
    args = ["create_account", username, "--role", role]
    if site:
        args += ["--site", site]
    return manage(env, *args).strip().splitlines()[-1]


def exit_on_sigterm() -> None:
    """A SIGTERM ends the benchmark like Ctrl-C does: cleanup code runs."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def stop_process(process: "subprocess.Popen[bytes]", grace: float = 30) -> None:
    """Stop a child started in its own session: SIGTERM to it, so that it stops its own
    processes in order (gunicorn's workers, Celery's pool), then SIGKILL to whatever of
    its session is left."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def child(
    args: list[str], env: dict[str, str], log: IO[bytes] | None = None
) -> Iterator["subprocess.Popen[bytes]"]:
    """A child process in its own session (so that Ctrl-C reaches only the benchmark, which
    stops it in order), stopped on leaving the block, whatever happened."""
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
    )
    try:
        yield process
    finally:
        stop_process(process)


def wait_for_port(port: int, process: "subprocess.Popen[bytes]", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


@dataclass
class Server:
    port: int
    process: "subprocess.Popen[bytes]"


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log: IO[bytes] | None = None) -> Iterator[Server]:
    """gunicorn serving the product on a free port, until the block ends."""
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "config.wsgi:application"]
    args += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"]
    with child(args, env, log) as process:
        wait_for_port(port, process)
        yield Server(port, process)


def _proc_stat(pid: str) -> tuple[str, int, float] | None:
    """A process's command name, parent and CPU seconds (user and system), from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> dict[str, float]:
    """CPU seconds used so far by a process and its descendants ("server"), by every
    PostgreSQL process of the machine ("postgres") and by this process ("clients").

    Linux only (/proc). Read before and after a load to see where its CPU went.
    """
    stats = {pid: _proc_stat(pid) for pid in os.listdir("/proc") if pid.isdigit()}
    found = {int(pid): stat for pid, stat in stats.items() if stat is not None}
    tree, grew = {root}, True
    while grew:
        before = len(tree)
        tree |= {pid for pid, (_, parent, _) in found.items() if parent in tree}
        grew = len(tree) > before
    own = os.times()
    return {
        "server": sum(found[pid][2] for pid in tree if pid in found),
        "postgres": sum(cpu for name, _, cpu in found.values() if name == "postgres"),
        "clients": own.user + own.system,
    }


def report_body(n: int, patient: str) -> bytes:
    """A report with 5 reactions (the same for the same n) for the patient reference."""
    rng = random.Random(n)
    reactions = [
        {
            "term": term,
            "onset_date": f"2026-10-{rng.randint(2, 28):02d}",
            "grade": rng.randint(1, 3),
            "seriousness": ["hospitalization"] if rng.random() < 0.2 else [],
            "outcome": "recovering",
        }
        for term in rng.sample(TERMS, 5)
    ]
    body = {
        "patient": {"reference": patient, "age": rng.randint(18, 90), "sex": "female"},
        "drug": SEED_DRUG,
        "therapy_start": "2026-10-01",
        "reactions": reactions,
    }
    return json.dumps(body).encode()


def percentiles(times: list[float]) -> tuple[float, float]:
    """p50 and p99 of the times; NaN for none."""
    if not times:
        return float("nan"), float("nan")
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class Answer:
    """One answer: status 0 when none came (the connection failed or timed out)."""

    status: int
    ms: float
    body: bytes = b""
    replayed: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """A keep-alive connection with a token, reopened after a failure.

    send() and receive() are separate, so that one thread can keep requests in flight on
    two clients at once; the latency runs from the send to the end of the receive.
    """

    def __init__(self, port: int, token: str, timeout: float = 30) -> None:
        self.port, self.timeout = port, timeout
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.sent_at = 0.0
        self.failed = False

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.sent_at = time.perf_counter()
        self.failed = False
        try:
            self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        except (OSError, http.client.HTTPException):
            self.failed = True

    def receive(self) -> Answer:
        status, body, replayed = 0, b"", False
        if not self.failed:
            try:
                response = self.conn.getresponse()
                body = response.read()
                status = response.status
                replayed = response.getheader("Idempotent-Replayed") == "true"
            except (OSError, http.client.HTTPException):
                pass
        if status == 0:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return Answer(status, (time.perf_counter() - self.sent_at) * 1000, body, replayed)

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        self.send(method, path, body, headers)
        return self.receive()

    def close(self) -> None:
        self.conn.close()


class Load:
    """Clients repeating one request for a fixed time, each on its keep-alive connection."""

    def __init__(self, port: int, token: str, seconds: float, clients: int) -> None:
        self.port, self.token, self.seconds, self.clients = port, token, seconds, clients
        self.counter = 0
        self.lock = threading.Lock()

    def next_n(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def run(
        self, method: str, path: str, body_for: Callable[[int], bytes] | None
    ) -> tuple[list[float], int, int]:
        times: list[float] = []
        errors = 0
        ok = 0
        stop_at = time.perf_counter() + self.seconds
        results_lock = threading.Lock()

        def client() -> None:
            nonlocal errors, ok
            connection = Client(self.port, self.token)
            local: list[float] = []
            local_ok = local_err = 0
            while time.perf_counter() < stop_at:
                body = body_for(self.next_n()) if body_for else None
                answer = connection.call(method, path, body)
                local.append(answer.ms)
                if 200 <= answer.status < 300:
                    local_ok += 1
                else:
                    local_err += 1
            connection.close()
            with results_lock:
                times.extend(local)
                ok += local_ok
                errors += local_err

        threads = [threading.Thread(target=client) for _ in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return times, ok, errors
