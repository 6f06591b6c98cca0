"""New reports queue detection for their drug, after commit and debounced."""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from reports.models import Report

from .models import DetectionRun
from .services import debounce_seconds, run_fail, run_queue_for_new_reports

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


# Drug id -> the time (epoch seconds) until which this process knows a run queued by new
# reports has not started, so later reports need not look for it.
_queued_until: dict[int, float] = {}

# How far the clocks of the web processes and the workers may disagree.
CLOCK_MARGIN_SECONDS = 10.0


def on_report_committed(report: Report) -> None:
    """At most one queued run per drug: a burst of reports shares it. The run starts after a
    delay, so that it sees the whole burst.

    A run queued by new reports starts no sooner than the delay after it was queued: until
    shortly before then (by the clock margin, or half the delay if that is less), this
    process files further reports of the drug without looking for it. Without a broker
    the run is done at once, and every report looks.

    The report is already saved: nothing here may fail the request that filed it. If the
    run cannot be queued, it is marked failed (so that the next report queues another) and
    the nightly run catches up.
    """
    if not getattr(settings, "DETECTION_ON_NEW_REPORTS", True) or getattr(_paused, "on", False):
        return
    from .tasks import detection_run_start

    drug_id, eager = report.drug_id, detection_run_start.app.conf.task_always_eager
    if not eager and _queued_until.get(drug_id, 0.0) > time.time():
        return
    delay = debounce_seconds()
    run, queued_at = run_queue_for_new_reports(drug_id)
    if run is not None and not run_dispatch(run, countdown=delay):
        return
    if not eager:
        margin = min(delay / 2, CLOCK_MARGIN_SECONDS)
        _queued_until[drug_id] = queued_at.timestamp() + delay - margin


def run_dispatch(run: DetectionRun, countdown: int = 0) -> bool:
    """Hand a run to the workers (or run it here without a broker), never raising; False
    when it could not be started (the run is then failed)."""
    from .tasks import detection_run_start

    try:
        detection_run_start.apply_async((run.pk,), countdown=countdown)
    except Exception as exc:
        logger.exception("detection run %s could not be started", run.pk)
        run_fail(run.pk, f"could not be started: {type(exc).__name__}: {exc}")
        return False
    return True
