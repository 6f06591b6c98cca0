"""How a reaction is judged when it is reported: listed or not on the drug's label, whether the
report becomes due to the regulator, and whether it looks like a duplicate of another."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q

from reference.listedness import LabelListing
from reference.listedness import Listedness as Judgement
from reference.models import Drug, Label, Term
from reference.selectors import term_index, term_index_revision

from ..choices import Coding, DrugRole, DuplicateStatus, Listedness
from ..inputs import ReactionInput
from ..models import Reaction, Report, ReportDrug, SuspectReaction
from ..validation import Coded, normalise_reaction

EXPEDITED_DAYS = 15
DUPLICATE_WINDOW = timedelta(days=3)

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


@dataclass(frozen=True)
class Suspect:
    """A formulary suspect drug of a case and the listing of the label its reactions are
    judged against."""

    drug: Drug
    listing: LabelListing


def case_suspects(
    report: Report, others: Sequence[ReportDrug], *, at_intake: bool
) -> list[Suspect]:
    """The case's formulary suspect drugs, first suspect first, each with its label: the one
    in force when the case (or the follow-up that added the drug) came in when
    ``at_intake``, else the one in force now."""
    drugs: list[tuple[Drug, int | None]] = [(report.drug, report.label_id)]
    drugs += [
        (other.drug, other.label_id)
        for other in others
        if other.role == DrugRole.SUSPECT and other.drug is not None
    ]
    current: dict[int, int] = {}
    if not at_intake:
        current = dict(
            Label.objects.filter(drug__in=[d for d, _ in drugs], is_current=True).values_list(
                "drug_id", "pk"
            )
        )
    return [
        Suspect(drug, label_listing(label_id if at_intake else current.get(drug.pk)))
        for drug, label_id in drugs
    ]


def suspect_others(report: Report) -> list[ReportDrug]:
    """The report's drugs beyond the first suspect, with their formulary drugs."""
    return list(ReportDrug.objects.filter(report=report).select_related("drug"))


def reactions_build(
    report: Report,
    inputs: Sequence[ReactionInput],
    codings: Sequence[Coded],
    suspects: Sequence[Suspect],
    version: int,
) -> list[Reaction]:
    rows = []
    for reaction, coded in zip(inputs, codings, strict=True):
        assert reaction.grade is not None  # checked before
        seriousness, outcome = normalise_reaction(reaction)
        row = Reaction(
            report=report,
            drug_id=report.drug_id,
            patient_id=report.patient_id,
            counted=False,
            verbatim=(reaction.verbatim or reaction.term).strip(),
            coding=coded.coding,
            coding_note=coded.note[:300],
            onset_date=reaction.onset_date,
            end_date=reaction.end_date,
            grade=reaction.grade,
            seriousness=seriousness,
            serious=bool(seriousness),
            outcome=outcome,
            causality=reaction.causality,
            added_in_version=version,
        )
        if coded.term is not None:
            reaction_code(row, coded.term, suspects, report)
        rows.append(row)
    return rows


def reaction_code(
    reaction: Reaction, term: Term, suspects: Sequence[Suspect], report: Report
) -> None:
    """Give a reaction its term, and with it its listedness for the case: unlisted when it is
    unlisted for any suspect drug. A coded reaction counts in detection when its report
    does."""
    decisions = [(s.drug, s.listing.assess(term)) for s in suspects]
    first = decisions[0][1]
    listed = all(d.listed for _, d in decisions)
    reaction.term = term
    reaction.counted = report.counted
    reaction.listedness = Listedness.LISTED if listed else Listedness.UNLISTED
    reaction.listed_by = first.entry if listed else None
    reaction.listedness_note = " ".join(d.explain(term, drug) for drug, d in decisions)[:300]


def suspect_rows_save(
    reactions: Sequence[Reaction], suspects: Sequence[Suspect], *, new: bool = False
) -> list[SuspectReaction]:
    """Write each reaction's row per suspect drug (what detection counts): its judgement
    against that drug's label and the copies of the reaction detection reads. Rows already
    written for these reactions are brought up to date; ``new`` says there are none."""
    existing: dict[tuple[int, int], SuspectReaction] = {}
    if not new:
        existing = {
            (row.reaction_id, row.drug_id): row
            for row in SuspectReaction.objects.filter(reaction__in=[r.pk for r in reactions])
        }
    created: list[SuspectReaction] = []
    updated: list[SuspectReaction] = []
    for reaction in reactions:
        for suspect in suspects:
            row = existing.get((reaction.pk, suspect.drug.pk))
            if row is None:
                row = SuspectReaction(reaction=reaction, drug=suspect.drug)
                created.append(row)
            else:
                updated.append(row)
            _row_fill(row, reaction, suspect)
    if created:
        SuspectReaction.objects.bulk_create(created)
    if updated:
        SuspectReaction.objects.bulk_update(updated, SUSPECT_ROW_FIELDS)
    return [*created, *updated]


SUSPECT_ROW_FIELDS = [
    "patient",
    "term",
    "grade",
    "serious",
    "outcome",
    "counted",
    "listedness",
    "listed_by",
    "listedness_note",
]


def _row_fill(row: SuspectReaction, reaction: Reaction, suspect: Suspect) -> None:
    row.patient_id = reaction.patient_id
    row.grade = reaction.grade
    row.serious = reaction.serious
    row.outcome = reaction.outcome
    row.counted = reaction.counted
    term = reaction.term
    if term is None:
        row.term, row.listedness, row.listed_by, row.listedness_note = None, None, None, ""
        return
    decision: Judgement = suspect.listing.assess(term)
    row.term = term
    row.listedness = Listedness.LISTED if decision.listed else Listedness.UNLISTED
    row.listed_by = decision.entry if decision.listed else None
    row.listedness_note = decision.explain(term, suspect.drug)[:300]


def reaction_name(reaction: Reaction) -> str:
    """How a reaction is named in summaries: its term, or its words while they await coding."""
    if reaction.term is None:
        return f"“{reaction.verbatim}” (awaiting coding)"
    return reaction.term.name


def expedite_if_needed(report: Report, reactions: Sequence[Reaction], received: date) -> None:
    """A serious, unlisted reaction is due to the regulator within 15 calendar days."""
    if report.expedited:
        return
    if any(
        r.serious and r.coding != Coding.PENDING and r.listedness == Listedness.UNLISTED
        for r in reactions
    ):
        report.expedited = True
        report.expedited_due = received + timedelta(days=EXPEDITED_DAYS)


def flag_duplicates(
    report: Report, reactions: Sequence[Reaction], suspects: Sequence[Suspect]
) -> None:
    """Same site, patient, suspect drug and term with onsets within 3 days: a suspected
    duplicate. The two cases share a formulary suspect drug, whichever place each gives it
    (the first suspect of one may be a further suspect of the other)."""
    dated = [r for r in reactions if r.onset_date is not None and r.term_id is not None]
    if not dated or report.duplicate_status:
        return
    drug_ids = [s.drug.pk for s in suspects]
    as_further = ReportDrug.objects.filter(drug__in=drug_ids, role=DrugRole.SUSPECT)
    # The patient's other reports first: usually none, and then no reaction is read at all.
    others = list(
        Report.objects.filter(site=report.site, patient=report.patient, is_void=False)
        .filter(Q(drug__in=drug_ids) | Q(pk__in=as_further.values("report_id")))
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
