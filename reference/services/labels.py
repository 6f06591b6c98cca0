"""Label import and versioning: a drug's reference safety information read from a page or
a structured file, coded to terms, checked, and kept as a new current version when it
changed; and the coding of the consumer wording that no term matched on import."""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from audit.services import audit_record

from ..choices import Band, Section
from ..label_text import ParsedLabel, UnreadLine
from ..models import Drug, Label, LabelEntry, Term
from ..normalize import keyless_message, name_key
from ..revision import reference_revision_bump
from ..selectors import DrugNames as DrugNames
from ..selectors import drug_find as drug_find
from ..selectors import term_autocode, term_code, term_suggest
from ..structured import StructuredLabel, structured_label_read
from .drugs import DrugNameError, drug_get_or_create


@dataclass
class EntryInput:
    """A label entry before coding: names as written on the label."""

    verbatim: str
    section: str
    band: str | None = Band.NOT_REPORTED  # None for consumer wording
    incidence_pct: Decimal | None = None
    grade3_pct: Decimal | None = None
    covers: list[str] = field(default_factory=list)
    line_no: int | None = None
    term: str | None = None  # the coded name, when the source gives one


@dataclass
class UncodedName:
    verbatim: str
    line_no: int | None
    suggestions: list[str]

    def __str__(self) -> str:
        where = f"line {self.line_no}: " if self.line_no else ""
        if not name_key(self.verbatim):
            return f"{where}{keyless_message(self.verbatim)}"
        close = ", ".join(self.suggestions) or "no close terms"
        return f"{where}{self.verbatim!r} is not a known term (closest: {close})"


class LabelImportError(Exception):
    def __init__(self, uncoded: list[UncodedName], problems: Sequence[str] = ()) -> None:
        self.uncoded = uncoded
        self.problems = list(problems)
        if uncoded and self.problems:
            message = (
                f"{len(uncoded)} term(s) could not be coded and {len(self.problems)} "
                "problem(s) were found; nothing was imported"
            )
        elif uncoded:
            message = f"{len(uncoded)} term(s) could not be coded; nothing was imported"
        else:
            message = "; ".join(self.problems)
        super().__init__(message)


@dataclass
class LabelImportResult:
    label: Label
    created: bool
    entries: int
    per_band: dict[str, int]
    consumer: int
    unread: list[UnreadLine]
    notes: list[str]
    # Consumer wording kept as written because no term matched it: it lists nothing and
    # waits in the coding queue.
    awaiting_coding: list[EntryInput] = field(default_factory=list)


@dataclass
class _Coded:
    source: EntryInput
    term: Term | None  # None: consumer wording that awaits coding
    covers: list[Term]


def entries_from_parsed(parsed: ParsedLabel) -> list[EntryInput]:
    entries = [
        EntryInput(
            verbatim=i.verbatim,
            section=Section.PROFESSIONAL,
            band=i.band,
            incidence_pct=i.incidence_pct,
            grade3_pct=i.grade3_pct,
            covers=list(i.covers),
            line_no=i.line_no,
        )
        for i in parsed.professional
    ]
    entries += [
        EntryInput(verbatim=i.verbatim, section=Section.CONSUMER, band=None, line_no=i.line_no)
        for i in parsed.consumer
    ]
    return entries


def parse_problems(parsed: ParsedLabel) -> list[str]:
    """The items of a page read only in part, as problems that fail its import."""
    return [f"line {p.line_no}: {p.text!r}: {p.reason}" for p in parsed.problems]


def entries_from_structured(data: object) -> list[EntryInput]:
    """The entries of a structured label; StructuredLabelError lists every problem."""
    return entries_from_label(structured_label_read(data))


def entries_from_label(label: StructuredLabel) -> list[EntryInput]:
    result = []
    for row in label.entries:
        section = row["section"]
        consumer = section == Section.CONSUMER
        result.append(
            EntryInput(
                verbatim=row.get("verbatim") or row["term"],
                term=row.get("term"),
                section=section,
                band=None if consumer else (row.get("band") or Band.NOT_REPORTED),
                incidence_pct=row.get("incidence_pct"),
                grade3_pct=row.get("grade3_pct"),
                covers=list(row.get("covers", [])),
            )
        )
    return result


def _code_entries(
    entries: list[EntryInput], earlier: dict[str, Term]
) -> tuple[list[_Coded], list[UncodedName], list[str]]:
    """Code every entry. A professional name that codes to nothing is a problem that fails
    the import; consumer wording that nothing codes is kept with no term, unless the drug's
    current label holds the same words already coded (``earlier``, by wording key)."""
    coded: list[_Coded] = []
    uncoded: list[UncodedName] = []
    notes: list[str] = []
    seen: set[int] = set()
    for entry in entries:
        consumer = entry.section == Section.CONSUMER
        where = f"line {entry.line_no}: " if entry.line_no else ""
        terms = term_code(entry.term or entry.verbatim)
        if not terms and consumer and not entry.term:
            terms = _consumer_wording_code(entry.verbatim, earlier)
            if not terms:
                if not name_key(entry.verbatim):
                    notes.append(f"{where}{keyless_message(entry.verbatim)}; not kept")
                    continue
                coded.append(_Coded(entry, None, _covers_code(entry, None, uncoded, notes)))
                continue
        if not terms:
            uncoded.append(UncodedName(entry.verbatim, entry.line_no, term_suggest(entry.verbatim)))
            continue
        covers = [*terms[1:], *_covers_code(entry, terms[0], uncoded, notes)]
        covers = list(dict.fromkeys(covers))
        if not consumer:
            if terms[0].pk in seen:
                notes.append(
                    f"{where}{entry.verbatim!r} repeats {terms[0].name}; the first mention is kept"
                )
                continue
            seen.add(terms[0].pk)
        coded.append(_Coded(entry, terms[0], covers))
    return coded, uncoded, notes


def _consumer_wording_code(verbatim: str, earlier: dict[str, Term]) -> list[Term]:
    """The term lay wording that is no name of a term codes to: the coder's choice, else an
    officer's coding of the same words on the drug's current label."""
    found = term_autocode(verbatim)
    if found is not None:
        term = Term.objects.filter(pk=found.term_id).first()
        if term is not None:
            return [term]
    term = earlier.get(name_key(verbatim))
    return [term] if term is not None else []


def _covers_code(
    entry: EntryInput, term: Term | None, uncoded: list[UncodedName], notes: list[str]
) -> list[Term]:
    """The terms an entry covers besides its own. An unknown name fails a professional
    entry (listedness reads it); on consumer wording, which lists nothing, it is left out."""
    covers: list[Term] = []
    for name in entry.covers:
        found = term_code(name)
        if not found:
            if entry.section == Section.CONSUMER:
                where = f"line {entry.line_no}: " if entry.line_no else ""
                notes.append(f"{where}{name!r}, named beside {entry.verbatim!r}, is left out")
            else:
                uncoded.append(UncodedName(name, entry.line_no, term_suggest(name)))
        covers += [t for t in found if (term is None or t.pk != term.pk) and t not in covers]
    return covers


def _earlier_coding(drug_name: str) -> dict[str, Term]:
    """The consumer wording of the drug's current label that has a term, by wording key: a
    new import of the same page keeps what an officer coded."""
    drug = drug_find(drug_name)
    if drug is None:
        return {}
    entries = LabelEntry.objects.filter(
        label__drug=drug, label__is_current=True, section=Section.CONSUMER, term__isnull=False
    ).select_related("term")
    return {name_key(e.verbatim): e.term for e in entries if e.term is not None}


def _check_text(entries: list[EntryInput], source: str) -> list[str]:
    """Text no column can hold: a NUL character (PostgreSQL refuses it) or a source longer
    than its column."""
    problems = []
    limit = Label._meta.get_field("source").max_length or 300
    if len(source) > limit:
        problems.append(f"the source is longer than {limit} characters")
    if "\x00" in source:
        problems.append("the source holds a NUL character")
    for e in entries:
        if any("\x00" in name for name in (e.verbatim, e.term or "", *e.covers)):
            where = f"line {e.line_no}: " if e.line_no else ""
            problems.append(f"{where}the name holds a NUL character: {e.verbatim!r}")
    return problems


def _canonical(value: Decimal | None) -> str:
    """One text per number: 23, 23.0 and 23.000 are the same figure."""
    return "None" if value is None else format(value.normalize(), "f")


def _fingerprint_row(
    section: str,
    term: Term | None,
    covers_members: bool,
    band: str | None,
    incidence_pct: Decimal | None,
    grade3_pct: Decimal | None,
    covers: list[str],
    verbatim: str,
) -> list[Any]:
    return [
        section,
        term.name if term is not None else "",
        covers_members,
        band,
        _canonical(incidence_pct),
        _canonical(grade3_pct),
        sorted(covers),
        verbatim,
    ]


def _fingerprint(drug: Drug, rows: list[list[Any]]) -> str:
    # Order on the page carries no meaning: the same entries in another order are the same label.
    blob = json.dumps([drug.name, drug.brand_names, sorted(rows)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _coded_rows(coded: list[_Coded]) -> list[list[Any]]:
    return [
        _fingerprint_row(
            c.source.section,
            c.term,
            _covers_members(c.term),
            c.source.band,
            c.source.incidence_pct,
            c.source.grade3_pct,
            [t.name for t in c.covers],
            c.source.verbatim,
        )
        for c in coded
    ]


def _stored_rows(label: Label) -> list[list[Any]]:
    entries = label.entries.select_related("term").prefetch_related("covers")
    return [
        _fingerprint_row(
            e.section,
            e.term,
            e.covers_members,
            e.band,
            e.incidence_pct,
            e.grade3_pct,
            [t.name for t in e.covers.all()],
            e.verbatim,
        )
        for e in entries
    ]


def _covers_members(term: Term | None) -> bool:
    return term is not None and term.is_group and term.covers_members


# The incidence each band admits, in % of treated patients: (lowest, highest, highest
# included). A band's upper bound is admitted as the page's "1% to 10%" wording does.
BAND_RANGE: dict[str, tuple[Decimal, Decimal | None, bool]] = {
    Band.VERY_COMMON: (Decimal("10"), None, True),
    Band.COMMON: (Decimal("1"), Decimal("10"), True),
    Band.UNCOMMON: (Decimal("0.1"), Decimal("1"), True),
    Band.RARE: (Decimal("0.01"), Decimal("0.1"), True),
    Band.VERY_RARE: (Decimal("0"), Decimal("0.01"), False),
}


def _in_band(value: Decimal, band: str) -> bool:
    low, high, high_included = BAND_RANGE[band]
    if value < low:
        return False
    if high is None:
        return True
    return value <= high if high_included else value < high


def _check_values(coded: list[_Coded]) -> list[str]:
    problems = []
    for c in coded:
        e = c.source
        where = f"line {e.line_no}: " if e.line_no else ""
        for label, value in (("incidence", e.incidence_pct), ("grade >= 3", e.grade3_pct)):
            if value is not None and not Decimal(0) <= value <= Decimal(100):
                problems.append(f"{where}{e.verbatim}: {label} {value}% is outside 0-100%")
        if (
            e.incidence_pct is not None
            and e.grade3_pct is not None
            and e.grade3_pct > e.incidence_pct
        ):
            problems.append(
                f"{where}{e.verbatim}: grade >= 3 incidence {e.grade3_pct}% exceeds "
                f"the incidence {e.incidence_pct}%"
            )
        has_figure = e.incidence_pct is not None or e.grade3_pct is not None
        if e.section == Section.CONSUMER:
            if e.band is not None or has_figure:
                problems.append(f"{where}{e.verbatim}: consumer wording carries no band or figure")
            continue
        if e.band not in Band.values:
            problems.append(f"{where}{e.verbatim}: unknown frequency band {e.band!r}")
        elif e.band == Band.NOT_REPORTED:
            if has_figure:
                problems.append(
                    f"{where}{e.verbatim}: a figure is given but the frequency is "
                    "'not reported'; give the band that the figure falls in"
                )
        elif e.incidence_pct is not None and not _in_band(e.incidence_pct, e.band):
            problems.append(
                f"{where}{e.verbatim}: incidence {e.incidence_pct}% is outside its band "
                f"{Band(e.band).label}"
            )
    return problems


@transaction.atomic
def label_import(
    *,
    drug_name: str,
    entries: list[EntryInput],
    source: str,
    effective_date: date | None = None,
    brand_names: Sequence[str] = (),
    drug_slug: str = "",
    unread: Sequence[UnreadLine] = (),
    problems: Sequence[str] = (),
) -> LabelImportResult:
    """Make these entries the drug's current label, all or nothing.

    Raises LabelImportError, changing nothing, when a professional name cannot be
    coded, a figure is impossible or out of its band, the page had items it could
    read only in part (``problems``), or the drug name is unusable. Consumer wording
    that nothing codes never fails it: it is kept with no term and awaits coding. An
    unchanged label keeps its current version.
    """
    coded, uncoded, notes = _code_entries(entries, _earlier_coding(drug_name))
    found = [*problems, *_check_text(entries, source), *_check_values(coded)]
    if uncoded or found:
        raise LabelImportError(uncoded, found)
    if not any(c.source.section == Section.PROFESSIONAL for c in coded):
        raise LabelImportError([], ["the label has no professional entries"])

    try:
        drug = drug_get_or_create(name=drug_name, brand_names=brand_names, slug=drug_slug)
    except DrugNameError as exc:
        raise LabelImportError([], [str(exc)]) from exc
    fingerprint = _fingerprint(drug, _coded_rows(coded))
    current = Label.objects.select_for_update().filter(drug=drug, is_current=True).first()
    created = current is None or current.fingerprint != fingerprint
    if current is not None and not created:
        label = current
    else:
        last = Label.objects.filter(drug=drug).order_by("-version").first()
        Label.objects.filter(drug=drug, is_current=True).update(is_current=False)
        label = Label.objects.create(
            drug=drug,
            version=(last.version + 1) if last else 1,
            source=source,
            effective_date=effective_date,
            fingerprint=fingerprint,
        )
        _write_entries(label, coded)
        reference_revision_bump()  # the bulk writes above send no signals

    professional = [c for c in coded if c.source.section == Section.PROFESSIONAL]
    per_band = {band: 0 for band in Band.values}
    for c in professional:
        per_band[c.source.band or Band.NOT_REPORTED] += 1
    return LabelImportResult(
        label=label,
        created=created,
        entries=len(professional),
        per_band=per_band,
        consumer=len(coded) - len(professional),
        unread=list(unread),
        notes=notes,
        awaiting_coding=[c.source for c in coded if c.term is None],
    )


def _write_entries(label: Label, coded: list[_Coded]) -> None:
    rows = LabelEntry.objects.bulk_create(
        [
            LabelEntry(
                label=label,
                term=c.term,
                section=c.source.section,
                band=c.source.band,
                incidence_pct=c.source.incidence_pct,
                grade3_pct=c.source.grade3_pct,
                covers_members=_covers_members(c.term),
                verbatim=c.source.verbatim[:300],
                position=position,
            )
            for position, c in enumerate(coded)
        ]
    )
    through = LabelEntry.covers.through
    through.objects.bulk_create(
        [
            through(labelentry_id=row.pk, term_id=term.pk)
            for row, c in zip(rows, coded, strict=True)
            for term in c.covers
        ]
    )


def label_as_structured(label: Label) -> dict[str, Any]:
    """A label in the project's structured format, which label_import reads back."""
    drug = label.drug
    entries = (
        LabelEntry.objects.filter(label=label).select_related("term").prefetch_related("covers")
    )
    return {
        "drug": {"name": drug.name, "slug": drug.slug, "brand_names": drug.brand_names},
        "source": label.source,
        "effective_date": label.effective_date.isoformat() if label.effective_date else None,
        "entries": [
            {
                "term": e.term.name if e.term is not None else None,
                "verbatim": e.verbatim,
                "section": e.section,
                "band": e.band,
                "incidence_pct": _number(e.incidence_pct),
                "grade3_pct": _number(e.grade3_pct),
                "covers": sorted(t.name for t in e.covers.all()),
            }
            for e in entries.order_by("position")
        ],
    }


@dataclass(frozen=True)
class LabelWording:
    """Consumer wording of a current label that awaits coding."""

    entry_id: int
    drug: Drug
    verbatim: str
    key: str  # the normalised wording, as name_key gives it


def label_wording_pending() -> list[LabelWording]:
    """The consumer wording of the current labels that no term codes yet, by drug and in the
    label's order."""
    entries = (
        LabelEntry.objects.filter(
            label__is_current=True, section=Section.CONSUMER, term__isnull=True
        )
        .select_related("label__drug")
        .order_by("label__drug__name", "position", "pk")
    )
    return [LabelWording(e.pk, e.label.drug, e.verbatim, name_key(e.verbatim)) for e in entries]


@transaction.atomic
def label_wording_code(
    key_or_entries: str | Iterable[int | LabelEntry], term: Term, by: Any
) -> list[LabelEntry]:
    """Code consumer wording of the current labels to a term: every uncoded entry whose
    wording has this normalised key (a wording or its key), or the entries given.

    Each entry is audited. The label's fingerprint follows its entries, so importing the
    same page again keeps the label (and the coding); the reference revision changes, so
    every cache of label data built before is read again. Returns the entries coded.
    """
    pending = LabelEntry.objects.select_for_update().filter(
        label__is_current=True, section=Section.CONSUMER, term__isnull=True
    )
    if isinstance(key_or_entries, str):
        key = name_key(key_or_entries)
        targets = [e for e in pending.order_by("pk") if key and name_key(e.verbatim) == key]
    else:
        ids = {e.pk if isinstance(e, LabelEntry) else e for e in key_or_entries}
        targets = list(pending.filter(pk__in=ids).order_by("pk"))
    if not targets:
        return []
    for entry in targets:
        entry.term = term
        entry.covers_members = _covers_members(term)
    LabelEntry.objects.bulk_update(targets, ["term", "covers_members"])
    labels = Label.objects.select_related("drug").filter(pk__in={e.label_id for e in targets})
    by_pk = {label.pk: label for label in labels}
    for entry in targets:
        label = by_pk[entry.label_id]
        audit_record(
            actor=by,
            action="label_entry.code",
            target=entry,
            label=f"{label}: {entry.verbatim}",
            changes={"term": [None, term.name], "verbatim": entry.verbatim},
        )
    for label in by_pk.values():
        label.fingerprint = _fingerprint(label.drug, _stored_rows(label))
    Label.objects.bulk_update(list(by_pk.values()), ["fingerprint"])
    reference_revision_bump()  # the bulk writes above send no signals
    return targets


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
