"""A Celery worker whose detection is slow, for the fault tests: each drug's evaluation waits
FAULTS_DETECTION_DELAY seconds before it starts, so that a test can kill the worker while a
run is in progress. The product's code is not changed; only this process's copy is wrapped.

    python -m tests.faults_slow_worker --pool=solo --loglevel=WARNING
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
    from surveillance import services

    delay = float(os.getenv("FAULTS_DETECTION_DELAY", "120"))
    evaluate = services.evaluate_drug

    def slow_evaluate_drug(drug):
        time.sleep(delay)
        return evaluate(drug)

    with mock.patch.object(services, "evaluate_drug", slow_evaluate_drug):
        app.worker_main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
