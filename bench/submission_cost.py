"""What one report submission costs in CPU and queries, measured in-process.

    python bench/submission_cost.py [--requests 500] [--repeat-patients]

On PostgreSQL (DATABASE_URL, default database pvtracker_bench_cost, created and migrated
if missing), a token client posts N reports of 5 reactions each through the whole
Django stack (middleware, authentication, serializer, services), every report a new
patient unless --repeat-patients (then every report names one of 20 patients). New
reports queue their detection on Redis (BENCH_BROKER_URL, default db 13), as in
production; nothing takes it.

Prints the median and mean CPU time per request of this process (time.process_time,
so other work on the machine does not count), the CPU the PostgreSQL backend serving it
spent (from /proc), and the queries per request. Compare two versions of the code by
running it on each in turn, several times (A B A B), and comparing the medians.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    account_token,
    ensure_database,
    manage,
    prepare,
    report_body,
    server_env,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pvtracker_bench_cost"
WARM_UP = 20


def backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--repeat-patients", action="store_true")
    args = parser.parse_args()

    broker = os.getenv("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
    env = server_env(
        os.getenv("DATABASE_URL", DEFAULT_DB),
        CELERY_BROKER_URL=broker,
        DJANGO_ALLOWED_HOSTS="testserver",
    )
    ensure_database(env["DATABASE_URL"])
    if not os.getenv("BENCH_SKIP_MIGRATE"):
        prepare(env)
    token = account_token(env, "bench-cost-nurse", "nurse", "Bench Hospital")
    manage(
        env,
        "shell",
        "-c",
        "from surveillance.models import DetectionRun; "
        "DetectionRun.objects.filter(status='queued').update("
        "status='failed', error='left queued by an earlier benchmark run')",
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    run = f"{os.getpid()}-{int(time.time())}"

    def post(n: int) -> None:
        patient = f"COST-{n % 20}" if args.repeat_patients else f"COST-{run}-{n}"
        answer = client.post(
            "/api/v1/reports/", report_body(n, patient), content_type="application/json"
        )
        assert answer.status_code == 201, (answer.status_code, answer.content[:500])

    for n in range(WARM_UP):
        post(n)
    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu: list[float] = []
    pg_before = backend_cpu_seconds(backend)
    with connection.execute_wrapper(count):
        for n in range(WARM_UP, WARM_UP + args.requests):
            started = time.process_time()
            post(n)
            cpu.append((time.process_time() - started) * 1000)
    pg = (backend_cpu_seconds(backend) - pg_before) * 1000 / args.requests
    print(
        f"{args.requests} submissions: web CPU median {statistics.median(cpu):.2f} ms, "
        f"mean {statistics.fmean(cpu):.2f} ms; PostgreSQL backend CPU {pg:.2f} ms; "
        f"queries {queries / args.requests:.1f} per request"
    )


if __name__ == "__main__":
    main()
