"""The officers' signal dashboard with 5,000 signals: render time and queries per page.

    python bench/dashboard.py [--signals 5000] [--requests 200]

Runs on the configured database (DATABASE_URL; SQLite by default, PostgreSQL if set),
migrates, creates the signals once (synthetic, spread over drugs, terms and kinds), then
renders the dashboard through Django's test client as a safety officer: the first page,
filtered pages and later pages. Prints the median, p95 and max time and the queries of a
page. Target: median under 300 ms, a constant number of queries.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.services import account_create_or_update  # noqa: E402
from surveillance.models import Signal  # noqa: E402
from tests.signals_bulk import make_signals  # noqa: E402

PAGES = [
    {},
    {"priority": "high"},
    {"kind": "unlisted"},
    {"status": "under_validation"},
    {"met": "true", "page": "5"},
    {"page": "20"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    existing = Signal.objects.count()
    if existing < args.signals:
        Signal.objects.all().delete()
        make_signals(args.signals)
    officer, _, _ = account_create_or_update(username="bench-officer", role="safety_officer")
    client = Client()
    client.force_login(officer)
    client.get("/surveillance/signals/")  # warm-up
    times = []
    queries = set()
    for i in range(args.requests):
        params = PAGES[i % len(PAGES)]
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            response = client.get("/surveillance/signals/", params)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
        queries.add(len(captured))
    times.sort()
    median = statistics.median(times)
    print(f"database: {connection.vendor}; signals: {Signal.objects.count():,}")
    print(
        f"dashboard page: median {median:.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms, "
        f"max {times[-1]:.1f} ms over {len(times)} requests"
    )
    print(f"queries per page: {sorted(queries)}")
    print("target: median under 300 ms:", "met" if median < 300 else "NOT met")


if __name__ == "__main__":
    main()
