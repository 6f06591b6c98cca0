"""New reports queue detection for their drug, after commit and debounced (the dispatcher in
tasks hands the queued runs to the workers when they are due)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from reports.models import Report

from .services import debounce_seconds, run_queue_for_new_reports
from .tasks import detection_run_start, run_dispatch

_paused = threading.local()


@contextmanager
def detection_paused() -> Iterator[None]:
    """Reports filed inside the block queue no detection (a bulk load runs it once after)."""
    _paused.on = True
    try:
        yield
    finally:
        _paused.on = False


def on_report_committed(report: Report, **_signal: object) -> None:
    """The receiver of reports.signals.report_committed. At most one queued run per drug: a
    burst of reports shares it. The run starts after a delay, so that it sees the whole burst.

    Queuing writes the run in the database and sends nothing to the broker: a broker that is
    down neither slows nor fails the report, and the run waits for it (detection_dispatch
    hands it out once it is due and the broker answers). Each report looks for its drug's
    queued run with one indexed query. Without a broker the run is done at once.

    The report is already saved: nothing here may fail the request that filed it.
    """
    if not getattr(settings, "DETECTION_ON_NEW_REPORTS", True) or getattr(_paused, "on", False):
        return
    if detection_run_start.app.conf.task_always_eager:
        run = run_queue_for_new_reports(report.drug_id)
        if run is not None:
            run_dispatch(run)
        return
    run_queue_for_new_reports(report.drug_id, delay_seconds=debounce_seconds())
