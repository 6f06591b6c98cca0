"""Reads of reports: what each account may see, already joined for display."""

from django.db.models import Prefetch, QuerySet

from accounts.models import User, is_officer
from audit.models import AuditEntry
from audit.services import audit_history

from .models import Exposure, Reaction, Report


def reports_visible(user: User) -> QuerySet[Report]:
    """Nurses see their own site's reports; officers and administrators see all."""
    reports = Report.objects.select_related(
        "site", "reporter", "patient", "drug", "label", "duplicate_of"
    ).prefetch_related(
        Prefetch(
            "reactions",
            queryset=Reaction.objects.select_related("term", "listed_by__term").order_by("id"),
        )
    )
    if is_officer(user):
        return reports
    site_id = getattr(user, "site_id", None)
    if site_id is None:
        return reports.none()
    return reports.filter(site_id=site_id)


def exposures_visible(user: User) -> QuerySet[Exposure]:
    exposures = Exposure.objects.select_related("patient__site", "drug", "registered_by")
    if is_officer(user):
        return exposures
    site_id = getattr(user, "site_id", None)
    if site_id is None:
        return exposures.none()
    return exposures.filter(patient__site_id=site_id)


def report_history(report: Report) -> QuerySet[AuditEntry]:
    return audit_history(report)
