from datetime import datetime

from django.db.models import Prefetch, QuerySet

from reference.models import GroupMembership
from reports.models import Reaction

from .choices import RunStatus
from .models import DetectionRun, DrugRun, Signal, SignalEvaluation


def signal_list() -> QuerySet[Signal]:
    return Signal.objects.select_related("drug", "term", "assigned_to")


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


def drug_last_detected_at(drug_id: int) -> datetime | None:
    """When detection last finished for a drug."""
    return (
        DrugRun.objects.filter(drug_id=drug_id, status=RunStatus.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )


def run_list() -> QuerySet[DetectionRun]:
    return DetectionRun.objects.select_related("drug", "requested_by")


def signal_dashboard(filters: dict[str, str]) -> QuerySet[Signal]:
    """Signals for the dashboard: open ones unless a status is asked for, high priority first,
    then the strongest evidence (an unlisted reaction has no expected rate: it comes first)."""
    from django.db.models import Case, F, IntegerField, Value, When

    from .choices import CLOSED_STATUSES, PRIORITY_ORDER
    from .filters import SignalFilter

    signals = signal_list()
    if not filters.get("status"):
        signals = signals.exclude(status__in=CLOSED_STATUSES)
    signals = SignalFilter(filters, queryset=signals).qs
    rank = Case(
        *[When(priority=p, then=Value(n)) for p, n in PRIORITY_ORDER.items()],
        output_field=IntegerField(),
    )
    return signals.annotate(priority_rank=rank).order_by(
        "priority_rank", "-met", F("p_value").asc(nulls_first=True), "-cases", "id"
    )
