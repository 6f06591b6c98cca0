"""A Celery worker whose FAERS imports pause inside a quarter's transaction, for the worker
test: when the import reaches FAERS_PAUSE_STEP it reports it, then waits FAERS_PAUSE_SECONDS,
so that the test can read the progress while nothing of the quarter is committed. The
product's code is not changed; only this process's copy is wrapped.

    python -m tests.faers_slow_worker --pool=solo --loglevel=WARNING
"""

import os
import sys
import time
from unittest import mock


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    from config.celery import app
    from spontaneous import import_runs

    step_to_pause = os.getenv("FAERS_PAUSE_STEP", "linking")
    seconds = float(os.getenv("FAERS_PAUSE_SECONDS", "3"))
    report = import_runs._ProgressToCache.__call__

    def pausing(self, step, done, total):
        report(self, step, done, total)
        if step == step_to_pause:
            time.sleep(seconds)

    with mock.patch.object(import_runs._ProgressToCache, "__call__", pausing):
        app.worker_main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
