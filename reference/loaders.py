"""Loads the reference data shipped with the product: the terminology and the labels.

Loading is idempotent and keyed on natural keys; a fingerprint of each data
file records what is loaded, so that ``migrate`` only loads what changed.
"""

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from django.db import transaction

from .choices import NameKind, TermSource
from .models import GroupMembership, Label, ReferenceDataset, Term, TermName
from .normalize import compact, normalize
from .revision import reference_revision_bump

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
TERMINOLOGY_PATH = DATA_DIR / "terminology.json"
LABELS_DIR = DATA_DIR / "labels"
TERMINOLOGY = "terminology"
LABEL_PREFIX = "label:"


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
    # A CTCAE term shown under another name keeps its MedDRA code: renamed, not new.
    spec_names = {spec["name"] for spec in specs}
    by_code = {
        t.meddra_code: t for t in existing.values() if t.meddra_code and t.name not in spec_names
    }
    to_create: list[Term] = []
    to_update: list[Term] = []
    fields = ("name", "soc", "meddra_code", "source", "is_group", "covers_members")
    for spec in specs:
        values = {
            "soc": spec["soc"],
            "meddra_code": spec.get("meddra_code") or "",
            "source": spec["source"],
            "is_group": spec["is_group"],
            "covers_members": bool(spec.get("covers_members", False)),
        }
        values["name"] = spec["name"]
        term = existing.get(spec["name"])
        if term is None and values["meddra_code"] in by_code:
            term = by_code.pop(values["meddra_code"])
        if term is None:
            to_create.append(Term(**values))
        elif any(getattr(term, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(term, f, v)
            to_update.append(term)
    Term.objects.bulk_create(to_create)
    if to_update:
        Term.objects.bulk_update(to_update, fields)
    terms = {t.name: t for t in Term.objects.all()}

    # Names: add what is new; drop the shipped names the file no longer has. Names a
    # site added (shipped=False) are never touched.
    existing_names = {
        (n.term_id, n.key): n for n in TermName.objects.filter(term__in=list(terms.values()))
    }
    wanted: set[tuple[int, str]] = set()
    names: list[TermName] = []
    relabelled: list[TermName] = []
    for spec in specs:
        term = terms[spec["name"]]
        candidates = [(spec["name"], NameKind.NAME)]
        candidates += [(s, NameKind.SYNONYM) for s in spec.get("synonyms", [])]
        candidates += [(s, NameKind.LAY) for s in spec.get("lay", [])]
        for text, kind in candidates:
            key = compact(normalize(text))
            if not key or (term.pk, key) in wanted:
                continue
            wanted.add((term.pk, key))
            name = existing_names.get((term.pk, key))
            if name is None:
                names.append(TermName(term=term, text=text, key=key, kind=kind, shipped=True))
            elif name.shipped and (name.text, name.kind) != (text, kind):
                name.text, name.kind = text, kind
                relabelled.append(name)
    TermName.objects.bulk_create(names)
    if relabelled:
        TermName.objects.bulk_update(relabelled, ["text", "kind"])
    shipped_terms = {terms[spec["name"]].pk for spec in specs}
    stale_names = [
        n.pk
        for (term_id, key), n in existing_names.items()
        if n.shipped and term_id in shipped_terms and (term_id, key) not in wanted
    ]
    removed_names = TermName.objects.filter(pk__in=stale_names).delete()[0] if stale_names else 0

    # Memberships of the shipped groups: exactly those the file gives.
    group_ids = {terms[g["name"]].pk for g in data["groups"]}
    links = set(GroupMembership.objects.values_list("group_id", "member_id"))
    wanted_links: set[tuple[int, int]] = set()
    new_links = []
    for spec in data["terms"]:
        for group_name in spec.get("groups", []):
            pair = (terms[group_name].pk, terms[spec["name"]].pk)
            wanted_links.add(pair)
            if pair not in links:
                links.add(pair)
                new_links.append(GroupMembership(group_id=pair[0], member_id=pair[1]))
    GroupMembership.objects.bulk_create(new_links)
    stale_links = [p for p in links if p[0] in group_ids and p not in wanted_links]
    removed_links = 0
    for group_id, member_id in stale_links:
        removed_links += GroupMembership.objects.filter(
            group_id=group_id, member_id=member_id
        ).delete()[0]
    reference_revision_bump()
    return {
        "terms": len(to_create),
        "updated": len(to_update),
        "names": len(names),
        "names_removed": removed_names,
        "memberships": len(new_links),
        "memberships_removed": removed_links,
    }


def _is_shipped(current: Label, record: ReferenceDataset | None) -> bool:
    """Whether a drug's current label is the one its shipped file gave (not a site's own)."""
    if record is None:
        # The file was never loaded here, yet the drug has a label: the site's own.
        return False
    if record.label_id is not None:
        shipped = record.label
        return current.pk == record.label_id or (
            shipped is not None and current.fingerprint == shipped.fingerprint
        )
    # Loaded before the loader recorded which label a file gave: a label imported
    # after the file was loaded is the site's own.
    return current.imported_at <= record.loaded_at


def shipped_label_load(
    path: Path, record: ReferenceDataset | None = None
) -> tuple[str, Label | None]:
    """Import one shipped label file, unless the drug's current label is the site's own.

    Returns what was done and the label the file stands for now (None when the
    file was never loaded).
    """
    from .selectors import drug_find
    from .services import entries_from_label, label_import
    from .structured import structured_label_read

    spec = structured_label_read(json.loads(path.read_text(encoding="utf-8")))
    drug = drug_find(spec.drug_name)
    current = Label.objects.filter(drug=drug, is_current=True).first() if drug else None
    if current is not None and not _is_shipped(current, record):
        message = (
            f"{path.name}: {current} was imported locally ({current.source!r}, "
            f"{current.imported_at:%Y-%m-%d}); the local label is kept and the shipped "
            "label is not loaded"
        )
        logger.warning(message)
        return message, record.label if record is not None else None
    result = label_import(
        drug_name=spec.drug_name,
        drug_slug=spec.drug_slug,
        brand_names=spec.brand_names,
        entries=entries_from_label(spec),
        source=spec.source or path.name,
        effective_date=spec.effective_date,
    )
    state = "new version" if result.created else "unchanged"
    return f"{result.label} ({state})", result.label


def shipped_labels_load(*, force: bool = False) -> list[str]:
    """Load the shipped label files that changed since they were loaded (all with force)."""
    done: list[str] = []
    records = {r.name: r for r in ReferenceDataset.objects.filter(name__startswith=LABEL_PREFIX)}
    for path in sorted(LABELS_DIR.glob("*.json")):
        name = f"{LABEL_PREFIX}{path.stem}"
        fingerprint = _file_fingerprint(path)
        record = records.get(name)
        if not force and record is not None and record.fingerprint == fingerprint:
            continue
        line, label = shipped_label_load(path, record)
        ReferenceDataset.objects.update_or_create(
            name=name, defaults={"fingerprint": fingerprint, "label": label}
        )
        done.append(line)
    return done


def reference_data_sync(*, force: bool = False) -> list[str]:
    """Load the shipped data files whose content is not loaded yet (all of them with force).

    The terminology and each label file are loaded on their own fingerprint: a
    change of the terminology does not reload the labels, and a shipped label
    never replaces a label that the site imported itself.
    """
    done: list[str] = []
    with transaction.atomic():
        fingerprint = _file_fingerprint(TERMINOLOGY_PATH)
        loaded = ReferenceDataset.objects.filter(name=TERMINOLOGY).first()
        if force or loaded is None or loaded.fingerprint != fingerprint:
            counts = terminology_load()
            done.append(f"terminology: {counts}")
            ReferenceDataset.objects.update_or_create(
                name=TERMINOLOGY, defaults={"fingerprint": fingerprint}
            )
        done += shipped_labels_load(force=force)
    return done


def sync_after_migrate(**kwargs: Any) -> None:
    """post_migrate hook: ``migrate`` leaves the shipped terminology and labels in place."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    for line in reference_data_sync():
        logger.info("reference data loaded: %s", line)
