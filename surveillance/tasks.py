"""Celery tasks: thin, ids in, services do the work.

Nothing here sends a message with a countdown or an ETA: a worker holding such a message
when Redis restarts exits ("Unrecoverable error: AttributeError(\"'NoneType' object has no
attribute 'hostname'\")", kombu 5.7) and the message is lost with it. Runs and parts that
must wait carry their not-before time in the database, and detection_dispatch hands them
out when they are due.
"""

from celery import Task, shared_task
from django.db import OperationalError

from .locks import DrugBusy
from .models import DetectionRun
from .services import (
    drug_part_execute,
    part_retry_later,
    run_finish_if_done,
    run_start,
    runs_sweep_stale,
)


@shared_task(acks_late=True, ignore_result=True)
def detection_run_start(run_id: int) -> None:
    """Fan-out: one detect_drug task per drug of the run, so several workers share it."""
    from .triggers import part_dispatch

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
    from .choices import Trigger
    from .services import run_create
    from .triggers import run_dispatch

    run_dispatch(run_create(trigger=Trigger.SCHEDULE))


@shared_task(ignore_result=True)
def detection_dispatch() -> int:
    """Every few seconds (beat): fail what dead workers left behind, then hand out the runs
    and parts that are due."""
    from .triggers import runs_dispatch_due

    runs_sweep_stale()
    return runs_dispatch_due()


@shared_task(ignore_result=True)
def detection_sweep() -> int:
    """Catch up the drugs whose new reports queued no run (detection on new reports was off,
    or their run failed)."""
    from .services import drugs_behind, run_queue_for_new_reports
    from .triggers import runs_dispatch_due

    swept = runs_sweep_stale()
    for drug_id in drugs_behind():
        run_queue_for_new_reports(drug_id)
    runs_dispatch_due()
    return swept
