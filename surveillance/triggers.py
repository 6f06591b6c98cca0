"""New reports queue detection for their drug, after commit and debounced."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from reports.models import Report

from .models import DetectionRun
from .services import run_fail, run_queue_for_new_reports

logger = logging.getLogger(__name__)
_paused = threading.local()


@contextmanager
def detection_paused() -> Iterator[None]:
    """Reports filed inside the block queue no detection (a bulk load runs it once after)."""
    _paused.on = True
    try:
        yield
    finally:
        _paused.on = False


def on_report_committed(report: Report) -> None:
    """At most one queued run per drug: a burst of reports shares it. The run starts after a
    delay, so that it sees the whole burst.

    The report is already saved: nothing here may fail the request that filed it. If the
    run cannot be queued, it is marked failed (so that the next report queues another) and
    the nightly run catches up.
    """
    if not getattr(settings, "DETECTION_ON_NEW_REPORTS", True) or getattr(_paused, "on", False):
        return
    run = run_queue_for_new_reports(report.drug_id)
    if run is None:
        return
    run_dispatch(run, countdown=int(getattr(settings, "DETECTION_DEBOUNCE_SECONDS", 60)))


def run_dispatch(run: DetectionRun, countdown: int = 0) -> None:
    """Hand a run to the workers (or run it here without a broker), never raising."""
    from .tasks import detection_run_start

    try:
        detection_run_start.apply_async((run.pk,), countdown=countdown)
    except Exception as exc:
        logger.exception("detection run %s could not be started", run.pk)
        run_fail(run.pk, f"could not be started: {type(exc).__name__}: {exc}")
