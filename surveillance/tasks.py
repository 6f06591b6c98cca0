"""Celery tasks: thin, ids in, services do the work."""

from celery import shared_task
from django.db import OperationalError

from .locks import DrugBusy
from .models import DetectionRun
from .services import drug_part_execute, run_finish_if_done, run_start, runs_sweep_stale


@shared_task(acks_late=True, ignore_result=True)
def detection_run_start(run_id: int) -> None:
    """Fan-out: one detect_drug task per drug of the run, so several workers share it."""
    runs_sweep_stale()
    run = DetectionRun.objects.get(pk=run_id)
    for part in run_start(run):
        detect_drug.delay(part.pk)
    run_finish_if_done(run.pk)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(DrugBusy, OperationalError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def detect_drug(part_id: int) -> str:
    return drug_part_execute(part_id)


@shared_task(acks_late=True, ignore_result=True)
def detection_scheduled() -> None:
    """The nightly run over every drug."""
    from .choices import Trigger
    from .services import run_create

    run = run_create(trigger=Trigger.SCHEDULE)
    detection_run_start.delay(run.pk)


@shared_task(ignore_result=True)
def detection_sweep() -> int:
    """Fail what dead workers left behind, then catch up the drugs whose new reports could
    not queue their run (for instance while the broker was down)."""
    from .services import debounce_seconds, drugs_behind, run_queue_for_new_reports
    from .triggers import run_dispatch

    swept = runs_sweep_stale()
    for drug_id in drugs_behind():
        run, _ = run_queue_for_new_reports(drug_id)
        if run is not None:
            run_dispatch(run, countdown=debounce_seconds())
    return swept
