"""The links from a source's products to formulary drugs and from its events to terms.

A product links to the drug whose name, slug or brand name it is (case aside), else to the
drug whose name or brand name has the same spelling-insensitive key, else the same product
key (salts and strengths aside, as FAERS products are keyed); an event links to the
term whose name, synonym, MedDRA or learned name it is (spelling aside): never through a
lay phrase, never to a group. Links are refreshed for the whole source after each
import, so a drug registered or a term added since is found: dictionary look-ups over names
read once, and one bulk update of the links that changed.
"""

from dataclasses import dataclass

from reference.choices import NameKind
from reference.models import Drug, TermName
from reference.normalize import name_key
from reference.selectors import DrugNames

from .models import Event, Product, Source
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
    drugs = DrugKeys()
    products = list(Product.objects.filter(source=source).only("pk", "name", "drug_id"))
    changed_products = []
    for product in products:
        drug = drugs.find(product.name)
        drug_id = drug.pk if drug is not None else None
        if product.drug_id != drug_id:
            product.drug_id = drug_id
            changed_products.append(product)
    Product.objects.bulk_update(changed_products, ["drug"], batch_size=BATCH)
    terms = term_keys()
    events = list(Event.objects.filter(source=source).only("pk", "key", "term_id"))
    changed_events = []
    for event in events:
        term_id = terms.get(event.key)
        if event.term_id != term_id:
            event.term_id = term_id
            changed_events.append(event)
    Event.objects.bulk_update(changed_events, ["term"], batch_size=BATCH)
    return LinkCounts(
        products=len(products),
        products_linked=sum(p.drug_id is not None for p in products),
        events=len(events),
        events_linked=sum(e.term_id is not None for e in events),
    )
