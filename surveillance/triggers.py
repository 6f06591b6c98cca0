"""New reports queue detection for their drug, after commit and debounced; queued runs and
parts are handed to the workers when they are due."""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task
from django.conf import settings
from django.utils import timezone

from reports.models import Report

from .models import DetectionRun, DrugRun
from .services import (
    debounce_seconds,
    run_fail,
    run_queue_for_new_reports,
    runs_claim_due,
    sent_undo,
)

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
    from .tasks import detection_run_start

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


def _send(task: "Task[Any, Any]", model: type[DetectionRun] | type[DrugRun], pk: int) -> bool:
    try:
        task.apply_async((pk,))
    except Exception:
        logger.exception("%s %s could not be handed to the workers", model.__name__, pk)
        sent_undo(model, pk)
        return False
    return True


def run_dispatch(run: DetectionRun) -> bool:
    """Hand a run to the workers now (or run it here without a broker), never raising. When
    the broker cannot take it, the run stays queued and detection_dispatch sends it later."""
    from .tasks import detection_run_start

    DetectionRun.objects.filter(pk=run.pk).update(sent_at=timezone.now())
    if _send(detection_run_start, DetectionRun, run.pk):
        return True
    if detection_run_start.app.conf.task_always_eager:
        # Nothing dispatches later without a broker; a queued run would block the drug's next.
        run_fail(run.pk, "the run failed to start; see the log")
    return False


def part_dispatch(part_id: int) -> bool:
    from .tasks import detect_drug

    return _send(detect_drug, DrugRun, part_id)


def runs_dispatch_due() -> int:
    """Hand out the runs and parts that are due; returns how many were sent. Stops at the
    first that the broker refuses: the rest wait for the next dispatch."""
    from .tasks import detect_drug, detection_run_start

    run_ids, part_ids = runs_claim_due()
    due: list[tuple[Task[Any, Any], type[DetectionRun] | type[DrugRun], int]] = [
        *((detection_run_start, DetectionRun, pk) for pk in run_ids),
        *((detect_drug, DrugRun, pk) for pk in part_ids),
    ]
    for position, (task, model, pk) in enumerate(due):
        if not _send(task, model, pk):
            for _, later_model, later in due[position + 1 :]:
                sent_undo(later_model, later)
            return position
    return len(due)
