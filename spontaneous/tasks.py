"""Celery tasks of spontaneous sources: the FAERS import an officer started from the page.
Thin: the run's id in, the service does the work."""

import logging

from celery import shared_task
from django.conf import settings

from .import_runs import import_run_claim, import_run_execute, import_run_fail
from .models import ImportRun

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.FAERS_IMPORT_TIME_LIMIT - 30,
    time_limit=settings.FAERS_IMPORT_TIME_LIMIT,
)
def faers_import_run(run_id: int) -> None:
    """Import a queued run's quarters; a run another worker took, or one already ended, is
    left alone (a message delivered twice imports nothing twice)."""
    if import_run_claim(run_id):
        import_run_execute(run_id)


def import_run_dispatch(run: ImportRun) -> bool:
    """Hand the run to the workers (or, without a broker, import it here and now), never
    raising: a run the broker cannot take is failed at once, its files deleted."""
    try:
        faers_import_run.apply_async((run.pk,))
    except Exception:
        logger.exception("FAERS import run %s could not be handed to the workers", run.pk)
        import_run_fail(run.pk, "the import could not be handed to the workers; try again")
        return False
    return True
