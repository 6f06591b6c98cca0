"""A report's life: filing it, following it up, voiding it and deciding whether it is a duplicate.

Each change is one transaction that saves a numbered version of the report where its content
changed, writes an audit row, and after commit tells the apps that listen (detection).
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record

from ..choices import DuplicateStatus, Outcome, Source
from ..inputs import FollowUpInput, ReportInput
from ..models import IdempotencyRecord, Reaction, Report, ReportDrug, ReportVersion, SuspectReaction
from ..signals import report_committed
from ..validation import (
    CheckedDrug,
    Errors,
    ReportInvalid,
    check_dates,
    check_narrative,
    check_other_drugs,
    check_report,
    code_reactions,
)
from .exposures import exposure_ensure, patient_get_or_create
from .idempotency import body_hash, next_case_number, report_for_key
from .reactions import (
    Suspect,
    case_suspects,
    expedite_if_needed,
    flag_duplicates,
    label_listing,
    reaction_code,
    reaction_name,
    reactions_build,
    suspect_others,
    suspect_rows_save,
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
    for other in checked.other_drugs:
        if other.drug is not None:
            exposure_ensure(
                patient=patient,
                drug=other.drug,
                actor=reporter,
                source=source,
                start_date=other.given.therapy_start,
                end_date=other.given.therapy_end,
                dose=other.given.dose,
                route=other.given.route,
                lot_number=other.given.lot_number,
            )
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
    others = _report_drugs(report, checked.other_drugs, first_position=2, version=1)
    suspects = [Suspect(checked.drug, listing), *_suspects_of(others)]
    reactions = reactions_build(report, data.reactions, checked.codings, suspects, 1)
    expedite_if_needed(report, reactions, received)
    if not new_patient:  # a patient first seen now has no other report
        flag_duplicates(report, reactions, suspects)
    report.reference = next_case_number(received.year)
    report.save(force_insert=True)
    if idempotency is not None:
        IdempotencyRecord.objects.create(
            user=reporter, key=idempotency[0], body_hash=body_hash(idempotency[1]), report=report
        )
    for reaction in reactions:
        reaction.report = report
    reactions = Reaction.objects.bulk_create(reactions)
    per_drug = suspect_rows_save(reactions, suspects, new=True)
    for reaction in reactions:
        reaction._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "per_drug": [row for row in per_drug if row.reaction is reaction]
        }
    for row in others:
        row.report = report
    others = ReportDrug.objects.bulk_create(others)
    report._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "reactions": reactions,
        "other_drugs": others,
    }
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
            "other_drugs": [drug_audit(d) for d in others],
        },
    )
    notify_on_commit(report)
    return report, True


def _report_drugs(
    report: Report, checked: Sequence[CheckedDrug], *, first_position: int, version: int
) -> list[ReportDrug]:
    """The case's drugs beyond the first suspect, unsaved, in the order given: suspects
    first, then concomitant drugs. A formulary suspect keeps the label in force now."""
    rows = []
    for position, other in enumerate(checked, start=first_position):
        given = other.given
        rows.append(
            ReportDrug(
                report=report,
                position=position,
                role=other.role,
                drug=other.drug,
                name=other.name[:200],
                dose=given.dose,
                route=given.route,
                therapy_start=given.therapy_start,
                therapy_end=given.therapy_end,
                lot_number=given.lot_number,
                label_id=getattr(other.drug, "current_label_id", None),
                added_in_version=version,
            )
        )
    return rows


def _suspects_of(others: Sequence[ReportDrug]) -> list[Suspect]:
    return [
        Suspect(other.drug, label_listing(other.label_id))
        for other in others
        if other.is_suspect and other.drug is not None
    ]


def drug_audit(drug: ReportDrug) -> dict[str, Any]:
    """A drug of the case in an audit row or a version: as named, its role and formulary
    drug (None outside the formulary), and what the reporter said of its use."""
    return {
        "name": drug.name,
        "role": drug.role,
        "drug": drug.drug.slug if drug.drug is not None else None,
        "dose": drug.dose,
        "route": drug.route,
        "therapy_start": str(drug.therapy_start) if drug.therapy_start else None,
        "therapy_end": str(drug.therapy_end) if drug.therapy_end else None,
        "lot_number": drug.lot_number,
    }


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
        "other_drugs": [drug_audit(d) for d in report.other_drugs.all()],
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
    others = suspect_others(report)
    new_drugs = check_other_drugs(
        data.new_suspect_drugs,
        [],
        named=[report.drug.name, *(d.name for d in others)],
        prefix="",
        errors=errors,
        today=today,
        suspects_key="new_suspect_drugs",
    )
    if (
        not (changes or data.new_reactions or data.narrative.strip() or new_drugs)
        and not errors.found
    ):
        errors.add("report", "The follow-up adds no information.")
    errors.raise_if_any()

    Reaction.objects.bulk_update(to_update, ["outcome", "end_date"])
    for reaction in to_update:
        SuspectReaction.objects.filter(reaction=reaction).update(outcome=reaction.outcome)
    report.version += 1
    added_drugs = _report_drugs(
        report, new_drugs, first_position=len(others) + 2, version=report.version
    )
    if added_drugs:
        added_drugs = ReportDrug.objects.bulk_create(added_drugs)
        for other in added_drugs:
            if other.drug is not None:
                exposure_ensure(
                    patient=report.patient,
                    drug=other.drug,
                    actor=actor,
                    source=Source.WEB,
                    start_date=other.therapy_start,
                    end_date=other.therapy_end,
                    dose=other.dose,
                    route=other.route,
                    lot_number=other.lot_number,
                )
        # Every reaction of the case is judged against the new suspect's label too.
        _rejudge(report, list(existing.values()), [*others, *added_drugs], today)
    added: list[Reaction] = []
    if data.new_reactions:
        # New information is judged against the labels in force now; the report keeps the
        # version its first reactions were judged against (a listed reaction names its entry).
        suspects = case_suspects(report, [*others, *added_drugs], at_intake=False)
        added = Reaction.objects.bulk_create(
            reactions_build(report, data.new_reactions, new_codings, suspects, report.version)
        )
        suspect_rows_save(added, suspects, new=True)
        expedite_if_needed(report, added, today)
        flag_duplicates(report, added, suspects)
    if data.narrative.strip():
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        addition = f"[Follow-up {report.version}, {stamp}] {data.narrative.strip()}"
        report.narrative = f"{report.narrative}\n\n{addition}".strip()
    report.save()
    summary = _follow_up_summary(changes, added, data.narrative, added_drugs)
    version_save(report, actor, summary, [*existing.values(), *added])
    audit_record(
        actor=actor,
        action="report.follow_up",
        target=report,
        changes={
            "version": report.version,
            "updated": changes,
            "added": [reaction_audit(r) for r in added],
            "added_drugs": [drug_audit(d) for d in added_drugs],
            "narrative_added": bool(data.narrative.strip()),
        },
    )
    notify_on_commit(report)
    return report


def _rejudge(
    report: Report, reactions: list[Reaction], others: list[ReportDrug], today: date
) -> None:
    """Judge a case's reactions again after a suspect drug joined it: each against the
    labels it was first judged against (the new suspect's: the one in force now)."""
    for at_intake in (True, False):
        batch = [r for r in reactions if (r.added_in_version == 1) == at_intake]
        if not batch:
            continue
        suspects = case_suspects(report, others, at_intake=at_intake)
        for reaction in batch:
            if reaction.term is not None:
                reaction_code(reaction, reaction.term, suspects, report)
        suspect_rows_save(batch, suspects)
    Reaction.objects.bulk_update(reactions, ["listedness", "listed_by", "listedness_note"])
    expedite_if_needed(report, reactions, today)


def _follow_up_summary(
    changes: list[dict[str, Any]],
    added: list[Reaction],
    narrative: str,
    added_drugs: Sequence[ReportDrug] = (),
) -> str:
    parts = [f"{c['term']}: outcome {Outcome(c['outcome'][1]).label.lower()}" for c in changes]
    parts += [f"new suspect drug {d.name}" for d in added_drugs]
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
    SuspectReaction.objects.filter(reaction__report=report).update(counted=False)
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
    SuspectReaction.objects.filter(reaction__report=report, term__isnull=False).update(
        counted=report.counted
    )
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
