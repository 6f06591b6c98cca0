"""Loads the reference data shipped with the product: the terminology and the labels.

Loading is idempotent and keyed on natural keys; a fingerprint of each data
file records what is loaded, so that ``migrate`` only loads what changed.
"""

import hashlib
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction

from .choices import NameKind, TermSource
from .models import GroupMembership, ReferenceDataset, Term, TermName
from .normalize import compact, normalize

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
TERMINOLOGY_PATH = DATA_DIR / "terminology.json"
LABELS_DIR = DATA_DIR / "labels"


def _file_fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@transaction.atomic
def terminology_load(path: Path = TERMINOLOGY_PATH) -> dict[str, int]:
    """Create or update every term, name and group membership of the shipped terminology."""
    data = json.loads(path.read_text(encoding="utf-8"))
    specs: list[dict[str, Any]] = [
        {**g, "is_group": True, "source": TermSource.GROUP} for g in data["groups"]
    ] + [{**t, "is_group": False, "covers_members": False} for t in data["terms"]]

    existing = {t.name: t for t in Term.objects.all()}
    to_create: list[Term] = []
    to_update: list[Term] = []
    fields = ("soc", "meddra_code", "source", "is_group", "covers_members")
    for spec in specs:
        values = {
            "soc": spec["soc"],
            "meddra_code": spec.get("meddra_code") or "",
            "source": spec["source"],
            "is_group": spec["is_group"],
            "covers_members": bool(spec.get("covers_members", False)),
        }
        term = existing.get(spec["name"])
        if term is None:
            to_create.append(Term(name=spec["name"], **values))
        elif any(getattr(term, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(term, f, v)
            to_update.append(term)
    Term.objects.bulk_create(to_create)
    if to_update:
        Term.objects.bulk_update(to_update, fields)
    terms = {t.name: t for t in Term.objects.all()}

    known = set(TermName.objects.values_list("term_id", "key"))
    names: list[TermName] = []
    for spec in specs:
        term = terms[spec["name"]]
        candidates = [(spec["name"], NameKind.NAME)]
        candidates += [(s, NameKind.SYNONYM) for s in spec.get("synonyms", [])]
        candidates += [(s, NameKind.LAY) for s in spec.get("lay", [])]
        for text, kind in candidates:
            key = compact(normalize(text))
            if key and (term.pk, key) not in known:
                known.add((term.pk, key))
                names.append(TermName(term=term, text=text, key=key, kind=kind, shipped=True))
    TermName.objects.bulk_create(names)

    links = set(GroupMembership.objects.values_list("group_id", "member_id"))
    new_links = []
    for spec in data["terms"]:
        for group_name in spec.get("groups", []):
            pair = (terms[group_name].pk, terms[spec["name"]].pk)
            if pair not in links:
                links.add(pair)
                new_links.append(GroupMembership(group_id=pair[0], member_id=pair[1]))
    GroupMembership.objects.bulk_create(new_links)
    return {
        "terms": len(to_create),
        "updated": len(to_update),
        "names": len(names),
        "memberships": len(new_links),
    }


def shipped_labels_load() -> list[str]:
    """Import every label shipped under data/labels; an unchanged label stays as it is."""
    from .services import entries_from_structured, label_import

    loaded = []
    for path in sorted(LABELS_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        drug = data["drug"]
        effective = data.get("effective_date")
        result = label_import(
            drug_name=drug["name"],
            drug_slug=drug.get("slug", ""),
            brand_names=drug.get("brand_names", []),
            entries=entries_from_structured(data),
            source=data.get("source") or path.name,
            effective_date=date.fromisoformat(effective) if effective else None,
        )
        loaded.append(f"{result.label} ({'new version' if result.created else 'unchanged'})")
    return loaded


def reference_data_sync(*, force: bool = False) -> list[str]:
    """Load the shipped data files whose content is not loaded yet."""
    done: list[str] = []
    files = [
        ("terminology", TERMINOLOGY_PATH),
        *((f"label:{p.stem}", p) for p in sorted(LABELS_DIR.glob("*.json"))),
    ]
    fingerprints = {name: _file_fingerprint(path) for name, path in files}
    loaded = dict(ReferenceDataset.objects.values_list("name", "fingerprint"))
    changed = [name for name in fingerprints if force or loaded.get(name) != fingerprints[name]]
    if not changed:
        return done
    with transaction.atomic():
        if "terminology" in changed:
            counts = terminology_load()
            done.append(f"terminology: {counts}")
        if any(name.startswith("label:") for name in changed) or "terminology" in changed:
            done += shipped_labels_load()
        for name in changed:
            ReferenceDataset.objects.update_or_create(
                name=name, defaults={"fingerprint": fingerprints[name]}
            )
    return done


def sync_after_migrate(**kwargs: Any) -> None:
    """post_migrate hook: ``migrate`` leaves the shipped terminology and labels in place."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    for line in reference_data_sync():
        logger.info("reference data loaded: %s", line)
