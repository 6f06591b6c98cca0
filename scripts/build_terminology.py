"""Build the shipped open terminology (reference/data/terminology.json).

The base is NCI CTCAE v5.0: every row becomes one term carrying its MedDRA code
and SOC. Only the code, SOC and term name columns are read; the grade criteria
and definitions are not ours to redistribute and never reach the output.

On top of that base the build merges label names with their CTCAE equivalents
(one concept, one term), adds the seed label's terms that CTCAE lacks, adds
bleeding sites a safety officer expects to be codable, attaches lay phrases, and
assigns group membership. That hand-curated data lives in scripts/terminology/,
one TOML file per kind of list (read by curated_lists.py), so that curators edit
and review it as data; each file's header says what it holds. After an edit, rerun
this script and commit the rebuilt JSON with it: a test fails while the two disagree.

Usage: python scripts/build_terminology.py [CTCAE_CSV] [--output PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, TypedDict

from curated_lists import CURATED_DIR, Curated, TerminologyError, load_curated

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # The coder's own phrase keys check the lexicon: two sites must not share a phrase.
    sys.path.append(str(REPO_ROOT))
from reference.coding import phrase_key  # noqa: E402

# The CTCAE v5.0 terms (MedDRA code, SOC, name); NCI's full CSV gives the same build.
DEFAULT_CSV: Final = REPO_ROOT / "reference" / "data" / "ctcae_v5.0_terms.csv"
DEFAULT_OUTPUT: Final = REPO_ROOT / "reference" / "data" / "terminology.json"

FORMAT_VERSION: Final = 1
CTCAE_ROW_COUNT: Final = 837

SOURCE_CTCAE: Final = "ctcae"


class GroupRecord(TypedDict):
    name: str
    soc: str
    covers_members: bool
    synonyms: list[str]
    lay: list[str]


class TermRecord(TypedDict):
    name: str
    soc: str
    meddra_code: str | None
    ctcae_name: str | None
    source: str
    synonyms: list[str]
    lay: list[str]
    groups: list[str]


class CoderSiteRecord(TypedDict):
    key: str
    name: str
    words: list[str]
    is_a: list[str]
    part_of: str | None


class CoderEventRecord(TypedDict):
    key: str
    name: str
    words: list[str]
    term: str | None
    anywhere: bool


class SiteTermRecord(TypedDict):
    event: str
    site: str
    term: str


class CoderRecord(TypedDict):
    ignored_words: list[str]
    ignored_phrases: list[str]
    same_words: dict[str, str]
    shorthand: dict[str, str]
    search_words: dict[str, list[str]]
    changes_meaning: list[str]
    clause_breaks: list[str]
    sites: list[CoderSiteRecord]
    events: list[CoderEventRecord]
    site_terms: list[SiteTermRecord]


class Terminology(TypedDict):
    version: int
    groups: list[GroupRecord]
    terms: list[TermRecord]
    coder: CoderRecord


# --------------------------------------------------------------------------
# Spelling
# --------------------------------------------------------------------------

# Rewrites that make British and American spellings compare equal. Used only
# to detect collisions, so erring towards merging more is the safe side: a
# false collision is reported, a missed one would ship an ambiguous name.
_SPELLING_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"ae"), "e"),
    (re.compile(r"oe"), "e"),
    (re.compile(r"leuc"), "leuk"),
    (re.compile(r"(tum|col|od|behavi|hum)our"), r"\1or"),
    (re.compile(r"is(e|ed|es|ing|ation|ations)\b"), r"iz\1"),
    (re.compile(r"sulph"), "sulf"),
)


def collision_key(text: str) -> str:
    """Two names with one key could be taken for each other: case, accents, punctuation,
    spacing and US/GB spelling are ignored.

    Coarser than the key the product codes names with (reference.normalize.name_key):
    it also merges "-ise" with "-ize" and any "ae" or "oe" with "e", so that a build
    refuses a name a reader could confuse with another even where the product would
    tell them apart. ASCII only, as the shipped terminology is English.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    key = " ".join(re.findall(r"[a-z0-9]+", folded))
    for pattern, replacement in _SPELLING_RULES:
        key = pattern.sub(replacement, key)
    return key.replace(" ", "")


def british(ctcae_name: str, british_words: dict[str, str]) -> str:
    """The CTCAE name with its American words spelt the British way."""

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        gb = british_words.get(word.casefold())
        if gb is None:
            return word
        return gb[0].upper() + gb[1:] if word[0].isupper() else gb

    return re.sub(r"[A-Za-z]+", replace, ctcae_name)


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------


def read_ctcae(path: Path) -> list[tuple[str, str, str]]:
    """(MedDRA code, SOC, CTCAE term) of every row; nothing else is read."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [
            (row["MedDRA Code"].strip(), row["MedDRA SOC"].strip(), row["CTCAE Term"].strip())
            for row in csv.DictReader(handle)
        ]
    if len(rows) != CTCAE_ROW_COUNT:
        raise TerminologyError(f"{path}: expected {CTCAE_ROW_COUNT} CTCAE rows, read {len(rows)}")
    for code, soc, name in rows:
        if not re.fullmatch(r"\d{8}", code) or not soc or not name:
            raise TerminologyError(f"{path}: malformed row {code!r}, {soc!r}, {name!r}")
    return rows


def _sorted_unique(names: Iterable[str], *, excluding: str = "") -> list[str]:
    unique = {name for name in names if name != excluding}
    return sorted(unique, key=lambda name: (name.casefold(), name))


def _term(
    name: str, soc: str, code: str | None, ctcae_name: str | None, source: str, synonyms: list[str]
) -> TermRecord:
    return {
        "name": name,
        "soc": soc,
        "meddra_code": code,
        "ctcae_name": ctcae_name,
        "source": source,
        "synonyms": synonyms,
        "lay": [],
        "groups": [],
    }


def build_terms(ctcae_rows: Sequence[tuple[str, str, str]], curated: Curated) -> list[TermRecord]:
    terms: list[TermRecord] = []
    for code, ctcae_soc, ctcae_name in ctcae_rows:
        name = curated.display_names.get(ctcae_name, british(ctcae_name, curated.british_words))
        soc = curated.display_socs.get(name, ctcae_soc)
        synonyms = [ctcae_name, *curated.synonyms.get(name, [])]
        terms.append(_term(name, soc, code, ctcae_name, SOURCE_CTCAE, synonyms))
    for added in curated.added_terms:
        terms.append(_term(added.name, added.soc, None, None, added.source, added.synonyms))

    known = {term["name"] for term in terms}
    for group in curated.groups:
        unknown_members = (group.members | group.not_members) - known
        if unknown_members:
            raise TerminologyError(f"{group.name} names unknown terms: {sorted(unknown_members)}")
    for keyed in (curated.synonyms, curated.lay_phrases):
        unknown = set(keyed) - known - {group.name for group in curated.groups}
        if unknown:
            raise TerminologyError(f"curated data names unknown terms: {sorted(unknown)}")
    unused_renames = set(curated.display_names) - {row[2] for row in ctcae_rows}
    if unused_renames:
        raise TerminologyError(f"display names for absent CTCAE terms: {sorted(unused_renames)}")

    for term in terms:
        term["lay"] = _sorted_unique(curated.lay_phrases.get(term["name"], []))
        term["synonyms"] = _sorted_unique(term["synonyms"], excluding=term["name"])
        term["groups"] = sorted(
            group.name for group in curated.groups if group.has_member(term["name"], term["soc"])
        )
    return sorted(terms, key=lambda term: (term["name"].casefold(), term["name"]))


def build_groups(curated: Curated) -> list[GroupRecord]:
    groups: list[GroupRecord] = [
        {
            "name": group.name,
            "soc": group.soc,
            "covers_members": group.covers_members,
            "synonyms": _sorted_unique(group.synonyms, excluding=group.name),
            "lay": _sorted_unique(curated.lay_phrases.get(group.name, [])),
        }
        for group in curated.groups
    ]
    return sorted(groups, key=lambda group: group["name"].casefold())


def build_coder(curated: Curated) -> CoderRecord:
    lexicon = curated.coder
    return {
        "ignored_words": sorted(set(lexicon.ignored_words)),
        "ignored_phrases": sorted(set(lexicon.ignored_phrases)),
        "same_words": dict(sorted(lexicon.same_words.items())),
        "shorthand": dict(sorted(lexicon.shorthand.items())),
        "search_words": dict(sorted(lexicon.search_words.items())),
        "changes_meaning": sorted(set(lexicon.changes_meaning)),
        "clause_breaks": sorted(set(lexicon.clause_breaks)),
        "sites": [
            {
                "key": site.key,
                "name": site.name,
                "words": _sorted_unique(site.words),
                "is_a": list(site.is_a),
                "part_of": site.part_of,
            }
            for site in sorted(lexicon.sites, key=lambda site: site.key)
        ],
        "events": [
            {
                "key": event.key,
                "name": event.name,
                "words": _sorted_unique(event.words),
                "term": event.term,
                "anywhere": event.anywhere,
            }
            for event in sorted(lexicon.events, key=lambda event: event.key)
        ],
        "site_terms": [
            {"event": event, "site": site, "term": term}
            for (event, site), term in sorted(lexicon.site_terms.items())
        ],
    }


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def validate_coder(terminology: Terminology) -> None:
    """Every term the lexicon names is a term (never a group); every site and event it
    names exists; no phrase names two sites or events; no site is its own ancestor."""
    coder = terminology["coder"]
    terms = {term["name"] for term in terminology["terms"]}
    sites = {site["key"]: site for site in coder["sites"]}
    events = {event["key"] for event in coder["events"]}

    def check_term(name: str | None, where: str) -> None:
        if name is not None and name not in terms:
            raise TerminologyError(f"{where}: {name!r} is not a term (groups are for labels)")

    ignored = frozenset(" ".join(coder["ignored_words"]).lower().split())
    if not set(coder["clause_breaks"]) <= ignored:
        raise TerminologyError("ignored_words.toml: every clause break must be an ignored word")
    for phrase in coder["ignored_phrases"]:
        if len(phrase.split()) < 2:
            raise TerminologyError(f"ignored_words.toml: {phrase!r}: a single word is a word")
    for word, read_as in coder["same_words"].items():
        if len(word.split()) != 1 or len(read_as.split()) != 1 or word in ignored:
            raise TerminologyError(f"ignored_words.toml: same_words: {word!r} as {read_as!r}")
    for written, stands_for in coder["shorthand"].items():
        if not written.split() or not stands_for.split() or written in ignored:
            raise TerminologyError(f"ignored_words.toml: shorthand: {written!r}")
    for word, name_words in coder["search_words"].items():
        if len(word.split()) != 1 or any(len(w.split()) != 1 for w in name_words):
            raise TerminologyError(f"ignored_words.toml: search_words: {word!r}")
    owner: dict[tuple[str, ...], str] = {}
    for kind, records in (("site", coder["sites"]), ("event", coder["events"])):
        for record in records:
            for words in record["words"]:
                key = phrase_key(words, ignored, coder["same_words"])
                if not key:
                    raise TerminologyError(f"{kind} {record['key']}: {words!r} is all ignored")
                named = owner.setdefault(key, f"{kind} {record['key']}")
                if named != f"{kind} {record['key']}":
                    raise TerminologyError(
                        f"{words!r} names both {named} and {kind} {record['key']}"
                    )
    for event in coder["events"]:
        check_term(event["term"], f"events.toml: {event['key']}")
        if event["anywhere"] and event["term"] is None:
            raise TerminologyError(f"events.toml: {event['key']}: anywhere needs a term")
    for site in coder["sites"]:
        for other in [*site["is_a"], *([site["part_of"]] if site["part_of"] else [])]:
            if other not in sites:
                raise TerminologyError(f"anatomy.toml: {site['key']}: unknown site {other!r}")
        seen, up = {site["key"]}, site["part_of"]
        while up is not None:
            if up in seen:
                raise TerminologyError(f"anatomy.toml: {site['key']} lies in itself")
            seen.add(up)
            up = sites[up]["part_of"]
    for link in coder["site_terms"]:
        where = f"site_terms.toml: {link['event']}.{link['site']}"
        if link["event"] not in events or link["site"] not in sites:
            raise TerminologyError(f"{where}: unknown event or site")
        check_term(link["term"], where)


def validate(
    terminology: Terminology, ctcae_rows: Sequence[tuple[str, str, str]], curated: Curated
) -> dict[str, str]:
    """Raise TerminologyError on any broken invariant; return the name index."""
    terms = terminology["terms"]
    groups = terminology["groups"]
    socs = {soc for _, soc, _ in ctcae_rows}

    all_names = [record["name"] for record in [*terms, *groups]]
    if len(set(all_names)) != len(all_names):
        raise TerminologyError("two terms or groups share a display name")

    # Names and synonyms of terms and groups: one owner per collision key.
    owner_of: dict[str, str] = {}
    owners: list[tuple[str, list[str]]] = [
        (f"term {term['name']}", [term["name"], *term["synonyms"]]) for term in terms
    ]
    owners += [(f"group {group['name']}", [group["name"], *group["synonyms"]]) for group in groups]
    for owner, names in owners:
        for name in names:
            key = collision_key(name)
            previous = owner_of.setdefault(key, owner)
            if previous != owner:
                raise TerminologyError(f"{name!r} names both {previous} and {owner}")

    for owner, lay_phrases in [(f"term {t['name']}", t["lay"]) for t in terms] + [
        (f"group {g['name']}", g["lay"]) for g in groups
    ]:
        for phrase in lay_phrases:
            named = owner_of.get(collision_key(phrase))
            if named is not None and named != owner:
                raise TerminologyError(f"lay phrase {phrase!r} of {owner} names {named}")

    for record in [*terms, *groups]:
        if record["soc"] not in socs:
            raise TerminologyError(f"{record['name']}: unknown SOC {record['soc']!r}")

    by_code = {
        term["meddra_code"]: term
        for term in terms
        if term["source"] == SOURCE_CTCAE and term["meddra_code"] is not None
    }
    if len(by_code) != CTCAE_ROW_COUNT:
        raise TerminologyError(f"{len(by_code)} CTCAE terms, expected {CTCAE_ROW_COUNT}")
    for code, soc, ctcae_name in ctcae_rows:
        term = by_code.get(code)
        if term is None or term["ctcae_name"] != ctcae_name:
            raise TerminologyError(f"CTCAE row {code} {ctcae_name!r} is not represented")
        if term["soc"] != curated.display_socs.get(term["name"], soc):
            raise TerminologyError(f"CTCAE row {code} {ctcae_name!r}: SOC {term['soc']!r}")
        if term["name"] != ctcae_name and ctcae_name not in term["synonyms"]:
            raise TerminologyError(f"{term['name']}: CTCAE name {ctcae_name!r} not a synonym")

    if len(curated.seed_entries) != curated.seed_entry_count:
        raise TerminologyError("the seed label's professional entry list is incomplete")
    seed_group_keys = {collision_key(name) for name in curated.seed_group_entries}
    for entry in (*curated.seed_entries, *curated.seed_covered_terms):
        key = collision_key(entry)
        expected = "group " if key in seed_group_keys else "term "
        coded_to = owner_of.get(key)
        if coded_to is None or not coded_to.startswith(expected):
            raise TerminologyError(f"seed label entry {entry!r} codes to {coded_to or 'nothing'}")

    members = {group["name"]: 0 for group in groups}
    for term in terms:
        for group_name in term["groups"]:
            members[group_name] += 1
    if any(count == 0 for count in members.values()):
        raise TerminologyError(f"empty group: {members}")
    return owner_of


def build(csv_path: Path, curated_dir: Path = CURATED_DIR) -> Terminology:
    ctcae_rows = read_ctcae(csv_path)
    curated = load_curated(curated_dir)
    terminology: Terminology = {
        "version": FORMAT_VERSION,
        "groups": build_groups(curated),
        "terms": build_terms(ctcae_rows, curated),
        "coder": build_coder(curated),
    }
    validate(terminology, ctcae_rows, curated)
    validate_coder(terminology)
    return terminology


def render(terminology: Terminology) -> str:
    return json.dumps(terminology, indent=1, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "csv",
        nargs="?",
        type=Path,
        default=DEFAULT_CSV,
        help="CTCAE v5.0 CSV (MedDRA Code, MedDRA SOC, CTCAE Term)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON to write")
    args = parser.parse_args(argv)
    csv_path: Path = args.csv
    output: Path = args.output
    try:
        terminology = build(csv_path)
    except (OSError, KeyError, TerminologyError) as error:
        print(f"build_terminology: {error}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(terminology), encoding="utf-8")
    counts = {group["name"]: 0 for group in terminology["groups"]}
    for term in terminology["terms"]:
        for group_name in term["groups"]:
            counts[group_name] += 1
    print(f"{len(terminology['terms'])} terms, groups {counts} -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
