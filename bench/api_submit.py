"""Report submission through the API under load, beside a trivial authenticated endpoint.

    python bench/api_submit.py [--seconds 20] [--clients 8] [--workers 5]

Starts gunicorn on PostgreSQL (database pvtracker_bench, created if missing;
DATABASE_URL may name another), then, in one run, 8 concurrent clients
(threads with keep-alive connections) for a fixed time:
  1. GET /api/v1/me/ (authenticated, one token look-up: the trivial endpoint);
  2. POST /api/v1/reports/ with 5 reactions each, every report a new patient.
New reports queue their detection on Redis (BENCH_BROKER_URL, default db 13), as in
production; no worker runs it. Prints requests per second, p50 and p99 for each, and
the ratio.
Targets: submission throughput >= 30% of the trivial endpoint's, p99 < 150 ms.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    Load,
    account_token,
    ensure_database,
    gunicorn,
    percentiles,
    prepare,
    report_body,
    server_env,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pvtracker_bench"


def new_patient_report(n: int) -> bytes:
    return report_body(n, f"BENCH-{os.getpid()}-{n}")


def summary(
    name: str, times: list[float], ok: int, errors: int, seconds: float
) -> tuple[float, float]:
    rps = ok / seconds
    p50, p99 = percentiles(times)
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

    # As in production, new reports queue their detection on a broker (one message per drug
    # and debounce window, which no worker takes here): the submission is what is measured.
    broker = os.getenv("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
    env = server_env(os.getenv("DATABASE_URL", DEFAULT_DB), CELERY_BROKER_URL=broker)
    ensure_database(env["DATABASE_URL"])
    prepare(env)
    token = account_token(env, "bench-nurse", "nurse", "Bench Hospital")
    with gunicorn(env, args.workers) as server:
        load = Load(server.port, token, args.seconds, args.clients)
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
            *load.run("POST", "/api/v1/reports/", new_patient_report),
            args.seconds,
        )
        ratio = submit_rps / trivial_rps if trivial_rps else 0
        print(f"submission throughput: {ratio:.0%} of the trivial endpoint's (target >= 30%)")
        print(f"submission p99: {submit_p99:.1f} ms (target < 150 ms)")


if __name__ == "__main__":
    main()
