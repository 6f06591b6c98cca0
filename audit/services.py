from typing import Any

from django.db import models

from .models import AuditEntry


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    changes: dict[str, Any] | None = None,
    comment: str = "",
    label: str = "",
) -> AuditEntry:
    """Write one audit row; call it inside the transaction that makes the change."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.model_name or "",
        target_id=target.pk,
        target_label=label or str(target),
        changes=changes or {},
        comment=comment,
    )


def audit_history(target: models.Model) -> models.QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(
        target_type=target._meta.model_name, target_id=target.pk
    ).select_related("actor")
