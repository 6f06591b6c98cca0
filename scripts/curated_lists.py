"""The hand-curated lists of the open terminology, read from scripts/terminology/.

One TOML file per kind of list (British spellings, renamed CTCAE terms, synonyms,
label terms, bleeding sites, groups, lay phrases and everyday words, the seed label's
entries, and the coder's lexicon: body sites, events, the term of an event at a site,
ignored words); each
file's header says what it holds. Here the files are only read and checked for
shape, so that a misspelt key or a text where a list belongs names the file and
the entry; build_terminology.py checks what they say against CTCAE and each other.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

CURATED_DIR: Final = Path(__file__).resolve().parent / "terminology"

SOURCE_LABEL: Final = "label"
SOURCE_SITE: Final = "site"


class TerminologyError(Exception):
    """The curated data or the CTCAE file breaks an invariant of the terminology."""


@dataclass(frozen=True)
class AddedTerm:
    """A term CTCAE lacks: named by the seed label, or a bleeding site."""

    name: str
    soc: str
    source: str
    synonyms: list[str]


@dataclass(frozen=True)
class Group:
    """A group and the rules that make a term one of its members."""

    name: str
    soc: str
    covers_members: bool
    synonyms: list[str]
    members_named_like: list[str]
    members_in_soc: str | None
    members: frozenset[str]
    not_members: frozenset[str]

    def has_member(self, term_name: str, term_soc: str) -> bool:
        if term_name in self.not_members:
            return False
        folded = term_name.casefold()
        return (
            term_name in self.members
            or term_soc == self.members_in_soc
            or any(fragment in folded for fragment in self.members_named_like)
        )


@dataclass(frozen=True)
class CoderSite:
    """A body site in a reporter's words (anatomy.toml)."""

    key: str
    name: str
    words: list[str]
    is_a: list[str]
    part_of: str | None


@dataclass(frozen=True)
class CoderEvent:
    """What happened, in a reporter's words (events.toml)."""

    key: str
    name: str
    words: list[str]
    term: str | None
    anywhere: bool


@dataclass(frozen=True)
class CoderLexicon:
    """What the coder reads a reporter's phrase with."""

    ignored_words: list[str]
    ignored_phrases: list[str]
    # word -> the word it is read as ("poo" -> "stool")
    same_words: dict[str, str]
    # a nurse's shorthand -> the words it stands for ("plts" -> "platelets")
    shorthand: dict[str, str]
    # for search only: a reporter's word -> the words of names it may stand for
    # ("swollen" -> "oedema", "up" -> "increased")
    search_words: dict[str, list[str]]
    changes_meaning: list[str]
    clause_breaks: list[str]
    sites: list[CoderSite]
    events: list[CoderEvent]
    # (event, site) -> term, by shown name
    site_terms: dict[tuple[str, str], str]


@dataclass(frozen=True)
class Curated:
    british_words: dict[str, str]
    # CTCAE name -> the name its term is shown under; SOCs replaced, by shown name.
    display_names: dict[str, str]
    display_socs: dict[str, str]
    synonyms: dict[str, list[str]]
    added_terms: list[AddedTerm]
    groups: list[Group]
    lay_phrases: dict[str, list[str]]
    seed_entries: list[str]
    seed_entry_count: int
    seed_covered_terms: list[str]
    seed_group_entries: list[str]
    coder: CoderLexicon


def _read(directory: Path, file_name: str) -> dict[str, Any]:
    path = directory / file_name
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise TerminologyError(f"{path}: {error}") from error


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise TerminologyError(f"{where}: expected a text without surrounding spaces")
    return value


def _texts(value: object, where: str) -> list[str]:
    if not isinstance(value, list):
        raise TerminologyError(f"{where}: expected a list of texts")
    return [_text(item, where) for item in value]


def _entry(value: object, where: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    """A table whose keys are checked, so that a misspelt key is an error, not ignored."""
    if not isinstance(value, dict):
        raise TerminologyError(f"{where}: expected a table")
    missing, unknown = required - value.keys(), value.keys() - required - optional
    if missing or unknown:
        raise TerminologyError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return value


def _lists(directory: Path, file_name: str) -> dict[str, list[str]]:
    table = _read(directory, file_name)
    return {name: _texts(value, f"{file_name}: {name}") for name, value in table.items()}


def _added_terms(directory: Path, file_name: str, source: str) -> list[AddedTerm]:
    terms = []
    for name, value in _read(directory, file_name).items():
        where = f"{file_name}: {name}"
        entry = _entry(value, where, {"soc"}, {"synonyms"})
        synonyms = _texts(entry.get("synonyms", []), where)
        terms.append(AddedTerm(name, _text(entry["soc"], where), source, synonyms))
    return terms


def _groups(directory: Path) -> list[Group]:
    groups = []
    for name, value in _read(directory, "groups.toml").items():
        where = f"groups.toml: {name}"
        rules = {"members_named_like", "members_in_soc", "members", "not_members"}
        entry = _entry(value, where, {"soc", "covers_members"}, {"synonyms", *rules})
        if not isinstance(entry["covers_members"], bool):
            raise TerminologyError(f"{where}: covers_members must be true or false")
        in_soc = entry.get("members_in_soc")
        groups.append(
            Group(
                name=name,
                soc=_text(entry["soc"], where),
                covers_members=entry["covers_members"],
                synonyms=_texts(entry.get("synonyms", []), where),
                members_named_like=_texts(entry.get("members_named_like", []), where),
                members_in_soc=None if in_soc is None else _text(in_soc, where),
                members=frozenset(_texts(entry.get("members", []), where)),
                not_members=frozenset(_texts(entry.get("not_members", []), where)),
            )
        )
    return groups


def _optional_text(value: object, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _coder(directory: Path) -> CoderLexicon:
    ignored = _entry(
        _read(directory, "ignored_words.toml"),
        "ignored_words.toml",
        {"words"},
        {"phrases", "clause_breaks", "same_words", "shorthand", "changes_meaning", "search_words"},
    )
    same_words: dict[str, str] = {}
    same_table = ignored.get("same_words", {})
    if not isinstance(same_table, dict):
        raise TerminologyError("ignored_words.toml: same_words: expected a table")
    for read_as, others in same_table.items():
        for word in _texts(others, f"ignored_words.toml: same_words.{read_as}"):
            if same_words.setdefault(word, read_as) != read_as:
                raise TerminologyError(f"ignored_words.toml: {word!r} is read as two words")
    shorthand: dict[str, str] = {}
    shorthand_table = ignored.get("shorthand", {})
    if not isinstance(shorthand_table, dict):
        raise TerminologyError("ignored_words.toml: shorthand: expected a table")
    for stands_for, others in shorthand_table.items():
        for written in _texts(others, f"ignored_words.toml: shorthand.{stands_for}"):
            if shorthand.setdefault(written, stands_for) != stands_for:
                raise TerminologyError(f"ignored_words.toml: {written!r} stands for two things")
    search_words: dict[str, list[str]] = {}
    search_table = ignored.get("search_words", {})
    if not isinstance(search_table, dict):
        raise TerminologyError("ignored_words.toml: search_words: expected a table")
    for name_word, others in search_table.items():
        for word in _texts(others, f"ignored_words.toml: search_words.{name_word}"):
            search_words.setdefault(word, []).append(name_word)
    sites = []
    for key, value in _read(directory, "anatomy.toml").items():
        where = f"anatomy.toml: {key}"
        entry = _entry(value, where, {"words"}, {"name", "is_a", "part_of"})
        sites.append(
            CoderSite(
                key=key,
                name=_text(entry.get("name", key.replace("_", " ")), where),
                words=_texts(entry["words"], where),
                is_a=_texts(entry.get("is_a", []), where),
                part_of=_optional_text(entry.get("part_of"), where),
            )
        )
    events = []
    for key, value in _read(directory, "events.toml").items():
        where = f"events.toml: {key}"
        entry = _entry(value, where, {"words"}, {"name", "term", "anywhere"})
        if not isinstance(entry.get("anywhere", False), bool):
            raise TerminologyError(f"{where}: anywhere must be true or false")
        events.append(
            CoderEvent(
                key=key,
                name=_text(entry.get("name", key.replace("_", " ")), where),
                words=_texts(entry["words"], where),
                term=_optional_text(entry.get("term"), where),
                anywhere=entry.get("anywhere", False),
            )
        )
    site_terms = {}
    for event, table in _read(directory, "site_terms.toml").items():
        if not isinstance(table, dict):
            raise TerminologyError(f"site_terms.toml: {event}: expected a table")
        for site, term in table.items():
            site_terms[(event, site)] = _text(term, f"site_terms.toml: {event}.{site}")
    return CoderLexicon(
        ignored_words=_texts(ignored["words"], "ignored_words.toml"),
        ignored_phrases=_texts(ignored.get("phrases", []), "ignored_words.toml"),
        same_words=same_words,
        shorthand=shorthand,
        search_words={word: sorted(set(found)) for word, found in sorted(search_words.items())},
        changes_meaning=_texts(ignored.get("changes_meaning", []), "ignored_words.toml"),
        clause_breaks=_texts(ignored.get("clause_breaks", []), "ignored_words.toml"),
        sites=sites,
        events=events,
        site_terms=site_terms,
    )


def _merged(*tables: dict[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for table in tables:
        for name, phrases in table.items():
            merged.setdefault(name, []).extend(phrases)
    return merged


def load_curated(directory: Path = CURATED_DIR) -> Curated:
    """The curated lists of `directory`, checked for shape."""
    british_words = {
        word: _text(gb, f"british_spellings.toml: {word}")
        for word, gb in _read(directory, "british_spellings.toml").items()
    }
    display_names, display_socs = {}, {}
    for ctcae_name, value in _read(directory, "renamed_ctcae_terms.toml").items():
        where = f"renamed_ctcae_terms.toml: {ctcae_name}"
        entry = _entry(value, where, {"name"}, {"soc"})
        display_names[ctcae_name] = _text(entry["name"], where)
        if "soc" in entry:
            display_socs[display_names[ctcae_name]] = _text(entry["soc"], where)
    seed = _entry(
        _read(directory, "seed_label.toml"),
        "seed_label.toml",
        {"professional_entries", "professional_entry_count", "covered_terms", "group_entries"},
        set(),
    )
    if not isinstance(seed["professional_entry_count"], int):
        raise TerminologyError("seed_label.toml: professional_entry_count must be a number")
    return Curated(
        british_words=british_words,
        display_names=display_names,
        display_socs=display_socs,
        synonyms=_lists(directory, "synonyms.toml"),
        added_terms=[
            *_added_terms(directory, "label_terms.toml", SOURCE_LABEL),
            *_added_terms(directory, "bleeding_sites.toml", SOURCE_SITE),
        ],
        groups=_groups(directory),
        lay_phrases=_merged(
            _lists(directory, "lay_phrases.toml"),
            _lists(directory, "everyday.toml"),
            _lists(directory, "ward.toml"),
        ),
        seed_entries=_texts(seed["professional_entries"], "seed_label.toml"),
        seed_entry_count=seed["professional_entry_count"],
        seed_covered_terms=_texts(seed["covered_terms"], "seed_label.toml"),
        seed_group_entries=_texts(seed["group_entries"], "seed_label.toml"),
        coder=_coder(directory),
    )
