"""Reads of reports: what each account may see, already joined for display."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User, is_officer
from audit.models import AuditEntry
from audit.services import audit_history
from reference.selectors import term_code

from .choices import DrugRole
from .models import Exposure, Reaction, Report, ReportDrug, ReportVersion, SuspectReaction
from .services.reports import report_version_content


def reports_visible(user: User) -> QuerySet[Report]:
    """Nurses see their own site's reports; officers and administrators see all."""
    reports = Report.objects.select_related(
        "site", "reporter", "patient", "drug", "label", "duplicate_of"
    ).prefetch_related(
        Prefetch(
            "reactions",
            queryset=Reaction.objects.select_related("term", "listed_by__term").order_by("id"),
        ),
        Prefetch(
            "reactions__per_drug",
            queryset=SuspectReaction.objects.select_related("drug", "listed_by__term").order_by(
                "id"
            ),
        ),
        Prefetch("other_drugs", queryset=ReportDrug.objects.select_related("drug")),
    )
    if is_officer(user):
        return reports
    site_id = getattr(user, "site_id", None)
    if site_id is None:
        return reports.none()
    return reports.filter(site_id=site_id)


def reports_matching(reports: QuerySet[Report], q: str) -> QuerySet[Report]:
    """The reports whose case number, patient reference or reaction (as written, or any name
    of its term) holds the text: the report list's search box."""
    return reports.filter(
        Q(reference__icontains=q)
        | Q(patient__reference__icontains=q)
        | Q(reactions__verbatim__icontains=q)
        | Q(reactions__term__in=term_code(q))
    ).distinct()


def report_versions(report: Report) -> QuerySet[ReportVersion]:
    return report.versions.select_related("created_by")


def report_content_now(report: Report) -> dict[str, Any]:
    """The report as it reads now, in the shape of a saved version's content, to compare with
    its latest version. The report comes from reports_visible, its reactions prefetched."""
    return report_version_content(report, list(report.reactions.all()))


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


def report_last_sent(report: Report) -> AuditEntry | None:
    """The report's last export as an ICSR (the e2b app audits each one), or None."""
    return audit_history(report).filter(action="report.e2b_export").first()


def exposures_by_id(ids: Iterable[int]) -> dict[int, Exposure]:
    """Exposures just registered, joined for display, by id."""
    exposures = Exposure.objects.select_related("patient__site", "drug").filter(pk__in=list(ids))
    return {e.pk: e for e in exposures}


def report_suspect_drug_ids(report: Report) -> list[int]:
    """The formulary suspect drugs of a case, the first suspect first (the case's other
    drugs read once, or from what the report already holds)."""
    if report.pk is None:
        return [report.drug_id]
    others = report.other_drugs.all()
    return [report.drug_id] + [
        d.drug_id for d in others if d.role == DrugRole.SUSPECT and d.drug_id is not None
    ]
