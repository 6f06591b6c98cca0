"""New reports queue detection for their drug, after commit and debounced."""

from django.conf import settings

from reports.models import Report

from .services import run_queue_for_new_reports


def on_report_committed(report: Report) -> None:
    """At most one queued run per drug: a burst of reports shares it. The run starts after a
    delay, so that it sees the whole burst."""
    if not getattr(settings, "DETECTION_ON_NEW_REPORTS", True):
        return
    run = run_queue_for_new_reports(report.drug_id)
    if run is None:
        return
    from .tasks import detection_run_start

    detection_run_start.apply_async(
        (run.pk,), countdown=int(getattr(settings, "DETECTION_DEBOUNCE_SECONDS", 60))
    )
