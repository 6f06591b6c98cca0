"""The review of a signal: status moves of EMA GVP Module IX, each with a comment, recorded
with who and when in the same transaction."""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record

from .choices import ALLOWED_MOVES, CLOSED_STATUSES, RecommendedAction, ReviewStatus
from .models import Signal


def either_words(words: list[str]) -> str:
    """ "A", "A or B", "A, B or C"."""
    return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def move_refused_words(current: str, asked: str) -> str:
    """Why a move is refused, with the statuses as the pages name them."""
    labels = dict(ReviewStatus.choices)
    now, to = labels.get(current, current), labels.get(asked, asked)
    allowed = [labels[s] for s in ALLOWED_MOVES.get(current, ())]
    if not allowed:
        return f"A signal that is {now} cannot move to {to}: its review is closed."
    return f"A signal that is {now} can move to {either_words(allowed)}, not to {to}."


class MoveRefused(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(errors)


def signals_mark_seen(*, officer: User, until: datetime) -> None:
    """The officer has seen every signal detected up to ``until`` (when the dashboard was
    loaded, so a signal detected while the officer read it stays new). The mark never goes
    back."""
    until = min(until, timezone.now())
    User.objects.filter(pk=officer.pk).filter(
        Q(signals_seen_at__isnull=True) | Q(signals_seen_at__lt=until)
    ).update(signals_seen_at=until)


@transaction.atomic
def signal_assign(*, actor: User, signal: Signal, assignee: User | None) -> Signal:
    """Give a signal to an officer (or to nobody), audited."""
    if assignee is not None and assignee.role != "safety_officer":
        raise MoveRefused({"assigned_to": ["Signals go to safety officers only."]})
    signal = Signal.objects.select_for_update().get(pk=signal.pk)
    before = signal.assigned_to.username if signal.assigned_to else None
    signal.assigned_to = assignee
    signal.save(update_fields=["assigned_to"])
    audit_record(
        actor=actor,
        action="signal.assign",
        target=signal,
        changes={"assigned_to": [before, assignee.username if assignee else None]},
    )
    return signal


@transaction.atomic
def signal_move(
    *, actor: User, signal: Signal, status: str, comment: str, recommended_action: str = ""
) -> Signal:
    signal = Signal.objects.select_for_update().get(pk=signal.pk)
    allowed = ALLOWED_MOVES.get(signal.status, ())
    errors: dict[str, list[str]] = {}
    if status not in allowed:
        errors["status"] = [move_refused_words(signal.status, status)]
    if not comment.strip():
        errors["comment"] = ["Every move needs a comment."]
    if status == ReviewStatus.CONFIRMED and recommended_action not in RecommendedAction.values:
        actions = either_words([label.lower() for label in RecommendedAction.labels])
        errors["recommended_action"] = [
            f"A confirmed signal needs a recommended action: {actions}."
        ]
    if errors:
        raise MoveRefused(errors)
    before = signal.status
    signal.status = status
    if status == ReviewStatus.CONFIRMED:
        signal.recommended_action = recommended_action
    if status in CLOSED_STATUSES:
        signal.closed_at = timezone.now()
        signal.cases_at_close = signal.cases
    signal.save(update_fields=["status", "recommended_action", "closed_at", "cases_at_close"])
    audit_record(
        actor=actor,
        action="signal.status",
        target=signal,
        changes={
            "status": [before, status],
            **({"recommended_action": recommended_action} if recommended_action else {}),
        },
        comment=comment.strip(),
    )
    return signal
