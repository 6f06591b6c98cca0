"""Listedness: is a reported term named by the drug's reference safety information?

A term is listed when the professional section of the current label has an
entry for it, names it among the terms an entry covers, or lists a group that
covers its members and the term is one of them. Consumer wording never makes
a term listed. Reports and detection both call this module; detection also reads
here the labelled incidence it compares with.
"""

from dataclasses import dataclass
from decimal import Decimal

from .choices import BAND_UPPER_PCT, Band, Section
from .models import Drug, GroupMembership, Label, LabelEntry, Term


def listed_term(entry: LabelEntry) -> Term:
    """The term of an entry of the professional section, which always has one (only consumer
    wording may await coding)."""
    if entry.term is None:
        raise ValueError(f"label entry {entry.pk} ({entry.verbatim!r}) has no term")
    return entry.term


class Rule:
    ENTRY = "entry"
    COVERED = "covered"
    GROUP = "group"


@dataclass(frozen=True)
class Listedness:
    listed: bool
    entry: LabelEntry | None = None
    rule: str | None = None
    # For an unlisted term that belongs to a labelled group (a bleed at a site the label
    # does not name), the entry of that group.
    group_entry: LabelEntry | None = None

    @property
    def value(self) -> str:
        return "listed" if self.listed else "unlisted"

    def explain(self, term: Term, drug: Drug) -> str:
        if self.listed and self.entry is not None:
            via = {
                Rule.ENTRY: "",
                Rule.COVERED: f", covered by the entry {listed_term(self.entry).name}",
                Rule.GROUP: f", as a member of the group {listed_term(self.entry).name}",
            }[self.rule or Rule.ENTRY]
            return f"{term.name} is listed for {drug.name}{via}."
        if self.group_entry is not None:
            g = self.group_entry
            figures = _figures(g)
            return (
                f"{term.name} is not listed for {drug.name}; the label lists "
                f"{listed_term(g).name}{figures} and names other sites, not this one."
            )
        return f"{term.name} is not listed for {drug.name}: not on the label."


def _figures(entry: LabelEntry) -> str:
    parts = []
    if entry.incidence_pct is not None:
        parts.append(f"{_pct(entry.incidence_pct)}%")
    if entry.grade3_pct is not None:
        parts.append(f"{_pct(entry.grade3_pct)}% grade >= 3")
    return f" ({', '.join(parts)})" if parts else ""


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}"


class LabelListing:
    """Everything needed to decide listedness against one label, loaded in three queries."""

    def __init__(self, label: Label | None) -> None:
        self.label = label
        self.by_term: dict[int, LabelEntry] = {}
        self.covered: dict[int, LabelEntry] = {}
        self.groups: dict[int, LabelEntry] = {}
        self.members: dict[int, set[int]] = {}
        if label is None:
            return
        entries = (
            # Only the professional section lists, and every entry of it has a term; the
            # filter on the term says so to readers of entry.term below.
            LabelEntry.objects.filter(label=label, section=Section.PROFESSIONAL, term__isnull=False)
            .select_related("term")
            .prefetch_related("covers")
            .order_by("position")
        )
        for entry in entries:
            term = listed_term(entry)
            self.by_term.setdefault(term.pk, entry)
            for covered in entry.covers.all():
                self.covered.setdefault(covered.pk, entry)
            if term.is_group:
                self.groups[term.pk] = entry
        for group_id, member_id in GroupMembership.objects.filter(
            group_id__in=self.groups
        ).values_list("group_id", "member_id"):
            self.members.setdefault(member_id, set()).add(group_id)

    @classmethod
    def current(cls, drug: Drug) -> "LabelListing":
        return cls(Label.objects.filter(drug=drug, is_current=True).first())

    def assess(self, term: Term | int) -> Listedness:
        term_id = term if isinstance(term, int) else term.pk
        if term_id in self.by_term:
            return Listedness(True, self.by_term[term_id], Rule.ENTRY)
        if term_id in self.covered:
            return Listedness(True, self.covered[term_id], Rule.COVERED)
        group_entries = [self.groups[g] for g in sorted(self.members.get(term_id, ()))]
        for entry in group_entries:
            # The group's current reference data, not what it said when the label came in.
            if listed_term(entry).covers_members:
                return Listedness(True, entry, Rule.GROUP)
        return Listedness(False, group_entry=group_entries[0] if group_entries else None)

    def site_group(self, term_id: int) -> LabelEntry | None:
        """The labelled group that names its sites one by one (Haemorrhage) and that the term
        belongs to: a site with no figure of its own is read against that group's figure."""
        for group_id in sorted(self.members.get(term_id, ())):
            entry = self.groups[group_id]
            if not listed_term(entry).covers_members:
                return entry
        return None

    def expected_incidence(self, entry: LabelEntry) -> tuple[Decimal | None, str]:
        """The labelled incidence that an observed incidence is compared with, and where it
        comes from: the entry's figure, else the upper bound of its frequency band, else (a
        band of "not reported") the figure of a labelled group it belongs to."""
        if entry.incidence_pct is not None:
            return entry.incidence_pct, "label figure"
        upper = BAND_UPPER_PCT.get(entry.band) if entry.band else None
        if upper is not None:
            return upper, f"upper bound of '{Band(str(entry.band)).label}'"
        if entry.band == Band.NOT_REPORTED:
            for group_id in sorted(self.members.get(listed_term(entry).pk, ())):
                group = self.groups.get(group_id)
                if group is not None and group.incidence_pct is not None:
                    return group.incidence_pct, f"incidence of its group {listed_term(group).name}"
        return None, ""


def listedness_assess(*, drug: Drug, term: Term) -> Listedness:
    """The listedness of one term for a drug, against its current label."""
    return LabelListing.current(drug).assess(term)
