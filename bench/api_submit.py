"""Report submission through the API under load, beside a trivial authenticated endpoint.

    python bench/api_submit.py [--seconds 20] [--clients 8] [--workers 5]

Starts gunicorn on PostgreSQL (database pvtracker_bench, created if missing;
DATABASE_URL may name another), then, in one run, 8 concurrent clients
(threads with keep-alive connections) for a fixed time:
  1. GET /api/v1/me/ (authenticated, one token look-up: the trivial endpoint);
  2. POST /api/v1/reports/ with 5 reactions each, every report a new patient.
Prints requests per second, p50 and p99 for each, and the ratio.
Targets: submission throughput >= 30% of the trivial endpoint's, p99 < 150 ms.
"""

import argparse
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pvtracker_bench"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=False
    )


def report_body(n: int) -> bytes:
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
        "patient": {
            "reference": f"BENCH-{os.getpid()}-{n}",
            "age": rng.randint(18, 90),
            "sex": "female",
        },
        "drug": "inotuzumab-ozogamicin",
        "therapy_start": "2026-10-01",
        "reactions": reactions,
    }
    return json.dumps(body).encode()


class Load:
    def __init__(self, port: int, token: str, seconds: float, clients: int) -> None:
        self.port, self.token, self.seconds, self.clients = port, token, seconds, clients
        self.counter = 0
        self.lock = threading.Lock()

    def next_n(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def run(self, method: str, path: str, body_for: object) -> tuple[list[float], int, int]:
        times: list[float] = []
        errors = 0
        ok = 0
        stop_at = time.perf_counter() + self.seconds
        results_lock = threading.Lock()

        def client() -> None:
            nonlocal errors, ok
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
            local: list[float] = []
            local_ok = local_err = 0
            while time.perf_counter() < stop_at:
                body = body_for(self.next_n()) if callable(body_for) else None
                t0 = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    status = 0
                local.append((time.perf_counter() - t0) * 1000)
                if 200 <= status < 300:
                    local_ok += 1
                else:
                    local_err += 1
            conn.close()
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


def summary(
    name: str, times: list[float], ok: int, errors: int, seconds: float
) -> tuple[float, float]:
    times = sorted(times)
    rps = ok / seconds
    p50 = statistics.median(times) if times else float("nan")
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else float("nan")
    print(f"{name:<34} {rps:8.1f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}")
    return rps, p99


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    url = os.getenv("DATABASE_URL", DEFAULT_DB)
    if not url.startswith("postgres"):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    ensure_database(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "",
    }
    manage(env, "migrate", "--no-input")
    manage(env, "collectstatic", "--no-input")
    token = (
        manage(env, "create_account", "bench-nurse", "--role", "nurse", "--site", "Bench Hospital")
        .strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        load = Load(port, token, args.seconds, args.clients)
        load.run("GET", "/api/v1/me/", None)  # warm-up
        print(
            f"gunicorn {args.workers} workers on PostgreSQL; {args.clients} clients; "
            f"{args.seconds:.0f} s each"
        )
        trivial_rps, _ = summary(
            "GET /api/v1/me/ (trivial)", *load.run("GET", "/api/v1/me/", None), args.seconds
        )
        submit_rps, submit_p99 = summary(
            "POST /api/v1/reports/ (5 reactions)",
            *load.run("POST", "/api/v1/reports/", report_body),
            args.seconds,
        )
        ratio = submit_rps / trivial_rps if trivial_rps else 0
        print(f"submission throughput: {ratio:.0%} of the trivial endpoint's (target >= 30%)")
        print(f"submission p99: {submit_p99:.1f} ms (target < 150 ms)")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
