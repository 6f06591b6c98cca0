"""How a reaction is judged when it is reported: listed or not on the drug's label, whether the
report becomes due to the regulator, and whether it looks like a duplicate of another."""

from collections.abc import Sequence
from datetime import date, timedelta

from reference.listedness import LabelListing
from reference.models import Label, Term
from reference.selectors import term_index, term_index_revision

from ..choices import Coding, DuplicateStatus, Listedness
from ..inputs import ReactionInput
from ..models import Reaction, Report
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


def reactions_build(
    report: Report,
    inputs: Sequence[ReactionInput],
    codings: Sequence[Coded],
    listing: LabelListing,
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
            reaction_code(row, coded.term, listing, report)
        rows.append(row)
    return rows


def reaction_code(reaction: Reaction, term: Term, listing: LabelListing, report: Report) -> None:
    """Give a reaction its term, and with it its listedness against the listing's label;
    a coded reaction counts in detection when its report does."""
    decision = listing.assess(term)
    reaction.term = term
    reaction.counted = report.counted
    reaction.listedness = Listedness.LISTED if decision.listed else Listedness.UNLISTED
    reaction.listed_by = decision.entry if decision.listed else None
    reaction.listedness_note = decision.explain(term, report.drug)[:300]


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


def flag_duplicates(report: Report, reactions: Sequence[Reaction]) -> None:
    """Same site, patient, drug and term with onsets within 3 days: a suspected duplicate."""
    dated = [r for r in reactions if r.onset_date is not None and r.term_id is not None]
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
