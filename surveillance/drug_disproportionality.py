"""A formulary drug read against a source of spontaneous reports (FAERS, or one named at a
CSV import): every event reported with the source's products linked to the drug, with its
2x2 counts and the four methods' statistics, beside what the hospital knows of the same
reaction: whether the drug's current label lists it, and the hospital's own signal for it."""

from collections.abc import Sequence
from dataclasses import dataclass

from reference.listedness import LabelListing
from reference.models import Drug, Term
from spontaneous.links import sources_links_current
from spontaneous.models import Product, Source
from spontaneous.tables import TableRow, product_table

from .choices import Kind
from .models import Signal

# When the hospital has several signals for one reaction, the one shown: a signal whose rule
# is met now first, then what the label does not list, then severity, then incidence.
KIND_ORDER = {Kind.UNLISTED: 0, Kind.SEVERITY: 1, Kind.INCIDENCE: 2}


class SourceRefused(Exception):
    """The source asked for names none, or none was named where several could be meant."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def source_choose(slug: str | None) -> Source:
    """The source a slug names; with no slug, the only source there is. Refused with a
    message naming the sources known when the slug names none or several could be meant."""
    slug = (slug or "").strip()
    sources = list(Source.objects.order_by("slug"))
    known = ", ".join(s.slug for s in sources)
    if not sources:
        raise SourceRefused("No spontaneous reports have been imported yet: there is no source.")
    if not slug:
        if len(sources) == 1:
            return sources[0]
        raise SourceRefused(f"Name a source: {known}.")
    for source in sources:
        if source.slug == slug:
            return source
    raise SourceRefused(f"Unknown source {slug!r}. Known sources: {known}.")


@dataclass(frozen=True)
class SourceProducts:
    """A source of spontaneous reports and the products of it linked to one drug."""

    source: Source
    products: Sequence[Product]


def drug_sources(drug: Drug) -> list[SourceProducts]:
    """Every source, those where the drug has linked products first, each with them (the
    links first brought up to date with the formulary and the terminology)."""
    sources_links_current()
    linked: dict[int, list[Product]] = {}
    for product in Product.objects.filter(drug=drug).order_by("name", "pk"):
        linked.setdefault(product.source_id, []).append(product)
    sources = sorted(Source.objects.all(), key=lambda s: (s.pk not in linked, s.name))
    return [SourceProducts(s, linked.get(s.pk, [])) for s in sources]


@dataclass(frozen=True)
class DrugEventRow:
    """One event of the drug's table, with the label's verdict on its term (None when the
    event is linked to no term, or the drug has no label) and the hospital's signal."""

    stats: TableRow
    term: Term | None
    listed: bool | None
    signal: Signal | None

    @property
    def event(self) -> str:
        return self.stats.event.name


@dataclass(frozen=True)
class DrugSourceTable:
    """A drug's events in one source, strongest first (EB05, highest first)."""

    drug: Drug
    source: Source
    products: Sequence[Product]
    serious: bool
    min_count: int
    rows: Sequence[DrugEventRow]

    @property
    def note(self) -> str:
        """What the table holds, in words, and why it is empty when it is."""
        if not self.products:
            return (
                f"No product of {self.source.name} is linked to {self.drug.name}: a product "
                "links when its name is the drug's name or one of its brand names."
            )
        names = ", ".join(p.name for p in self.products)
        scope = "serious cases" if self.serious else "cases"
        least = f" reported {self.min_count} times or more" if self.min_count > 1 else ""
        if not self.rows:
            return f"No event{least} in the {scope} of {names} in {self.source.name}."
        return f"Events{least} in the {scope} of {names} in {self.source.name}, highest EB05 first."


def hospital_signals(drug: Drug, term_ids: set[int]) -> dict[int, Signal]:
    """The hospital's own signal (found in its reports, not in a spontaneous source) for
    each of the terms, one per term: one query."""
    found: dict[int, Signal] = {}
    signals = Signal.objects.filter(drug=drug, term_id__in=term_ids, source__isnull=True)
    ranked = sorted(
        signals,
        key=lambda s: (
            not s.met,
            KIND_ORDER.get(Kind(s.kind), 9),
            -s.last_evaluated_at.timestamp(),
        ),
    )
    for signal in ranked:
        found.setdefault(signal.term_id, signal)
    return found


def drug_source_table(
    *, drug: Drug, source: Source, serious: bool = False, min_count: int = 1
) -> DrugSourceTable:
    """Every event reported with the source's products linked to the drug (the reports that
    name any of them count once), with a >= min_count, in serious cases only when asked."""
    sources_links_current()
    products = list(Product.objects.filter(source=source, drug=drug).order_by("name", "pk"))
    table = (
        product_table(source, [p.pk for p in products], serious=serious, min_count=min_count)
        if products
        else []
    )
    listing = LabelListing.current(drug)
    # The table's events come with their terms (product_table reads them in its query).
    term_ids = {row.event.term_id for row in table if row.event.term_id is not None}
    signals = hospital_signals(drug, term_ids) if term_ids else {}
    rows = []
    for row in table:
        term = row.event.term
        rows.append(
            DrugEventRow(
                stats=row,
                term=term,
                listed=(
                    listing.assess(term.pk).listed
                    if term is not None and listing.label is not None
                    else None
                ),
                signal=signals.get(term.pk) if term is not None else None,
            )
        )
    return DrugSourceTable(
        drug=drug,
        source=source,
        products=products,
        serious=serious,
        min_count=min_count,
        rows=rows,
    )
