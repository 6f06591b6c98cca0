"""A report's life: filing it, following it up, voiding it and deciding whether it is a duplicate.

Each change is one transaction that saves a numbered version of the report where its content
changed, writes an audit row, and after commit tells the apps that listen (detection).
"""

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from reference.models import Label

from ..choices import DuplicateStatus, Outcome, Source
from ..inputs import FollowUpInput, ReportInput
from ..models import IdempotencyRecord, Reaction, Report, ReportVersion
from ..signals import report_committed
from ..validation import (
    Errors,
    ReportInvalid,
    check_dates,
    check_narrative,
    check_report,
    code_reactions,
)
from .exposures import exposure_ensure, patient_get_or_create
from .idempotency import body_hash, next_case_number, report_for_key
from .reactions import (
    expedite_if_needed,
    flag_duplicates,
    label_listing,
    reaction_name,
    reactions_build,
)


def report_submit(
    *,
    reporter: User,
    data: ReportInput,
    source: str = Source.WEB,
    idempotency: tuple[str, Any] | None = None,
) -> tuple[Report, bool]:
    """File a report; returns it and whether it is new.

    With an idempotency (key, body), a retry returns the first report. Two
    concurrent retries wait on the key's unique index: the loser sees the
    winner's report.
    """
    if idempotency is not None:
        existing = report_for_key(user=reporter, key=idempotency[0], body=idempotency[1])
        if existing is not None:
            return existing, False
    try:
        return _report_create(reporter=reporter, data=data, source=source, idempotency=idempotency)
    except IntegrityError:
        if idempotency is None:
            raise
        existing = report_for_key(user=reporter, key=idempotency[0], body=idempotency[1])
        if existing is None:
            raise
        return existing, False


@transaction.atomic
def _report_create(
    *, reporter: User, data: ReportInput, source: str, idempotency: tuple[str, Any] | None
) -> tuple[Report, bool]:
    # One instant: the case number's year, the due date and "not in the future" all read
    # the date it is at the hospital (TIME_ZONE) when the report is received.
    received_at = timezone.now()
    received = timezone.localdate(received_at)
    checked = check_report(data=data, reporter=reporter, today=received)
    assert data.patient is not None
    patient, new_patient = patient_get_or_create(
        site=checked.site,
        reference=data.patient.reference.strip(),
        age=data.patient.age,
        sex=data.patient.sex,
        weight_kg=data.patient.weight_kg,
    )
    exposure_ensure(
        patient=patient,
        drug=checked.drug,
        actor=reporter,
        source=source,
        start_date=data.therapy_start,
        end_date=data.therapy_end,
        dose=data.dose,
        route=data.route,
        lot_number=data.lot_number,
    )
    listing = label_listing(getattr(checked.drug, "current_label_id", None), fresh_index=True)
    label = listing.label
    report = Report(
        site=checked.site,
        reporter=reporter,
        reporter_qualification=checked.qualification,
        received_at=received_at,
        source=source,
        patient=patient,
        drug=checked.drug,
        therapy_start=data.therapy_start,
        therapy_end=data.therapy_end,
        dose=data.dose,
        route=data.route,
        lot_number=data.lot_number,
        narrative=data.narrative,
        label=label,
        warnings=checked.warnings,
    )
    reactions = reactions_build(report, data.reactions, checked.codings, listing, 1)
    expedite_if_needed(report, reactions, received)
    if not new_patient:  # a patient first seen now has no other report
        flag_duplicates(report, reactions)
    report.reference = next_case_number(received.year)
    report.save(force_insert=True)
    if idempotency is not None:
        IdempotencyRecord.objects.create(
            user=reporter, key=idempotency[0], body_hash=body_hash(idempotency[1]), report=report
        )
    for reaction in reactions:
        reaction.report = report
    reactions = Reaction.objects.bulk_create(reactions)
    report._prefetched_objects_cache = {"reactions": reactions}  # type: ignore[attr-defined]
    version_save(report, reporter, "Initial report", reactions)
    audit_record(
        actor=reporter,
        action="report.create",
        target=report,
        changes={
            "source": source,
            "reactions": [reaction_audit(r) for r in reactions],
            "expedited_due": str(report.expedited_due) if report.expedited else None,
            "warnings": checked.warnings,
        },
    )
    notify_on_commit(report)
    return report, True


def report_version_content(report: Report, reactions: Sequence[Reaction]) -> dict[str, Any]:
    """What a saved version holds: the report and its reactions as they read now."""
    return {
        "reference": report.reference,
        "version": report.version,
        "patient": report.patient.reference,
        "drug": report.drug.name,
        "therapy_start": str(report.therapy_start) if report.therapy_start else None,
        "therapy_end": str(report.therapy_end) if report.therapy_end else None,
        "narrative": report.narrative,
        "expedited_due": str(report.expedited_due) if report.expedited_due else None,
        "is_void": report.is_void,
        "void_reason": report.void_reason,
        "reactions": [
            {
                "id": r.pk,
                "term": r.term.name if r.term is not None else None,
                "coding": r.coding,
                "verbatim": r.verbatim,
                "onset_date": str(r.onset_date) if r.onset_date else None,
                "end_date": str(r.end_date) if r.end_date else None,
                "grade": r.grade,
                "seriousness": r.seriousness,
                "outcome": r.outcome,
                "causality": r.causality,
                "listedness": r.listedness,
            }
            for r in reactions
        ],
    }


def reaction_audit(reaction: Reaction) -> dict[str, Any]:
    """A reaction in an audit row: its term (None while pending), how it was coded, listedness."""
    return {
        "term": reaction.term.name if reaction.term is not None else None,
        "verbatim": reaction.verbatim,
        "coding": reaction.coding,
        "listedness": reaction.listedness,
    }


def version_save(report: Report, actor: User, summary: str, reactions: Sequence[Reaction]) -> None:
    ReportVersion.objects.create(
        report=report,
        number=report.version,
        created_by=actor,
        content=report_version_content(report, reactions),
        summary=summary,
    )


def notify_on_commit(report: Report) -> None:
    transaction.on_commit(lambda: report_committed.send(sender=Report, report=report))


@transaction.atomic
def report_follow_up(*, actor: User, report: Report, data: FollowUpInput) -> Report:
    """Add information to a report (outcomes, end dates, new reactions) as a new version."""
    report = Report.objects.select_for_update().select_related("drug", "patient").get(pk=report.pk)
    today = timezone.localdate()
    errors = Errors()
    if report.is_void:
        errors.add("report", "A void report cannot be followed up.")
    existing = {r.pk: r for r in report.reactions.select_related("term")}
    changes: list[dict[str, Any]] = []
    to_update: list[Reaction] = []
    for i, update in enumerate(data.updates):
        prefix = f"updates.{i}"
        reaction = existing.get(update.reaction_id)
        if reaction is None:
            errors.add(f"{prefix}.reaction_id", "No such reaction on this report.")
            continue
        outcome = update.outcome or reaction.outcome
        end = update.end_date or reaction.end_date
        if outcome not in Outcome.values:
            errors.add(f"{prefix}.outcome", f"Outcome must be one of {', '.join(Outcome.values)}.")
        if reaction.grade == 5 and outcome != Outcome.FATAL:
            errors.add(f"{prefix}.outcome", "A grade 5 reaction's outcome stays fatal.")
        check_dates(reaction.onset_date, end, prefix, errors, today)
        if (outcome, end) != (reaction.outcome, reaction.end_date):
            changes.append(
                {
                    "reaction": reaction.pk,
                    "term": reaction_name(reaction),
                    "outcome": [reaction.outcome, outcome],
                    "end_date": [str(reaction.end_date or ""), str(end or "")],
                }
            )
            reaction.outcome, reaction.end_date = outcome, end
            to_update.append(reaction)
    new_codings = code_reactions(data.new_reactions, "new_reactions", errors, today)
    check_narrative(data.narrative, errors)
    if not (changes or data.new_reactions or data.narrative.strip()) and not errors.found:
        errors.add("report", "The follow-up adds no information.")
    errors.raise_if_any()

    Reaction.objects.bulk_update(to_update, ["outcome", "end_date"])
    report.version += 1
    added: list[Reaction] = []
    if data.new_reactions:
        # New information is judged against the label in force now; the report keeps the
        # version its first reactions were judged against (a listed reaction names its entry).
        label = Label.objects.filter(drug=report.drug, is_current=True).first()
        added = Reaction.objects.bulk_create(
            reactions_build(
                report,
                data.new_reactions,
                new_codings,
                label_listing(label.pk if label else None),
                report.version,
            )
        )
        expedite_if_needed(report, added, today)
        flag_duplicates(report, added)
    if data.narrative.strip():
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        addition = f"[Follow-up {report.version}, {stamp}] {data.narrative.strip()}"
        report.narrative = f"{report.narrative}\n\n{addition}".strip()
    report.save()
    summary = _follow_up_summary(changes, added, data.narrative)
    version_save(report, actor, summary, [*existing.values(), *added])
    audit_record(
        actor=actor,
        action="report.follow_up",
        target=report,
        changes={
            "version": report.version,
            "updated": changes,
            "added": [reaction_audit(r) for r in added],
            "narrative_added": bool(data.narrative.strip()),
        },
    )
    notify_on_commit(report)
    return report


def _follow_up_summary(changes: list[dict[str, Any]], added: list[Reaction], narrative: str) -> str:
    parts = [f"{c['term']}: outcome {Outcome(c['outcome'][1]).label.lower()}" for c in changes]
    parts += [f"new reaction {reaction_name(r)}" for r in added]
    if narrative.strip():
        parts.append("narrative added")
    return "Follow-up: " + "; ".join(parts)


@transaction.atomic
def report_void(*, actor: User, report: Report, reason: str) -> Report:
    """Mark a report void; it stays in the database and out of detection."""
    reason = reason.strip()
    if not reason:
        raise_field("reason", "Give the reason for voiding the report.")
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.is_void:
        raise_field("report", "The report is already void.")
    report.is_void = True
    report.void_reason = reason
    report.voided_at = timezone.now()
    report.voided_by = actor
    report.save(update_fields=["is_void", "void_reason", "voided_at", "voided_by", "updated_at"])
    Reaction.objects.filter(report=report).update(counted=False)
    audit_record(
        actor=actor,
        action="report.void",
        target=report,
        changes={"is_void": [False, True], "void_reason": reason},
        comment=reason,
    )
    notify_on_commit(report)
    return report


@transaction.atomic
def report_duplicate_decide(
    *, actor: User, report: Report, duplicate: bool, comment: str
) -> Report:
    """An officer's decision on a suspected duplicate: confirmed ones leave detection."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.duplicate_status not in {
        DuplicateStatus.SUSPECTED,
        DuplicateStatus.CONFIRMED,
        DuplicateStatus.DISMISSED,
    }:
        raise_field("report", "The report is not a suspected duplicate.")
    if not comment.strip():
        raise_field("comment", "Explain the decision.")
    before = report.duplicate_status
    report.duplicate_status = DuplicateStatus.CONFIRMED if duplicate else DuplicateStatus.DISMISSED
    report.save(update_fields=["duplicate_status", "updated_at"])
    # Reactions awaiting coding are counted once coded.
    Reaction.objects.filter(report=report, term__isnull=False).update(counted=report.counted)
    audit_record(
        actor=actor,
        action="report.duplicate_decision",
        target=report,
        changes={
            "duplicate_status": [before, report.duplicate_status],
            "duplicate_of": report.duplicate_of.reference if report.duplicate_of else None,
        },
        comment=comment.strip(),
    )
    notify_on_commit(report)
    return report


def raise_field(path: str, message: str) -> None:
    raise ReportInvalid({path: [message]})
