"""The terminology a site grew itself, out to a file and back: the names that are not shipped
(names learned from officers' coding and names added here) and the local terms they name.

A file written at one site is read at another, or back into a new database of the same site.
Reading it adds what is missing and leaves everything else alone, so reading it twice
changes nothing; a learned name stays learned and nothing read is ever marked shipped.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from ..choices import NameKind, TermSource
from ..models import GroupMembership, Term, TermName
from ..normalize import keyless_message, name_key
from ..revision import reference_revision_bump
from ..structured import StrictCharField, serializer_problems

FORMAT = "terminology-local"
VERSION = 1


class TerminologyFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("not a terminology file: " + "; ".join(problems))


def terminology_local_export() -> dict[str, Any]:
    """Every name that is not shipped, with its term's name, kind, who added it and when,
    and the local terms those names name (with the groups they belong to, and for a local
    group its members). MedDRA's names and terms are not the site's own and stay out."""
    names = list(
        TermName.objects.filter(shipped=False)
        .exclude(kind=NameKind.MEDDRA)
        .exclude(term__source=TermSource.MEDDRA)
        .select_related("term", "added_by")
        .order_by("term__name", "kind", "key", "pk")
    )
    terms = list(
        Term.objects.filter(pk__in={n.term_id for n in names}, source=TermSource.LOCAL)
        .prefetch_related("groups", "members")
        .order_by("name")
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "terms": [
            {
                "name": t.name,
                "soc": t.soc,
                "meddra_code": t.meddra_code,
                "is_group": t.is_group,
                "covers_members": t.covers_members,
                "groups": sorted(g.name for g in t.groups.all()),
                "members": sorted(m.name for m in t.members.all()),
            }
            for t in terms
        ],
        "names": [
            {
                "term": n.term.name,
                "text": n.text,
                "kind": n.kind,
                "added_by": n.added_by.get_username() if n.added_by else None,
                "added_at": n.added_at.isoformat() if n.added_at else None,
            }
            for n in names
        ],
    }


class _TermSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=200)
    soc = StrictCharField(max_length=120)
    meddra_code = StrictCharField(max_length=12, required=False, allow_blank=True, default="")
    is_group = serializers.BooleanField(required=False, default=False)
    covers_members = serializers.BooleanField(required=False, default=False)
    groups = serializers.ListField(
        child=StrictCharField(max_length=200), required=False, default=list
    )
    members = serializers.ListField(
        child=StrictCharField(max_length=200), required=False, default=list
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["covers_members"] and not attrs["is_group"]:
            raise serializers.ValidationError("only a group can cover its members")
        return attrs


class _NameSerializer(serializers.Serializer[Any]):
    term = StrictCharField(max_length=200)
    text = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=[c for c in NameKind.choices if c[0] != NameKind.MEDDRA])
    added_by = StrictCharField(max_length=150, required=False, allow_null=True, default=None)
    added_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class _FileSerializer(serializers.Serializer[Any]):
    format = serializers.ChoiceField(choices=[FORMAT])
    version = serializers.ChoiceField(choices=[VERSION])
    terms = _TermSerializer(many=True, required=False, default=list)
    names = _NameSerializer(many=True, required=False, default=list)


@dataclass
class TerminologyImportResult:
    terms_added: list[str] = field(default_factory=list)
    terms_present: list[str] = field(default_factory=list)
    names_added: int = 0
    names_present: int = 0
    memberships_added: int = 0
    # What was not read, and why: a name of a term this site does not have or with no
    # letter or digit; a term or group membership that cannot be made here.
    names_skipped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Terms:
    """This site's terms by name, then by the name's key (another spelling of the name)."""

    def __init__(self) -> None:
        self.by_name: dict[str, Term] = {}
        self.by_key: dict[str, Term] = {}
        for term in Term.objects.all():
            self.add(term)

    def add(self, term: Term) -> None:
        self.by_name[term.name] = term
        self.by_key.setdefault(name_key(term.name), term)

    def find(self, name: str) -> Term | None:
        return self.by_name.get(name) or self.by_key.get(name_key(name))


@transaction.atomic
def terminology_local_import(data: object) -> TerminologyImportResult:
    """Add the terms and names of a file written by terminology_local_export that this site
    lacks. TerminologyFileError lists every problem of a malformed file, changing nothing."""
    serializer = _FileSerializer(data=data)
    if not serializer.is_valid():
        raise TerminologyFileError(serializer_problems(serializer.errors))
    valid: dict[str, Any] = dict(serializer.validated_data)
    result = TerminologyImportResult()
    terms = _Terms()

    for spec in valid["terms"]:
        existing = terms.find(spec["name"])
        if existing is not None:
            result.terms_present.append(existing.name)
            if existing.soc != spec["soc"] or existing.is_group != spec["is_group"]:
                result.notes.append(
                    f"term {spec['name']!r} is here already ({existing.soc}"
                    f"{', a group' if existing.is_group else ''}); kept as it is"
                )
            continue
        if not name_key(spec["name"]):
            result.skipped.append(f"term {spec['name']!r}: {keyless_message(spec['name'])}")
            continue
        term = Term.objects.create(
            name=spec["name"],
            soc=spec["soc"],
            meddra_code=spec["meddra_code"],
            source=TermSource.LOCAL,
            is_group=spec["is_group"],
            covers_members=spec["covers_members"],
        )
        terms.add(term)
        result.terms_added.append(term.name)

    result.memberships_added = _memberships_add(valid["terms"], terms, result)
    _names_add(valid["names"], terms, result)
    reference_revision_bump()  # the bulk writes send no signals
    return result


def _memberships_add(
    specs: list[dict[str, Any]], terms: _Terms, result: TerminologyImportResult
) -> int:
    links = set(GroupMembership.objects.values_list("group_id", "member_id"))
    new: list[GroupMembership] = []
    for spec in specs:
        term = terms.find(spec["name"])
        if term is None:
            continue
        pairs = [(group, spec["name"], "group") for group in spec["groups"]]
        pairs += [(spec["name"], member, "member") for member in spec["members"]]
        for group_name, member_name, missing_role in pairs:
            group, member = terms.find(group_name), terms.find(member_name)
            other = group_name if missing_role == "group" else member_name
            if group is None or member is None:
                result.skipped.append(
                    f"{missing_role} {other!r} of {spec['name']!r}: no such term here"
                )
                continue
            if not group.is_group or group.pk == member.pk:
                result.skipped.append(
                    f"{missing_role} {other!r} of {spec['name']!r}: {group.name} is not a group "
                    "here"
                )
                continue
            if (group.pk, member.pk) not in links:
                links.add((group.pk, member.pk))
                new.append(GroupMembership(group=group, member=member))
    GroupMembership.objects.bulk_create(new)
    return len(new)


def _names_add(specs: list[dict[str, Any]], terms: _Terms, result: TerminologyImportResult) -> None:
    present = set(TermName.objects.values_list("term_id", "key"))
    usernames = {s["added_by"] for s in specs if s["added_by"]}
    User = get_user_model()
    users = {
        u.get_username(): u
        for u in User.objects.filter(**{f"{User.USERNAME_FIELD}__in": usernames})
    }
    unknown_users: set[str] = set()
    new: list[TermName] = []
    for spec in specs:
        term = terms.find(spec["term"])
        key = name_key(spec["text"])
        if term is None:
            result.names_skipped.append(
                f"name {spec['text']!r}: its term {spec['term']!r} is neither in this "
                "terminology nor in the file"
            )
            continue
        if not key:
            result.names_skipped.append(f"name {spec['text']!r}: {keyless_message(spec['text'])}")
            continue
        if (term.pk, key) in present:
            result.names_present += 1
            continue
        present.add((term.pk, key))
        added_by = users.get(spec["added_by"]) if spec["added_by"] else None
        if spec["added_by"] and added_by is None:
            unknown_users.add(spec["added_by"])
        added_at: datetime | None = spec["added_at"]
        new.append(
            TermName(
                term=term,
                text=spec["text"],
                key=key,
                kind=spec["kind"],
                shipped=False,
                added_by=added_by,
                added_at=added_at,
            )
        )
    TermName.objects.bulk_create(new)
    result.names_added = len(new)
    if unknown_users:
        result.notes.append(
            "added by accounts this site does not have (kept without the account): "
            + ", ".join(sorted(unknown_users))
        )
