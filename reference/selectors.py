"""Reads of the reference data: term search and coding, drugs and labels."""

import threading
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from .choices import NameKind, Section
from .coding import Lexicon, shipped_lexicon
from .models import CtcaeCriteria, Drug, GroupMembership, Label, LabelEntry, Term, TermName
from .revision import reference_revision
from .search import Coded, Match, NameRow, TermIndex

_index_lock = threading.Lock()
_index: TermIndex | None = None
_index_stamp: str | None = None


def coder_lexicon() -> Lexicon:
    """The coder's lexicon, shipped with the terminology (read once per process)."""
    return shipped_lexicon()


def term_index() -> TermIndex:
    """The search index, rebuilt only when the reference data's revision has changed.

    The revision is read before the rows, so a change made while the index is
    being built makes the next search rebuild it again.
    """
    global _index, _index_stamp
    stamp = reference_revision()
    with _index_lock:
        if _index is None or stamp != _index_stamp:
            rows = TermName.objects.values_list(
                "term_id", "term__name", "term__soc", "term__is_group", "text", "kind"
            )
            members: dict[int, list[int]] = {}
            for group_id, member_id in GroupMembership.objects.values_list("group_id", "member_id"):
                members.setdefault(group_id, []).append(member_id)
            _index = TermIndex((NameRow(*row) for row in rows), coder_lexicon(), members)
            _index_stamp = stamp
        return _index


def term_index_revision() -> object:
    """The reference revision the current index was built from (no query): callers that
    have just called term_index() can key their own caches on it."""
    return _index_stamp


def term_index_clear() -> None:
    """Forget the index; the next search rebuilds it."""
    global _index
    with _index_lock:
        _index = None


def term_search(*, q: str, limit: int = 10) -> list[Match]:
    return term_index().search(q, limit=limit)


def term_code(text: str) -> list[Term]:
    """The terms a text names exactly (case, spacing and spelling aside).

    A term's own name or synonym codes to that term alone; a lay phrase may
    name several terms ("blood in the urine or stools").
    """
    rows = term_index().exact(text)
    if not rows:
        return []
    best_kind = rows[0].kind
    ids = list(dict.fromkeys(r.term_id for r in rows if r.kind == best_kind))
    if best_kind != NameKind.LAY:
        ids = ids[:1]
    terms = Term.objects.in_bulk(ids)
    found = [terms[i] for i in ids if i in terms]
    # A lay phrase naming several terms: the same first term on every database.
    return sorted(found, key=lambda t: t.name) if best_kind == NameKind.LAY else found


def term_autocode(text: str) -> Coded | None:
    """The term a reporter's words code to with confidence, or None (they await an officer)."""
    return term_index().code(text)


def term_suggest(text: str, limit: int = 5) -> list[str]:
    """The names of the closest terms, for an error message."""
    return [m.name for m in term_search(q=text, limit=limit)]


def drug_list() -> QuerySet[Drug]:
    return Drug.objects.order_by("name")


def drug_with_current_label(value: str) -> Drug | None:
    """A drug by slug or name, annotated with ``current_label_id`` (None without a label)."""
    drug = drug_find(value)
    if drug is None:
        return None
    drug.current_label_id = (  # type: ignore[attr-defined]
        Label.objects.filter(drug=drug, is_current=True).values_list("pk", flat=True).first()
    )
    return drug


def _clean(text: str) -> str:
    return " ".join(text.split())


class DrugNames:
    """The drugs by each way a name can refer to one: its name (any case), its slug, or a
    brand name (any case), in that order. Read once, it answers many look-ups."""

    def __init__(self, drugs: Iterable[Drug]) -> None:
        self.by_name: dict[str, Drug] = {}
        self.by_slug: dict[str, Drug] = {}
        self.by_brand: dict[str, Drug] = {}
        for drug in drugs:
            self.by_name[drug.name.casefold()] = drug
            self.by_slug[drug.slug] = drug
            for brand in drug.brand_names:
                self.by_brand.setdefault(brand.casefold(), drug)

    def find(self, name: str) -> Drug | None:
        name = _clean(name)
        if not name:
            return None
        folded = name.casefold()
        return self.by_name.get(folded) or self.by_slug.get(name) or self.by_brand.get(folded)


def drug_find(name: str) -> Drug | None:
    """The drug a name refers to: by its name (any case), its slug or a brand name (any
    case). Every door that takes a drug (reports, exposures and their CSV upload, runs,
    filters, label imports) looks it up here."""
    name = _clean(name)
    if not name:
        return None
    found = DrugNames(Drug.objects.filter(Q(name__iexact=name) | Q(slug=name))).find(name)
    # Brand names are a list in a JSON column: only the drugs that have some are read.
    return found or DrugNames(Drug.objects.exclude(brand_names=[])).find(name)


def label_current(*, drug: Drug) -> Label | None:
    entries = LabelEntry.objects.select_related("term").prefetch_related("covers")
    return (
        Label.objects.filter(drug=drug, is_current=True)
        .prefetch_related(Prefetch("entries", queryset=entries.order_by("section", "position")))
        .first()
    )


def label_entries(*, label: Label, section: Section | None = None) -> list[LabelEntry]:
    entries = [e for e in label.entries.all()]
    if section is not None:
        entries = [e for e in entries if e.section == section]
    return entries


def labels_superseded(*, drug: Drug) -> QuerySet[Label]:
    """The drug's earlier label versions, newest first."""
    return drug.labels.filter(is_current=False).order_by("-version")


def ctcae_criteria(*, term: Term) -> CtcaeCriteria | None:
    """The CTCAE grade criteria of a term, None when it has none or none are imported."""
    return CtcaeCriteria.objects.filter(term=term).first()


def ctcae_criteria_loaded() -> bool:
    """Whether any CTCAE grade criteria have been imported (NCI's file is not shipped)."""
    return CtcaeCriteria.objects.exists()
