"""Report submission through the API under load, beside a trivial authenticated endpoint.

    python bench/api_submit.py [--seconds 20] [--clients 8] [--workers 5]

Starts gunicorn on PostgreSQL (database pvtracker_bench, created if missing;
DATABASE_URL may name another), then, in one run, 8 concurrent clients
(threads with keep-alive connections) for a fixed time:
  1. GET /api/v1/me/ (authenticated, one token look-up: the trivial endpoint);
  2. POST /api/v1/reports/ with 5 reactions each, every report a new patient.
New reports queue their detection on Redis (BENCH_BROKER_URL, default db 13), as in
production; no worker runs it (a run an earlier benchmark left queued is closed first,
as a worker would have taken it). Prints requests per second, p50 and p99 for each, and
the ratio.
Targets: submission throughput >= 30% of the trivial endpoint's, p99 < 150 ms.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    Load,
    Server,
    account_token,
    cpu_seconds,
    ensure_database,
    gunicorn,
    manage,
    percentiles,
    prepare,
    report_body,
    server_env,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pvtracker_bench"
LEFTOVER_RUNS_CLOSED = (
    "from surveillance.models import DetectionRun; "
    "DetectionRun.objects.filter(status='queued').update("
    "status='failed', error='left queued by an earlier benchmark run')"
)


def new_patient_report(n: int) -> bytes:
    return report_body(n, f"BENCH-{os.getpid()}-{n}")


def summary(
    name: str, times: list[float], ok: int, errors: int, seconds: float
) -> tuple[float, float]:
    rps = ok / seconds
    p50, p99 = percentiles(times)
    print(f"{name:<34} {rps:8.1f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}")
    return rps, p99


def measured(
    server: Server, load: Load, method: str, path: str, body_for: Any, name: str, seconds: float
) -> tuple[float, float, dict[str, float]]:
    """Requests per second, p99 and the CPU milliseconds each request cost, where spent."""
    before = cpu_seconds(server.process.pid)
    times, ok, errors = load.run(method, path, body_for)
    after = cpu_seconds(server.process.pid)
    rps, p99 = summary(name, times, ok, errors, seconds)
    answered = max(len(times), 1)
    cpu = {part: (after[part] - before[part]) * 1000 / answered for part in before}
    print(
        f"{'':<34} CPU per request: gunicorn {cpu['server']:.2f} ms, PostgreSQL "
        f"{cpu['postgres']:.2f} ms, clients {cpu['clients']:.2f} ms"
    )
    return rps, p99, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    # As in production, new reports queue their detection on a broker (one message per drug
    # and debounce window, which no worker takes here): the submission is what is measured.
    broker = os.getenv("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
    env = server_env(os.getenv("DATABASE_URL", DEFAULT_DB), CELERY_BROKER_URL=broker)
    ensure_database(env["DATABASE_URL"])
    prepare(env)
    manage(env, "shell", "-c", LEFTOVER_RUNS_CLOSED)
    token = account_token(env, "bench-nurse", "nurse", "Bench Hospital")
    with gunicorn(env, args.workers) as server:
        load = Load(server.port, token, args.seconds, args.clients)
        load.run("GET", "/api/v1/me/", None)  # warm-up
        print(
            f"gunicorn {args.workers} workers on PostgreSQL; {args.clients} clients; "
            f"{args.seconds:.0f} s each"
        )
        trivial_rps, _, trivial_cpu = measured(
            server, load, "GET", "/api/v1/me/", None, "GET /api/v1/me/ (trivial)", args.seconds
        )
        submit_rps, submit_p99, submit_cpu = measured(
            server,
            load,
            "POST",
            "/api/v1/reports/",
            new_patient_report,
            "POST /api/v1/reports/ (5 reactions)",
            args.seconds,
        )
        ratio = submit_rps / trivial_rps if trivial_rps else 0
        print(f"submission throughput: {ratio:.0%} of the trivial endpoint's (target >= 30%)")
        print(f"submission p99: {submit_p99:.1f} ms (target < 150 ms)")
        # Clients, server and database share the machine's cores: the throughput ratio
        # follows the ratio of the CPU the two kinds of request cost in all.
        total = {
            name: sum(cpu.values())
            for name, cpu in (("trivial", trivial_cpu), ("submission", submit_cpu))
        }
        print(
            f"CPU per request in all: trivial {total['trivial']:.2f} ms, submission "
            f"{total['submission']:.2f} ms ({total['trivial'] / total['submission']:.0%}); "
            f"{os.cpu_count()} cores"
        )


if __name__ == "__main__":
    main()
