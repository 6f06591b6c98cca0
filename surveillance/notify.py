"""Email the safety officers about a new high-priority signal: once per signal, never once per
run."""

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User

from .choices import Priority
from .models import Signal

logger = logging.getLogger(__name__)


def signals_notify_pending(drug_id: int) -> int:
    """Claim and announce the drug's high-priority signals nobody was told about yet."""
    now = timezone.now()
    with transaction.atomic():
        # Rows another worker is claiming are skipped; one update claims the rest, so two
        # workers never send the same email.
        signals = list(
            Signal.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(drug_id=drug_id, priority=Priority.HIGH, met=True, notified_at=None)
            .select_related("drug", "term")
            .order_by("pk")
        )
        if not signals:
            return 0
        Signal.objects.filter(pk__in=[s.pk for s in signals], notified_at=None).update(
            notified_at=now
        )
    recipients = list(
        User.objects.filter(role=Role.SAFETY_OFFICER, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if signals and recipients:
        lines = [
            f"- {s.drug.name}: {s.term.name} ({s.get_kind_display()}). {s.summary}" for s in signals
        ]
        subject = (
            f"New high-priority signal: {signals[0].term.name} ({signals[0].drug.name})"
            if len(signals) == 1
            else f"{len(signals)} new high-priority signals"
        )
        transaction.on_commit(lambda: _send(subject, "\n".join(lines), recipients))
    return len(signals)


def _send(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(subject, body + "\n\nReview them on the signal dashboard.", None, recipients)
    except Exception:
        logger.exception("could not email the officers about new signals")
