"""Writes of reports and exposures: submission, follow-up, void and duplicate decisions.

Every change writes an audit row in its own transaction.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Site, User
from audit.services import audit_record
from reference.listedness import LabelListing
from reference.models import Drug, Label, Term
from reference.selectors import drug_find, term_index, term_index_revision

from .choices import DuplicateStatus, Listedness, Outcome, Route, Sex, Source
from .inputs import FollowUpInput, ReactionInput, ReportInput
from .models import (
    CaseCounter,
    Exposure,
    IdempotencyRecord,
    Patient,
    Reaction,
    Report,
    ReportVersion,
)
from .validation import (
    EARLIEST_DATE,
    PATIENT_REFERENCE,
    Errors,
    ReportInvalid,
    check_dates,
    check_narrative,
    check_reaction,
    check_report,
    code_terms,
    normalise_reaction,
)

EXPEDITED_DAYS = 15
DUPLICATE_WINDOW = timedelta(days=3)

# Called after commit with the report, so detection can be queued (set by the surveillance app).
report_committed_hooks: list[Callable[[Report], None]] = []


class IdempotencyConflict(Exception):
    """The key was used before with another body."""


def local_today() -> date:
    return timezone.localdate()


def next_case_number(year: int) -> str:
    """AE-YYYY-NNNNNN, numbered per year; the row lock serialises concurrent submissions."""
    table = CaseCounter._meta.db_table
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"UPDATE {table} SET last = last + 1 WHERE year = %s RETURNING last",  # noqa: S608
                [year],
            )
            row = cursor.fetchone()
            if row is not None:
                return f"AE-{year}-{row[0]:06d}"
            CaseCounter.objects.bulk_create([CaseCounter(year=year, last=0)], ignore_conflicts=True)
    raise RuntimeError(f"no case counter for {year}")


def patient_get_or_create(
    *,
    site: Site,
    reference: str,
    age: int | None = None,
    sex: str = "",
    weight_kg: Decimal | None = None,
) -> tuple[Patient, bool]:
    """The site's patient with this reference, created or brought up to date, in one
    statement, and whether this statement created it.

    Details that are given replace the stored ones; details left out keep them.
    PostgreSQL tells a row it inserted from one it updated (its xmax is 0); on other
    databases ``created`` is always False, so callers do the checks an existing
    patient needs.
    """
    table = Patient._meta.db_table
    inserted = "(xmax = 0)" if connection.vendor == "postgresql" else "0"
    sql = (
        f"INSERT INTO {table} (site_id, reference, age, sex, weight_kg, created_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (site_id, reference) DO UPDATE SET "
        f"age = COALESCE(%s, {table}.age), sex = COALESCE(%s, {table}.sex), "
        f"weight_kg = COALESCE(%s, {table}.weight_kg) "
        f"RETURNING id, age, sex, weight_kg, created_at, {inserted}"
    )
    ops = connection.ops
    weight = ops.adapt_decimalfield_value(weight_kg, 5, 1) if weight_kg is not None else None
    now = ops.adapt_datetimefield_value(timezone.now())
    params: list[Any] = [
        site.pk,
        reference,
        age,
        sex or Sex.UNKNOWN,
        weight,
        now,
        age,
        sex or None,
        weight,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    pk, age, sex, weight_kg, created_at, created = row
    patient = Patient(
        pk=pk,
        site=site,
        reference=reference,
        age=age,
        sex=sex,
        weight_kg=Decimal(str(weight_kg)) if weight_kg is not None else None,
    )
    patient.created_at = created_at
    patient._state.adding = False
    patient._state.db = connection.alias
    return patient, bool(created)


def exposure_ensure(
    *, patient: Patient, drug: Drug, actor: User, source: str, **details: Any
) -> None:
    """Register the exposure unless the patient already has one to this drug."""
    values = {k: v for k, v in details.items() if v not in (None, "")}
    Exposure.objects.bulk_create(
        [
            Exposure(
                patient=patient,
                drug=drug,
                registered_by=actor,
                source=source,
                from_report=True,
                **values,
            )
        ],
        ignore_conflicts=True,
    )


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def report_for_key(*, user: User, key: str, body: Any) -> Report | None:
    """The report an idempotency key already made, or None; IdempotencyConflict on another body."""
    # Most keys are new: the look-up reads two columns, and the report only for a retry.
    record = (
        IdempotencyRecord.objects.filter(user=user, key=key)
        .values_list("body_hash", "report_id")
        .first()
    )
    if record is None:
        return None
    if record[0] != body_hash(body):
        raise IdempotencyConflict(key)
    return Report.objects.get(pk=record[1])


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
    reactions = _reactions_build(report, data.reactions, checked.terms, listing, 1)
    _expedite_if_needed(report, reactions, received)
    if not new_patient:  # a patient first seen now has no other report
        _flag_duplicates(report, reactions)
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
    _snapshot(report, reporter, "Initial report", reactions)
    audit_record(
        actor=reporter,
        action="report.create",
        target=report,
        changes={
            "source": source,
            "reactions": [{"term": r.term.name, "listedness": r.listedness} for r in reactions],
            "expedited_due": str(report.expedited_due) if report.expedited else None,
            "warnings": checked.warnings,
        },
    )
    _on_commit(report)
    return report, True


_listings: dict[tuple[int, object], LabelListing] = {}


def label_listing(label_id: int | None, *, fresh_index: bool = False) -> LabelListing:
    """The listing of a label (with the label), kept per process until the terminology changes.

    A label's entries never change (a new version is a new label); what can change
    is the terminology, whose revision is part of the key.
    """
    if label_id is None:
        return LabelListing(None)
    if not fresh_index:
        term_index()
    # With fresh_index the caller has just brought the term index up to date.
    key = (label_id, term_index_revision())
    listing = _listings.get(key)
    if listing is None:
        if len(_listings) > 64:
            _listings.clear()
        label = Label.objects.select_related("drug").get(pk=label_id)
        listing = _listings[key] = LabelListing(label)
    return listing


def _reactions_build(
    report: Report,
    inputs: Sequence[ReactionInput],
    terms: Sequence[Term],
    listing: LabelListing,
    version: int,
) -> list[Reaction]:
    rows = []
    for reaction, term in zip(inputs, terms, strict=True):
        assert reaction.grade is not None  # checked before
        seriousness, outcome = normalise_reaction(reaction)
        decision = listing.assess(term)
        rows.append(
            Reaction(
                report=report,
                drug_id=report.drug_id,
                patient_id=report.patient_id,
                counted=report.counts,
                term=term,
                verbatim=reaction.verbatim or reaction.term,
                onset_date=reaction.onset_date,
                end_date=reaction.end_date,
                grade=reaction.grade,
                seriousness=seriousness,
                serious=bool(seriousness),
                outcome=outcome,
                causality=reaction.causality,
                listedness=Listedness.LISTED if decision.listed else Listedness.UNLISTED,
                listed_by=decision.entry if decision.listed else None,
                listedness_note=decision.explain(term, report.drug)[:300],
                added_in_version=version,
            )
        )
    return rows


def _expedite_if_needed(report: Report, reactions: Sequence[Reaction], received: date) -> None:
    """A serious, unlisted reaction is due to the regulator within 15 calendar days."""
    if report.expedited:
        return
    if any(r.serious and r.listedness == Listedness.UNLISTED for r in reactions):
        report.expedited = True
        report.expedited_due = received + timedelta(days=EXPEDITED_DAYS)


def _flag_duplicates(report: Report, reactions: Sequence[Reaction]) -> None:
    """Same site, patient, drug and term with onsets within 3 days: a suspected duplicate."""
    dated = [r for r in reactions if r.onset_date is not None]
    if not dated or report.duplicate_status:
        return
    # The patient's other reports first: usually none, and then no reaction is read at all.
    others = list(
        Report.objects.filter(
            site=report.site, patient=report.patient, drug=report.drug, is_void=False
        )
        .exclude(pk=report.pk)
        .values_list("pk", flat=True)
    )
    if not others:
        return
    earliest = min(r.onset_date for r in dated if r.onset_date) - DUPLICATE_WINDOW
    latest = max(r.onset_date for r in dated if r.onset_date) + DUPLICATE_WINDOW
    candidates = (
        Reaction.objects.filter(
            report_id__in=others,
            term__in=[r.term_id for r in dated],
            onset_date__range=(earliest, latest),
        )
        .values_list("report_id", "term_id", "onset_date")
        .order_by("report__received_at")
    )
    for other_report, term_id, onset in candidates:
        if any(
            r.term_id == term_id
            and r.onset_date is not None
            and onset is not None
            and abs(r.onset_date - onset) <= DUPLICATE_WINDOW
            for r in dated
        ):
            report.duplicate_status = DuplicateStatus.SUSPECTED
            report.duplicate_of_id = other_report
            return


def report_snapshot(report: Report, reactions: Sequence[Reaction]) -> dict[str, Any]:
    return {
        "reference": report.reference,
        "version": report.version,
        "patient": report.patient.reference,
        "drug": report.drug.name,
        "therapy_start": str(report.therapy_start) if report.therapy_start else None,
        "therapy_end": str(report.therapy_end) if report.therapy_end else None,
        "narrative": report.narrative,
        "expedited_due": str(report.expedited_due) if report.expedited_due else None,
        "reactions": [
            {
                "id": r.pk,
                "term": r.term.name,
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


def _snapshot(report: Report, actor: User, summary: str, reactions: Sequence[Reaction]) -> None:
    ReportVersion.objects.create(
        report=report,
        number=report.version,
        created_by=actor,
        snapshot=report_snapshot(report, reactions),
        summary=summary,
    )


def _on_commit(report: Report) -> None:
    for hook in report_committed_hooks:
        transaction.on_commit(lambda hook=hook: hook(report))  # type: ignore[misc]


@transaction.atomic
def report_follow_up(*, actor: User, report: Report, data: FollowUpInput) -> Report:
    """Add information to a report (outcomes, end dates, new reactions) as a new version."""
    report = Report.objects.select_for_update().select_related("drug", "patient").get(pk=report.pk)
    today = local_today()
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
                    "term": reaction.term.name,
                    "outcome": [reaction.outcome, outcome],
                    "end_date": [str(reaction.end_date or ""), str(end or "")],
                }
            )
            reaction.outcome, reaction.end_date = outcome, end
            to_update.append(reaction)
    coded = code_terms(r.term.strip() for r in data.new_reactions if r.term.strip())
    new_terms: list[Term] = []
    for i, reaction_input in enumerate(data.new_reactions):
        term = check_reaction(reaction_input, f"new_reactions.{i}", coded, errors, today)
        if term is not None:
            new_terms.append(term)
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
            _reactions_build(
                report,
                data.new_reactions,
                new_terms,
                label_listing(label.pk if label else None),
                report.version,
            )
        )
        _expedite_if_needed(report, added, today)
        _flag_duplicates(report, added)
    if data.narrative.strip():
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        addition = f"[Follow-up {report.version}, {stamp}] {data.narrative.strip()}"
        report.narrative = f"{report.narrative}\n\n{addition}".strip()
    report.save()
    summary = _follow_up_summary(changes, added, data.narrative)
    _snapshot(report, actor, summary, [*existing.values(), *added])
    audit_record(
        actor=actor,
        action="report.follow_up",
        target=report,
        changes={
            "version": report.version,
            "updated": changes,
            "added": [{"term": r.term.name, "listedness": r.listedness} for r in added],
            "narrative_added": bool(data.narrative.strip()),
        },
    )
    _on_commit(report)
    return report


def _follow_up_summary(changes: list[dict[str, Any]], added: list[Reaction], narrative: str) -> str:
    parts = [f"{c['term']}: outcome {c['outcome'][1]}" for c in changes]
    parts += [f"new reaction {r.term.name}" for r in added]
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
    _on_commit(report)
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
    Reaction.objects.filter(report=report).update(counted=report.counts)
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
    _on_commit(report)
    return report


def raise_field(path: str, message: str) -> None:
    raise ReportInvalid({path: [message]})


@dataclass
class ExposureRow:
    patient: str
    drug: str
    start_date: date | None = None
    dose: str = ""
    route: str = ""
    lot_number: str = ""


@dataclass
class ExposureResult:
    exposure: Exposure
    created: bool


BATCH = 500


def _batches(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + BATCH] for i in range(0, len(values), BATCH)]


def _exposures_of(
    patient_ids: Sequence[int], keys: set[tuple[int, int]] | None = None
) -> dict[tuple[int, int], Exposure]:
    """The exposures of these patients by (patient id, drug id), only those keys if given."""
    found = {}
    for part in _batches(patient_ids):
        for exposure in Exposure.objects.filter(patient_id__in=part):
            key = (exposure.patient_id, exposure.drug_id)
            if keys is None or key in keys:
                found[key] = exposure
    return found


@transaction.atomic
def exposures_register(
    *, actor: User, site: Site, rows: Sequence[ExposureRow], source: str = Source.WEB
) -> list[ExposureResult]:
    """Register exposures, all or nothing; an existing patient-drug pair is returned as it is."""
    errors = Errors()
    today = local_today()
    drugs: dict[str, Drug | None] = {}
    for i, row in enumerate(rows):
        prefix = str(i)
        try:
            PATIENT_REFERENCE(row.patient.strip())
        except Exception as exc:
            errors.add(f"{prefix}.patient", " ".join(getattr(exc, "messages", [str(exc)])))
        key = row.drug.strip()
        if key not in drugs:
            drugs[key] = drug_find(key) if key else None
        if drugs[key] is None:
            errors.add(
                f"{prefix}.drug", f"Unknown drug {row.drug!r}." if key else "The drug is required."
            )
        if row.start_date is not None and row.start_date > today:
            errors.add(f"{prefix}.start_date", "The start date is in the future.")
        elif row.start_date is not None and row.start_date < EARLIEST_DATE:
            errors.add(f"{prefix}.start_date", f"The start date is before {EARLIEST_DATE:%Y}.")
        if row.route and row.route not in Route.values:
            errors.add(f"{prefix}.route", f"Route must be one of {', '.join(Route.values)}.")
        for name, limit in (("dose", 100), ("lot_number", 50)):
            if len(getattr(row, name)) > limit:
                errors.add(f"{prefix}.{name}", f"At most {limit} characters.")
    if errors.found:
        raise ReportInvalid(errors.found)
    # A few statements for the whole batch, not a few per row: a file of thousands of rows
    # is registered well within a web request.
    references = list(dict.fromkeys(row.patient.strip() for row in rows))
    Patient.objects.bulk_create(
        [Patient(site=site, reference=r) for r in references],
        ignore_conflicts=True,
        batch_size=BATCH,
    )
    patients = {
        p.reference: p
        for part in _batches(references)
        for p in Patient.objects.filter(site=site, reference__in=part)
    }
    wanted = [(patients[row.patient.strip()], drugs[row.drug.strip()], row) for row in rows]
    patient_ids = list({patient.pk for patient, _, _ in wanted})
    known = _exposures_of(patient_ids)
    new: dict[tuple[int, int], Exposure] = {}
    for patient, drug, row in wanted:
        assert drug is not None
        pair = (patient.pk, drug.pk)
        if pair not in known and pair not in new:
            new[pair] = Exposure(
                patient=patient,
                drug=drug,
                registered_by=actor,
                source=source,
                start_date=row.start_date,
                dose=row.dose,
                route=row.route,
                lot_number=row.lot_number,
            )
    Exposure.objects.bulk_create(new.values(), ignore_conflicts=True, batch_size=BATCH)
    # An exposure that a report had registered becomes part of the registered cohort.
    from_reports = [e.pk for e in known.values() if e.from_report]
    for part in _batches(from_reports):
        Exposure.objects.filter(pk__in=part).update(from_report=False)
    registered = {**known, **_exposures_of(patient_ids, keys=set(new))} if new else known
    results = []
    for patient, drug, _ in wanted:
        assert drug is not None
        pair = (patient.pk, drug.pk)
        exposure = registered[pair]
        exposure.from_report = False
        results.append(ExposureResult(exposure, created=new.pop(pair, None) is not None))
    created_count = sum(r.created for r in results)
    if created_count:
        audit_record(
            actor=actor,
            action="exposure.register",
            target=site,
            changes={"created": created_count, "rows": len(rows), "source": source},
        )
    return results
