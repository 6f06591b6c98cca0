from django.db.models import Prefetch, QuerySet

from reference.models import GroupMembership
from reports.models import Reaction

from .models import DetectionRun, Signal, SignalEvaluation


def signal_list() -> QuerySet[Signal]:
    return Signal.objects.select_related("drug", "term")


def signal_detail() -> QuerySet[Signal]:
    return signal_list().prefetch_related(
        Prefetch("evaluations", queryset=SignalEvaluation.objects.order_by("evaluated_at", "id"))
    )


def signal_cases(signal: Signal) -> QuerySet[Reaction]:
    """The reactions behind a signal: its term, or any member of its group, in counted reports."""
    terms = [signal.term_id]
    if signal.term.is_group:
        terms += list(
            GroupMembership.objects.filter(group_id=signal.term_id).values_list(
                "member_id", flat=True
            )
        )
    return (
        Reaction.objects.filter(
            term_id__in=terms, report__drug_id=signal.drug_id, report__is_void=False
        )
        .exclude(report__duplicate_status="confirmed")
        .select_related("report__patient", "term")
        .order_by("report__received_at", "id")
    )


def run_list() -> QuerySet[DetectionRun]:
    return DetectionRun.objects.select_related("drug", "requested_by")
