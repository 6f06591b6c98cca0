"""New reports queue detection for their drug, after commit and debounced (the dispatcher in
tasks hands the queued runs to the workers when they are due)."""

import threading
import time
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


# Drug id -> the time (epoch seconds) until which this process knows a run queued by new
# reports has not started, so later reports need not look for it.
_queued_until: dict[int, float] = {}

# How far the clocks of the web processes and the workers may disagree.
CLOCK_MARGIN_SECONDS = 10.0


def on_report_committed(report: Report, **_signal: object) -> None:
    """The receiver of reports.signals.report_committed. At most one queued run per drug: a
    burst of reports shares it. The run starts after a delay, so that it sees the whole burst.

    Queuing writes the run in the database and sends nothing to the broker: a broker that is
    down neither slows nor fails the report, and the run waits for it (detection_dispatch
    hands it out once it is due and the broker answers). A run queued by new reports starts
    no sooner than its delay: until shortly before then (by the clock margin, or half the
    delay if that is less), this process files further reports of the drug without looking
    for it. Without a broker the run is done at once, and every report looks.

    The report is already saved: nothing here may fail the request that filed it.
    """
    if not getattr(settings, "DETECTION_ON_NEW_REPORTS", True) or getattr(_paused, "on", False):
        return
    drug_id = report.drug_id
    if detection_run_start.app.conf.task_always_eager:
        run, _ = run_queue_for_new_reports(drug_id)
        if run is not None:
            run_dispatch(run)
        return
    if _queued_until.get(drug_id, 0.0) > time.time():
        return
    delay = debounce_seconds()
    _, starts_at = run_queue_for_new_reports(drug_id, delay_seconds=delay)
    margin = min(delay / 2, CLOCK_MARGIN_SECONDS)
    _queued_until[drug_id] = starts_at.timestamp() - margin
