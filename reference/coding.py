"""Reads a reporter's everyday words as an event at a body site, and finds the term.

"bleeding at the back of the eye" is the event *bleeding* at the site *retina*, which
the lexicon codes to Retinal haemorrhage; "swollen ankles" is *swelling* at the
*ankle*, a part of the leg, coded to Oedema limbs. The lexicon is reviewed data built
from scripts/terminology/ (anatomy, events, site terms, ignored words) into the
"coder" section of the shipped terminology; here it is only read and applied. No
Django import, like the search index that uses it.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .normalize import normalize

# A count a nurse writes beside a finding ("BO x6", "vomited 3x"): how often, not what.
_COUNT = re.compile(r"x\d+|\d+x")

# The shipped terminology, whose "coder" section is the lexicon.
TERMINOLOGY_PATH = Path(__file__).resolve().parent / "data" / "terminology.json"

# Word endings that make no difference to what a word names: "bleeds" is "bleed",
# "ankles" is "ankle", "swelling" is "swell". Longest first.
_ENDINGS = (
    "ations", "ation", "ness", "ings", "ing", "ies", "ied", "ed", "es", "ic", "ia", "al",
    "s", "y", "e",
)  # fmt: skip


def stem(word: str) -> str:
    """A word without an inflectional ending; short words stay as they are."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def word_key(word: str) -> str:
    """What a (normalised) word is matched under: its stem, and a short plural without its
    "s" ("eyes", "gums", "toes" are "eye", "gum", "toe")."""
    stemmed = stem(word)
    if stemmed == word and len(word) >= 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return stemmed


def phrase_key(
    text: str, ignored: frozenset[str], same: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The words of a phrase that say something, each by its key, in order; a word read
    as another ("poo" as "stool") by that word's key."""
    same = same or {}
    return tuple(word_key(same.get(w, w)) for w in normalize(text).split() if w not in ignored)


@dataclass(frozen=True, slots=True)
class Site:
    key: str
    name: str
    is_a: tuple[str, ...] = ()
    part_of: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    key: str
    name: str
    term: str | None = None
    anywhere: bool = False


@dataclass(frozen=True, slots=True)
class Composed:
    """The term an event at a site names, and the coder's note when the site has no
    term of its own for that event."""

    term: str
    note: str = ""


@dataclass(frozen=True)
class Lexicon:
    """The coder's lexicon: which words are passed over, the phrases naming sites and
    events, and the term of an event at a site."""

    ignored: frozenset[str] = frozenset()
    # Phrases passed over whole ("all the time", "complains of"), by their first word,
    # longest first; their words alone may say something ("time", "night").
    ignored_phrases: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    # A reporter's word -> the word it is read as ("pee" is "urine").
    same: Mapping[str, str] = field(default_factory=dict)
    # A nurse's shorthand, by its words -> the words it stands for ("n v" is "nausea and
    # vomiting", "plts" is "platelets").
    shorthand: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    longest_shorthand: int = 0
    # For search only: a reporter's word -> the words of names it may stand for
    # ("swollen" is said of an oedema, "up" of a count increased). Never for coding.
    search_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    clause_breaks: frozenset[str] = frozenset()
    # Words that may change what the others say ("nearly", "no"): the coder never
    # passes over them as words it does not know.
    changes_meaning: frozenset[str] = frozenset()
    sites: Mapping[str, Site] = field(default_factory=dict)
    events: Mapping[str, Event] = field(default_factory=dict)
    # phrase key -> ("site" | "event", key)
    phrases: Mapping[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)
    site_terms: Mapping[tuple[str, str], str] = field(default_factory=dict)
    longest_phrase: int = 0
    words: frozenset[str] = frozenset()

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> "Lexicon":
        """The lexicon from the "coder" section of the shipped terminology (none: empty)."""
        if not data:
            return cls()
        ignored = frozenset(normalize(" ".join(data["ignored_words"])).split())
        sites = {
            s["key"]: Site(s["key"], s["name"], tuple(s["is_a"]), s["part_of"])
            for s in data["sites"]
        }
        events = {
            e["key"]: Event(e["key"], e["name"], e["term"], e["anywhere"]) for e in data["events"]
        }
        same = {
            normalize(word): normalize(read_as)
            for word, read_as in data.get("same_words", {}).items()
        }
        shorthand = {
            tuple(normalize(written).split()): tuple(normalize(stands_for).split())
            for written, stands_for in data.get("shorthand", {}).items()
        }
        shorthand = {k: v for k, v in shorthand.items() if k and v}
        search_words: dict[str, tuple[str, ...]] = {}
        for word, name_words in data.get("search_words", {}).items():
            for said in normalize(word).split():
                found = search_words.get(said, ())
                search_words[said] = (*found, *normalize(" ".join(name_words)).split())
        phrases: dict[tuple[str, ...], tuple[str, str]] = {}
        known = set(ignored) | set(same) | set(same.values())
        known.update(normalize(" ".join(data.get("ignored_phrases", []))).split())
        for written, stands_for in shorthand.items():
            known.update(written)
            known.update(stands_for)
        for kind, records in (("site", data["sites"]), ("event", data["events"])):
            for record in records:
                for words in record["words"]:
                    known.update(normalize(words).split())
                    key = phrase_key(words, ignored, same)
                    if key:
                        phrases[key] = (kind, record["key"])
        site_terms = {(r["event"], r["site"]): r["term"] for r in data["site_terms"]}
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for text in data.get("ignored_phrases", []):
            words = tuple(normalize(text).split())
            if words:
                by_first.setdefault(words[0], []).append(words)
        return cls(
            ignored=ignored,
            same=same,
            shorthand=shorthand,
            longest_shorthand=max((len(k) for k in shorthand), default=0),
            search_words=search_words,
            ignored_phrases={
                first: tuple(sorted(found, key=len, reverse=True))
                for first, found in by_first.items()
            },
            clause_breaks=frozenset(normalize(" ".join(data.get("clause_breaks", []))).split()),
            changes_meaning=frozenset(normalize(" ".join(data.get("changes_meaning", []))).split()),
            sites=sites,
            events=events,
            phrases=phrases,
            site_terms=site_terms,
            longest_phrase=max((len(k) for k in phrases), default=0),
            words=frozenset(known),
        )

    def vocabulary(self) -> frozenset[str]:
        """Every word the lexicon's phrases are written with, normalised (for correcting
        a reporter's typos)."""
        return self.words

    def expand(self, words: Iterable[str]) -> list[str]:
        """The words with each shorthand written out ("low plts" is "low platelets") and
        the counts left out ("BO x6")."""
        words = [w for w in words if not _COUNT.fullmatch(w)]
        if not self.shorthand:
            return words
        out: list[str] = []
        at = 0
        while at < len(words):
            for length in range(min(self.longest_shorthand, len(words) - at), 0, -1):
                stands_for = self.shorthand.get(tuple(words[at : at + length]))
                if stands_for is not None:
                    out.extend(stands_for)
                    at += length
                    break
            else:
                out.append(words[at])
                at += 1
        return out

    def content(self, words: Iterable[str]) -> list[str]:
        """The keys of the words that say something."""
        return [
            word_key(self.same.get(w, w))
            for w in self.without_ignored_phrases(words)
            if w not in self.ignored and not w.isdigit()
        ]

    def without_ignored_phrases(self, words: Iterable[str]) -> list[str]:
        """The words with the ignored phrases left out."""
        words = list(words)
        if not self.ignored_phrases:
            return words
        kept: list[str] = []
        at = 0
        while at < len(words):
            for phrase in self.ignored_phrases.get(words[at], ()):
                if tuple(words[at : at + len(phrase)]) == phrase:
                    at += len(phrase)
                    break
            else:
                kept.append(words[at])
                at += 1
        return kept

    def before_clause_break(self, words: list[str]) -> list[str] | None:
        """The words before the first clause break ("when", "after" ...), None when there
        is none after the first word."""
        for at, word in enumerate(words):
            if at and word in self.clause_breaks:
                return words[:at]
        return None

    def compose(self, keys: list[str]) -> Composed | None:
        """The one term these word keys name as events at sites, or None: a word that
        is neither an event nor a site, no event, or events and sites naming more than
        one term leave the words to an officer."""
        answers = self.candidates(keys)
        if len({a.term for a in answers}) != 1:
            return None
        return min(answers, key=lambda a: a.note)

    def _events_and_sites(
        self, keys: list[str], *, skip_unknown: bool
    ) -> tuple[list[str], list[str]] | None:
        """The event and site keys the words read as, longest phrase first; a word that is
        neither is passed over with skip_unknown, else the words read as nothing (None)."""
        events: list[str] = []
        sites: list[str] = []
        at = 0
        while at < len(keys):
            for length in range(min(self.longest_phrase, len(keys) - at), 0, -1):
                found = self.phrases.get(tuple(keys[at : at + length]))
                if found is not None:
                    (events if found[0] == "event" else sites).append(found[1])
                    at += length
                    break
            else:
                if not skip_unknown:
                    return None
                at += 1
        return events, sites

    def candidates(self, keys: list[str]) -> list[Composed]:
        """Every term these word keys name as an event at a site ("bleeding from the nose
        and gums": Epistaxis and Gingival bleeding); empty when a word is neither an event
        nor a site, when there is no event, or when an event has no term at a site."""
        read = self._events_and_sites(keys, skip_unknown=False)
        if read is None:
            return []
        events, sites = read
        answers: dict[Composed, None] = {}
        for event_key in dict.fromkeys(events):
            event = self.events[event_key]
            if not sites:
                if event.term is None:
                    return []
                answers[Composed(event.term)] = None
            for site_key in dict.fromkeys(sites):
                answer = self.at_site(event, site_key)
                if answer is None:
                    return []
                answers[answer] = None
        return list(answers)

    def partial_candidates(self, keys: list[str]) -> list[Composed]:
        """The terms the words the lexicon knows name, passing over the words it does not
        ("bleeding from the xyz on his tongue": Tongue haemorrhage), every event at every
        site named; with no site, each event's own term. For search to offer, never to
        code: the words left out may change the meaning."""
        read = self._events_and_sites(keys, skip_unknown=True)
        assert read is not None  # passing over unknown words always reads
        events, sites = read
        answers: dict[str, Composed] = {}
        for event_key in dict.fromkeys(events):
            event = self.events[event_key]
            for site_key in dict.fromkeys(sites):
                answer = self.at_site(event, site_key)
                if answer is not None:
                    answers.setdefault(answer.term, answer)
            if event.term is not None and (not sites or event.anywhere):
                answers.setdefault(event.term, Composed(event.term))
        return list(answers.values())

    def only_events(self, keys: list[str]) -> bool:
        """Whether these word keys read as events alone, no site named ("pain")."""
        found = self.candidates(keys)
        return bool(found) and not self.names_a_site(keys)

    def only_sites(self, keys: list[str]) -> bool:
        """Whether these word keys name a body site and no event ("head"): a site alone
        says where, not what happened."""
        return self.names_a_site(keys) and not self.candidates(keys)

    def names_a_site(self, keys: list[str]) -> bool:
        """Whether these word keys name a body site of the lexicon."""
        return any(
            self.phrases.get(tuple(keys[at : at + length]), ("", ""))[0] == "site"
            for at in range(len(keys))
            for length in range(1, min(self.longest_phrase, len(keys) - at) + 1)
        )

    def at_site(self, event: Event, site_key: str) -> Composed | None:
        """The term of an event at a site: its own, a broader site's it is one of, the
        nearest enclosing site's (with a note), or the event's own when it holds
        anywhere."""
        term = self._own_or_broader(event.key, site_key, set())
        if term is not None:
            return Composed(term)
        site = self.sites[site_key]
        enclosing = site.part_of
        seen = {site_key}
        while enclosing is not None and enclosing not in seen:
            seen.add(enclosing)
            term = self._own_or_broader(event.key, enclosing, set())
            if term is not None:
                note = (
                    f"No term for {event.name} in {site.name}; "
                    f"coded to the nearest site term, {term}."
                )
                return Composed(term, note)
            enclosing = self.sites[enclosing].part_of
        if event.anywhere and event.term is not None:
            return Composed(event.term)
        return None

    def _own_or_broader(self, event_key: str, site_key: str, seen: set[str]) -> str | None:
        if site_key in seen:
            return None
        seen.add(site_key)
        term = self.site_terms.get((event_key, site_key))
        if term is not None:
            return term
        for broader in self.sites[site_key].is_a:
            term = self._own_or_broader(event_key, broader, seen)
            if term is not None:
                return term
        return None


@lru_cache(maxsize=1)
def shipped_lexicon() -> Lexicon:
    """The lexicon shipped with the terminology, read once per process."""
    data = json.loads(TERMINOLOGY_PATH.read_text(encoding="utf-8"))
    return Lexicon.from_data(data.get("coder"))
