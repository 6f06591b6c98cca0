"""The links from a source's products to formulary drugs and from its events to terms.

A product of a CSV source links to the drug whose name, slug or brand name it is (case
aside), else to the drug whose name or brand name has the same spelling-insensitive key,
else the same product key (salts and strengths aside); a FAERS product, keyed by that
product key already, links to the drug whose name or brand name has its key. An event links
to the term whose name, synonym, MedDRA or learned name it is (spelling aside): never
through a lay phrase, never to a group.

Links are refreshed for the whole source at each import, and again whenever the formulary
or the terminology has changed since (:func:`sources_links_current`, called before a drug's
spontaneous reports are read), so a drug registered or a term name learned after an import
is found without waiting for the next one: dictionary look-ups over names read once, and
one bulk update of the links that changed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import F

from reference.choices import NameKind
from reference.models import Drug, TermName
from reference.normalize import name_key
from reference.revision import reference_revision, reference_revision_expression
from reference.selectors import DrugNames

from .faers import Progress
from .models import Event, ImportKind, Product, Source
from .names import product_key

BATCH = 5000


@dataclass
class LinkCounts:
    products: int
    products_linked: int
    events: int
    events_linked: int


class DrugKeys:
    """The formulary's drugs by the exact ways a name refers to one, then by the
    spelling-insensitive key of a name or brand name, then by its product key."""

    def __init__(self) -> None:
        drugs = list(Drug.objects.all())
        self.names = DrugNames(drugs)
        self.by_key: dict[str, Drug] = {}
        for drug in drugs:
            self.by_key.setdefault(name_key(drug.name), drug)
        for drug in drugs:
            for brand in drug.brand_names:
                self.by_key.setdefault(name_key(brand), drug)
        self.by_product_key: dict[str, Drug] = {}
        for drug in drugs:
            for name in [drug.name, *drug.brand_names]:
                self.by_product_key.setdefault(product_key(name), drug)
        self.by_product_key.pop("", None)

    def find(self, name: str) -> Drug | None:
        return (
            self.names.find(name)
            or self.by_key.get(name_key(name) or "\x00")
            or self.by_product_key.get(product_key(name) or "\x00")
        )


# Which way of naming a term links an event first; lay phrases never do (one may name
# several terms), and groups are for labels, not for reports.
KIND_ORDER: dict[str, int] = {
    NameKind.NAME.value: 0,
    NameKind.SYNONYM.value: 1,
    NameKind.MEDDRA.value: 2,
    NameKind.LEARNED.value: 3,
}


def term_keys() -> dict[str, int]:
    """The term of each name key: a term's name, synonym, MedDRA or learned name."""
    names = (
        TermName.objects.exclude(kind=NameKind.LAY)
        .filter(term__is_group=False)
        .values_list("key", "term_id", "kind")
    )
    found: dict[str, int] = {}
    for key, term_id, _ in sorted(names, key=lambda n: (KIND_ORDER.get(n[2], 9), n[1])):
        found.setdefault(key, term_id)
    found.pop("", None)
    return found


def source_links_refresh(source: Source) -> LinkCounts:
    """Link every product and event of the source to the drug or term it names now."""
    revision = _revision()
    drugs = DrugKeys()

    def drug_of(name: str) -> int | None:
        drug = drugs.find(name)
        return drug.pk if drug is not None else None

    products, products_linked = _relink(source, Product, "name", "drug_id", drug_of)
    events, events_linked = _relink(source, Event, "key", "term_id", term_keys().get)
    _revision_record(source, revision)
    return LinkCounts(products, products_linked, events, events_linked)


def links_refresh(source: Source, *, progress: Progress | None = None) -> tuple[int, int]:
    """Link every product of the source to the formulary drug whose name or a brand name has
    the product's key (spontaneous.names.product_key, salts and strengths aside), and every
    event to its term (spontaneous.links.term_keys); unlink what no longer matches. Returns
    how many products and events are linked."""
    revision = _revision()
    drug_of: dict[str, int] = {}
    drugs = list(Drug.objects.values_list("pk", "name", "brand_names"))
    for pk, name, _ in drugs:
        drug_of.setdefault(product_key(name), pk)
    for pk, _, brands in drugs:
        for brand in brands or []:
            if isinstance(brand, str):
                drug_of.setdefault(product_key(brand), pk)
    drug_of.pop("", None)
    _, products_linked = _relink(source, Product, "key", "drug_id", drug_of.get)
    if progress is not None:
        progress("linking", 1, 2)
    _, events_linked = _relink(source, Event, "key", "term_id", term_keys().get)
    if progress is not None:
        progress("linking", 2, 2)
    _revision_record(source, revision)
    return products_linked, events_linked


def _relink(
    source: Source,
    model: type[Product] | type[Event],
    by: str,
    column: str,
    wanted: Callable[[str], int | None],
) -> tuple[int, int]:
    """Point each row of the source at what its `by` field names now (`wanted`), reading the
    rows once and writing only the links that changed; (rows, rows linked)."""
    changed: list[Any] = []
    rows = linked = 0
    for pk, name, have in model.objects.filter(source=source).values_list("pk", by, column):
        want = wanted(name)
        rows += 1
        linked += want is not None
        if want != have:
            changed.append(model(pk=pk, **{column: want}))
    model.objects.bulk_update(changed, [column.removesuffix("_id")], batch_size=BATCH)
    return rows, linked


def _revision() -> str:
    return reference_revision() or ""


def _revision_record(source: Source, revision: str) -> None:
    """The reference data's revision the source's links were made from (read before they
    were: a change meanwhile is seen at the next check)."""
    Source.objects.filter(pk=source.pk).update(links_revision=revision)
    source.links_revision = revision


def source_links_current(source: Source, revision: str | None = None) -> bool:
    """Refresh the source's links if the formulary or the terminology changed since they
    were last made (the reference data's revision moved); True when they were."""
    if source.links_revision == (_revision() if revision is None else revision):
        return False
    if source.imports.filter(kind=ImportKind.FAERS).exists():
        links_refresh(source)
    else:
        source_links_refresh(source)
    return True


def sources_links_current() -> None:
    """Every source's links as the formulary and terminology stand now: one query when
    nothing changed."""
    stale = Source.objects.annotate(revision=reference_revision_expression()).exclude(
        links_revision=F("revision")
    )
    for source in stale:
        source_links_current(source, source.revision)
