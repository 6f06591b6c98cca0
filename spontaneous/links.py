"""The links from a source's products to formulary drugs and from its events to terms.

A product links to the drug whose name, slug or brand name it is (case aside), else to the
drug whose name or brand name has the same spelling-insensitive key; an event links to the
term it names exactly in the terminology (a name, synonym, learned or MedDRA name, or a lay
phrase that names one term only). Links are refreshed for the whole source after each
import, so a drug registered or a term added since is found: dictionary look-ups over names
read once, and one bulk update of the links that changed.
"""

from dataclasses import dataclass

from reference.choices import NameKind
from reference.models import Drug
from reference.normalize import name_key
from reference.selectors import DrugNames, term_index

from .models import Event, Product, Source

BATCH = 5000


@dataclass
class LinkCounts:
    products: int
    products_linked: int
    events: int
    events_linked: int


class DrugKeys:
    """The formulary's drugs by the exact ways a name refers to one, then by the
    spelling-insensitive key of a name or brand name."""

    def __init__(self) -> None:
        drugs = list(Drug.objects.all())
        self.names = DrugNames(drugs)
        self.by_key: dict[str, Drug] = {}
        for drug in drugs:
            self.by_key.setdefault(name_key(drug.name), drug)
        for drug in drugs:
            for brand in drug.brand_names:
                self.by_key.setdefault(name_key(brand), drug)

    def find(self, name: str) -> Drug | None:
        return self.names.find(name) or self.by_key.get(name_key(name) or "\x00")


def event_term_id(name: str) -> int | None:
    """The term an event's name names exactly, or None (unknown, or a lay phrase naming
    several terms)."""
    rows = term_index().exact(name)
    if not rows:
        return None
    best = [r for r in rows if r.kind == rows[0].kind]
    terms = {r.term_id for r in best}
    if len(terms) > 1 and rows[0].kind == NameKind.LAY:
        return None
    return best[0].term_id


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
    events = list(Event.objects.filter(source=source).only("pk", "name", "term_id"))
    changed_events = []
    for event in events:
        term_id = event_term_id(event.name)
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
