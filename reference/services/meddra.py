"""MedDRA where a site holds a licence: a release's codes and names laid onto the open terminology.

A PT finds its term by code first (a CTCAE term carries its MedDRA code; an officer may
have set one in the admin), then by name for the terms the product added. A PT that no
term has becomes a term of its own. Every current LLT of a PT becomes a name of that
PT's term, so coders and search find the term by it. Nothing the product added is
renamed or removed: a term keeps its name, names and groups, and only gains codes and
MedDRA names. MedDRA names that a newer release no longer has as current are removed
(the name, never the term).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..choices import NameKind, TermSource
from ..meddra import Release, version_key
from ..models import GroupMembership, MeddraRelease, Term, TermName
from ..normalize import name_key
from ..revision import reference_revision_bump

BATCH = 2000
# Names strong enough to say that a PT is the term the product added under that name.
_MATCHING_KINDS = {NameKind.NAME, NameKind.SYNONYM, NameKind.LEARNED}
_CODE_FIELDS = ("meddra_llt_code", "meddra_pt_code", "meddra_soc_code")


class MeddraImportError(Exception):
    """A release that is not imported (older than the loaded one, or an unknown SMQ)."""


@dataclass
class SmqGroupResult:
    name: str
    created: bool
    members: int
    added: int
    removed: int


@dataclass
class MeddraImportResult:
    version: str
    language: str
    new_release: bool
    terms_coded: list[str] = field(default_factory=list)
    codes_changed: list[str] = field(default_factory=list)
    terms_new: list[str] = field(default_factory=list)
    names_added: int = 0
    names_removed: int = 0
    names_renamed: int = 0
    # A current LLT not made a name because another term has that name already.
    names_skipped: int = 0
    # A PT with no term of its own because its name is a group's (or several terms').
    pts_skipped: list[str] = field(default_factory=list)
    groups: list[SmqGroupResult] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.new_release
            or self.terms_coded
            or self.codes_changed
            or self.terms_new
            or self.names_added
            or self.names_removed
            or self.names_renamed
            or any(g.created or g.added or g.removed for g in self.groups)
        )

    def summary(self) -> dict[str, Any]:
        return {
            "terms_coded": len(self.terms_coded),
            "codes_changed": len(self.codes_changed),
            "terms_new": len(self.terms_new),
            "names_added": self.names_added,
            "names_removed": self.names_removed,
            "names_renamed": self.names_renamed,
            "names_skipped": self.names_skipped,
            "pts_skipped": len(self.pts_skipped),
        }


def meddra_loaded() -> MeddraRelease | None:
    """The release the terminology's MedDRA codes come from: the last one imported."""
    return MeddraRelease.objects.order_by("-imported_at", "-pk").first()


def meddra_version() -> str | None:
    """The MedDRA version reactions are coded in (E2B E.i.2.1a): the loaded release's, else
    the E2B_MEDDRA_VERSION setting, else None."""
    loaded = meddra_loaded()
    if loaded is not None:
        return loaded.version
    return getattr(settings, "E2B_MEDDRA_VERSION", "") or None


def _batches(items: Iterable[Any], size: int = BATCH) -> Iterable[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


@transaction.atomic
def meddra_import(
    *,
    release: Release,
    imported_by: str,
    force: bool = False,
    smqs: Sequence[str] = (),
    group_name: str = "",
    covers_members: bool = False,
) -> MeddraImportResult:
    """Lay a release onto the terminology, all or nothing, and say what changed.

    A release older than the loaded one is refused unless ``force``. Each name in ``smqs``
    makes (or brings up to date) a group of the SMQ's narrow-scope terms.
    """
    loaded = meddra_loaded()
    if loaded is not None and not force and release.version_key() < version_key(loaded.version):
        raise MeddraImportError(
            f"MedDRA {release.version} is older than the loaded {loaded.version}; "
            "--force imports it anyway"
        )
    if group_name and len(smqs) != 1:
        raise MeddraImportError("a group name is given for one SMQ at a time")
    if smqs and not release.smqs:
        raise MeddraImportError("this release has no smq_list.asc and smq_content.asc")
    wanted_smqs = []
    for smq_name in smqs:
        smq = release.smq_find(smq_name)
        if smq is None:
            known = ", ".join(sorted(s.name for s in (release.smqs or {}).values())[:10])
            raise MeddraImportError(f"no SMQ named {smq_name!r} in this release (it has: {known})")
        wanted_smqs.append(smq)

    result = MeddraImportResult(release.version, release.language, new_release=False)
    home = _terms_sync(release, result)
    _names_sync(release, home, result)
    for smq in wanted_smqs:
        pts, llts = release.smq_members(smq)
        pts |= {release.llts[c].pt_code for c in llts if c in release.llts}
        member_ids = {home[c] for c in pts if c in home}
        result.groups.append(
            _group_sync(group_name or smq.name, member_ids, covers_members=covers_members)
        )

    record = MeddraRelease.objects.filter(
        version=release.version, language=release.language
    ).first()
    if record is None:
        result.new_release = True
        MeddraRelease.objects.create(
            version=release.version,
            language=release.language,
            imported_by=imported_by[:150],
            pts=len(release.pts),
            llts=len(release.llts),
            current_llts=sum(1 for llt in release.llts.values() if llt.current),
            changes=result.summary(),
        )
    elif loaded is not None and record.pk != loaded.pk:
        # Back to a release imported before: it is the loaded one again.
        result.new_release = True
        MeddraRelease.objects.filter(pk=record.pk).update(
            imported_at=timezone.now(), imported_by=imported_by[:150]
        )
    if result.changed:
        reference_revision_bump()
    return result


def _resolve(release: Release, codes: Iterable[str]) -> tuple[str, str] | None:
    """(LLT code, PT code) of the first of a term's codes the release knows."""
    for code in codes:
        if code in release.llts:
            return code, release.llts[code].pt_code
        if code in release.pts:
            return code, code
    return None


def _terms_sync(release: Release, result: MeddraImportResult) -> dict[str, int]:
    """Give each term its codes and each PT its term; returns the term id of each PT."""
    terms = {
        t["pk"]: t
        for t in Term.objects.order_by().values(
            "pk", "name", "is_group", "meddra_code", "source", *_CODE_FIELDS
        )
    }
    # Name keys of the names the product has (not those of an earlier MedDRA import):
    # which terms each names.
    by_key: dict[str, set[int]] = {}
    for term_id, key, kind in (
        TermName.objects.exclude(kind=NameKind.MEDDRA)
        .order_by()
        .values_list("term_id", "key", "kind")
    ):
        if kind in _MATCHING_KINDS:
            by_key.setdefault(key, set()).add(term_id)
    for t in terms.values():
        by_key.setdefault(name_key(t["name"]), set()).add(t["pk"])

    codes: dict[int, tuple[str, str]] = {}
    home: dict[str, int] = {}
    # By code: the term that is the PT itself (its code is the PT's) is the PT's home.
    candidates: dict[str, list[tuple[bool, int]]] = {}
    for t in terms.values():
        if t["is_group"]:
            continue
        found = _resolve(release, [t["meddra_llt_code"], t["meddra_pt_code"], t["meddra_code"]])
        if found is not None:
            codes[t["pk"]] = found
            candidates.setdefault(found[1], []).append((found[0] != found[1], t["pk"]))
    for pt_code, options in candidates.items():
        home[pt_code] = min(options)[1]

    # By name, for the PTs no code found: the PT's name or one of its current LLTs' names.
    llts_of: dict[str, list[Any]] = {}
    for llt in release.llts.values():
        if llt.current:
            llts_of.setdefault(llt.pt_code, []).append(llt)
    created_keys: dict[str, str] = {}
    new_terms: list[Term] = []
    for pt in release.pts.values():
        if pt.code in home:
            continue
        pt_key = name_key(pt.name)
        tried = [(pt_key, pt.code)] + [(name_key(x.name), x.code) for x in llts_of.get(pt.code, [])]
        matched = False
        for key, llt_code in tried:
            owners = by_key.get(key)
            if not key or not owners:
                continue
            matched = True
            owner = next(iter(owners))
            if len(owners) > 1 or terms[owner]["is_group"]:
                result.pts_skipped.append(pt.name)
            else:
                home[pt.code] = owner
                codes.setdefault(owner, (llt_code, pt.code))
            break
        if matched:
            continue
        if pt_key in created_keys:
            continue
        created_keys[pt_key] = pt.code
        new_terms.append(
            Term(
                name=pt.name,
                soc=release.socs.get(pt.soc_code, "")[:120],
                source=TermSource.MEDDRA,
                meddra_llt_code=pt.code,
                meddra_pt_code=pt.code,
                meddra_soc_code=pt.soc_code,
            )
        )

    # Codes of the terms there are: coded now, or changed since the last release.
    changed: list[Term] = []
    for term_id, (llt_code, pt_code) in codes.items():
        t = terms[term_id]
        soc_code = release.pts[pt_code].soc_code
        new = (llt_code, pt_code, soc_code)
        old = tuple(t[f] for f in _CODE_FIELDS)
        if new == old:
            continue
        if not t["meddra_pt_code"]:
            result.terms_coded.append(t["name"])
        else:
            result.codes_changed.append(
                f"{t['name']}: PT {t['meddra_pt_code'] or '-'} -> {pt_code}, "
                f"LLT {t['meddra_llt_code'] or '-'} -> {llt_code}"
            )
        changed.append(
            Term(
                pk=term_id,
                meddra_llt_code=llt_code,
                meddra_pt_code=pt_code,
                meddra_soc_code=soc_code,
            )
        )
    for chunk in _batches(changed):
        Term.objects.bulk_update(chunk, list(_CODE_FIELDS))

    for chunk in _batches(new_terms):
        Term.objects.bulk_create(chunk)
    result.terms_new = [t.name for t in new_terms]
    if new_terms:
        made = set(created_keys.values())
        ids = {
            code: pk
            for code, pk in Term.objects.filter(source=TermSource.MEDDRA, is_group=False)
            .order_by()
            .values_list("meddra_pt_code", "pk")
            if code in made
        }
        home.update(ids)
        names = [
            TermName(term_id=ids[t.meddra_pt_code], text=t.name, key=name_key(t.name), kind="name")
            for t in new_terms
        ]
        for chunk in _batches(names):
            TermName.objects.bulk_create(chunk)
    # A second PT with the name of a term made just now shares that term.
    for pt in release.pts.values():
        if pt.code not in home and name_key(pt.name) in created_keys:
            home[pt.code] = home[created_keys[name_key(pt.name)]]
    return home


def _names_sync(release: Release, home: dict[str, int], result: MeddraImportResult) -> None:
    """Make the MedDRA names exactly the current LLTs of each PT, on the PT's term."""
    other: dict[str, set[int]] = {}
    for owner_id, name_of in (
        TermName.objects.exclude(kind=NameKind.MEDDRA).order_by().values_list("term_id", "key")
    ):
        other.setdefault(name_of, set()).add(owner_id)
    wanted: dict[tuple[int, str], str] = {}
    taken: dict[str, int] = {}
    for llt in release.llts.values():
        term_id = home.get(llt.pt_code)
        if not llt.current or term_id is None:
            continue
        key = name_key(llt.name)
        if not key:
            continue
        owners = other.get(key, set())
        if term_id in owners:
            continue
        if owners or taken.get(key, term_id) != term_id:
            result.names_skipped += 1
            continue
        taken[key] = term_id
        wanted.setdefault((term_id, key), llt.name[:200])

    present = {
        (term_id, key): (pk, text)
        for pk, term_id, key, text in TermName.objects.filter(kind=NameKind.MEDDRA)
        .order_by()
        .values_list("pk", "term_id", "key", "text")
    }
    new = [
        TermName(term_id=term_id, text=text, key=key, kind=NameKind.MEDDRA)
        for (term_id, key), text in wanted.items()
        if (term_id, key) not in present
    ]
    stale = [pk for k, (pk, _) in present.items() if k not in wanted]
    renamed = [
        TermName(pk=pk, text=wanted[k])
        for k, (pk, text) in present.items()
        if k in wanted and wanted[k] != text
    ]
    for chunk in _batches(new):
        TermName.objects.bulk_create(chunk)
    for chunk in _batches(stale):
        # One statement a batch: a queryset delete would send a signal (and bump the
        # revision) for each name; the revision is bumped once at the end instead.
        names = TermName.objects.filter(pk__in=chunk)
        names._raw_delete(names.db)
    for chunk in _batches(renamed):
        TermName.objects.bulk_update(chunk, ["text"])
    result.names_added = len(new)
    result.names_removed = len(stale)
    result.names_renamed = len(renamed)


def _group_sync(name: str, member_ids: set[int], *, covers_members: bool) -> SmqGroupResult:
    """A group of a MedDRA import holding exactly these members."""
    group = Term.objects.filter(name=name).first()
    created = group is None
    if group is None:
        if not name_key(name):
            raise MeddraImportError(f"{name!r} cannot name a group")
        same = TermName.objects.filter(key=name_key(name)).select_related("term").first()
        if same is not None:
            raise MeddraImportError(
                f"{name!r} is already a name of {same.term}; choose another group name"
            )
        group = Term.objects.create(
            name=name,
            soc="",
            source=TermSource.MEDDRA,
            is_group=True,
            covers_members=covers_members,
        )
        TermName.objects.create(term=group, text=name, kind=NameKind.NAME)
    elif not group.is_group or group.source != TermSource.MEDDRA:
        raise MeddraImportError(
            f"{name!r} is a term the MedDRA import did not make; choose another group name"
        )
    elif group.covers_members != covers_members:
        group.covers_members = covers_members
        group.save(update_fields=["covers_members", "updated_at"])
    member_ids.discard(group.pk)
    present = set(GroupMembership.objects.filter(group=group).values_list("member_id", flat=True))
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=group, member_id=m) for m in sorted(member_ids - present)],
        batch_size=BATCH,
    )
    stale = present - member_ids
    if stale:
        GroupMembership.objects.filter(group=group, member_id__in=stale).delete()
    return SmqGroupResult(
        name=name,
        created=created,
        members=len(member_ids),
        added=len(member_ids - present),
        removed=len(stale),
    )
