"""Reads of the exchange: which reports were sent, and when."""

from collections.abc import Iterable

from audit.models import AuditEntry

EXPORT_ACTION = "report.e2b_export"


def reports_sent(report_ids: Iterable[int]) -> set[int]:
    """The reports of these ids that have left as an ICSR at least once."""
    return set(
        AuditEntry.objects.filter(
            action=EXPORT_ACTION, target_type="report", target_id__in=list(report_ids)
        ).values_list("target_id", flat=True)
    )
