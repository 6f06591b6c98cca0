"""Celery tasks, and the handing of runs and parts to them: everything that talks to the
broker is here. Tasks are thin: ids in, services do the work.

Nothing here sends a message with a countdown or an ETA: a worker holding such a message
when Redis restarts exits ("Unrecoverable error: AttributeError(\"'NoneType' object has no
attribute 'hostname'\")", kombu 5.7) and the message is lost with it. Runs and parts that
must wait carry their not-before time in the database, and detection_dispatch hands them
out when they are due.
"""

import logging
from typing import Any

from celery import Task, shared_task
from django.db import OperationalError
from django.utils import timezone

from .choices import Trigger
from .locks import DrugBusy
from .models import DetectionRun, DrugRun
from .services import (
    drug_part_execute,
    drugs_behind,
    part_retry_later,
    run_create,
    run_fail,
    run_finish_if_done,
    run_queue_for_new_reports,
    run_start,
    runs_claim_due,
    runs_sweep_stale,
    sent_undo,
)

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def detection_run_start(run_id: int) -> None:
    """Fan-out: one detect_drug task per drug of the run, so several workers share it."""
    runs_sweep_stale()
    run = DetectionRun.objects.get(pk=run_id)
    for part in run_start(run):
        part_dispatch(part.pk)
    run_finish_if_done(run.pk)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def detect_drug(self: "Task[[int], str]", part_id: int) -> str:
    try:
        return drug_part_execute(part_id)
    except (DrugBusy, OperationalError) as exc:
        reason = (
            "another run was working on this drug"
            if isinstance(exc, DrugBusy)
            else f"{type(exc).__name__}: {exc}"
        )
        # In-process (no broker) nothing hands the part out again: it fails now.
        return part_retry_later(part_id, reason, later=not self.request.is_eager)


@shared_task(acks_late=True, ignore_result=True)
def detection_scheduled() -> None:
    """The nightly run over every drug."""
    run_dispatch(run_create(trigger=Trigger.SCHEDULE))


@shared_task(ignore_result=True)
def detection_dispatch() -> int:
    """Every few seconds (beat): fail what dead workers left behind, then hand out the runs
    and parts that are due."""
    runs_sweep_stale()
    return runs_dispatch_due()


@shared_task(ignore_result=True)
def detection_sweep() -> int:
    """Catch up the drugs whose new reports queued no run (detection on new reports was off,
    or their run failed)."""
    swept = runs_sweep_stale()
    for drug_id in drugs_behind():
        run_queue_for_new_reports(drug_id)
    runs_dispatch_due()
    return swept


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
    DetectionRun.objects.filter(pk=run.pk).update(sent_at=timezone.now())
    if _send(detection_run_start, DetectionRun, run.pk):
        return True
    if detection_run_start.app.conf.task_always_eager:
        # Nothing dispatches later without a broker; a queued run would block the drug's next.
        run_fail(run.pk, "the run failed to start; see the log")
    return False


def part_dispatch(part_id: int) -> bool:
    return _send(detect_drug, DrugRun, part_id)


def runs_dispatch_due() -> int:
    """Hand out the runs and parts that are due; returns how many were sent. Stops at the
    first that the broker refuses: the rest wait for the next dispatch. Called by beat
    (detection_dispatch); without a broker, by the web process's timer for a run that new
    reports queued (triggers.dispatch_when_due), which runs it there."""
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
