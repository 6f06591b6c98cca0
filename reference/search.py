"""An in-memory index over every name, synonym and lay phrase of the terminology.

Search is ranked: a term's own name first, then a synonym, then a lay phrase
(each equal to the query), then the term the coder reads the words as (an event at
a body site, "bleeding at the back of the eye"; everyday words in any order, with a
typo a word), then names having every word of the query as a
whole word in any order ("bleeding nose" finds "nose bleed", "AST" finds "AST
increased" before "Asthenia"), then names that start with the query, then
names with a word starting with each query word, then names that contain it,
then names within a typo or two of it. No Django import: the index is built from plain
rows, so it can be benchmarked and tested alone.
"""

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .coding import Lexicon, word_key
from .normalize import compact, normalize


class Tier(IntEnum):
    EXACT_NAME = 0
    EXACT_SYNONYM = 1
    EXACT_LAY = 2
    CODED = 3  # the term the coder reads the words as, when no name is the query itself
    WHOLE_WORDS = 4  # every query word is a word of the name, in any order
    PREFIX = 5  # the name starts with the query
    WORD_PREFIX = 6  # every query word starts a word of the name, in any order
    CONTAINS = 7
    FUZZY = 8
    # When nothing above fills the list: the terms the words the coder knows name, then
    # names sharing the most words that say something with the query.
    SOME_WORDS = 9


# A name an officer's coding taught counts as a synonym: it was decided for these words.
_EXACT_TIER = {
    "name": Tier.EXACT_NAME,
    "learned": Tier.EXACT_SYNONYM,
    "synonym": Tier.EXACT_SYNONYM,
    "meddra": Tier.EXACT_SYNONYM,
    "lay": Tier.EXACT_LAY,
}
_KIND_ORDER = {"name": 0, "learned": 1, "synonym": 2, "meddra": 3, "lay": 4}
# Close spellings: the whole name within a typo or two of the query ...
FUZZY_CUTOFF = 82.0
# ... or a part of a longer name very close to a query long enough to say so.
PARTIAL_CUTOFF = 93.0
PARTIAL_MIN_LENGTH = 8
# A reporter's word that no name or lexicon phrase has is read as the known word within
# one edit of it (two for a longer word: "headake" is "headache").
TYPO_MIN_LENGTH = 4
TYPO_TWO_EDITS_LENGTH = 7
_CORRECTIONS_KEPT = 20_000
# "?sepsis", "? PE": a nurse's query, a diagnosis not yet made.
_QUERY = re.compile(r"\?(?=\s*[^\W\d_])")
# Where a phrase's partial reading ranks when the coder is not sure of it: after the
# names containing the whole phrase, before its close spellings.
_READ = float(Tier.CONTAINS) + 0.5
_SHARED = float(Tier.CONTAINS) + 0.6
# Names having every word once each typo is corrected rank just after those having the
# words as written.
_CORRECTED = float(Tier.WHOLE_WORDS) + 0.5
# A group this small has its members offered right after it in search.
SMALL_GROUP = 4
# The coder looks for a run of words naming a term in phrases up to this long.
MAX_PART_WORDS = 10

# Word endings that make no difference to a match: "bleeding" meets "bleed",
# "prolongation" meets "prolonged", "neutropenic" meets "neutropenia".
_SUFFIXES = (
    "ations", "ation", "ness", "ings", "ing", "ies", "ied", "ed", "es", "ic", "ia", "al",
    "s", "y", "e",
)  # fmt: skip
# Words that say the same of a finding: "ALT raised" is "ALT increased".
_EQUIVALENT_STEMS: tuple[frozenset[str], ...] = (
    frozenset({"increas", "rais", "elevat", "high"}),
    frozenset({"decreas", "low", "reduc"}),
)


def stem(word: str) -> str:
    """A word without an inflectional ending; short words stay as they are."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _alternatives(word: str) -> frozenset[str]:
    stemmed = stem(word)
    for group in _EQUIVALENT_STEMS:
        if stemmed in group:
            return group
    return frozenset({stemmed})


def _measure_word(word: str) -> bool:
    """Whether a word says only how much ("low", "raised"), not of what ("low plts")."""
    return _alternatives(word) in _EQUIVALENT_STEMS


# Characters counted to tell quickly which names may be a close spelling of a query:
# each letter, each digit and the space on its own, every other character together.
_COUNTED = "abcdefghijklmnopqrstuvwxyz0123456789 "
_CHAR_PLACE = np.full(128, len(_COUNTED), dtype=np.int64)
_CHAR_PLACE[[ord(c) for c in _COUNTED]] = np.arange(len(_COUNTED))


def _letter_counts(texts: Sequence[str]) -> NDArray[np.int64]:
    """How many times each counted character is in each text, one row a text."""
    size = len(_COUNTED) + 1
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    places = np.where(codes < 128, _CHAR_PLACE[np.minimum(codes, 127)], size - 1)
    rows = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
    counts = np.bincount(rows * size + places, minlength=len(texts) * size)
    return counts.reshape(len(texts), size)


@dataclass(frozen=True, slots=True)
class NameRow:
    term_id: int
    term_name: str
    soc: str
    is_group: bool
    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class Match:
    term_id: int
    name: str
    soc: str
    is_group: bool
    matched: str
    kind: str
    tier: Tier
    score: float


@dataclass(frozen=True, slots=True)
class Coded:
    """What the coder made of a reporter's words: one term it is confident of, and what it
    says of the choice (empty when the words name the term outright)."""

    term_id: int
    name: str
    soc: str
    is_group: bool
    note: str = ""


class TermIndex:
    def __init__(
        self,
        rows: Iterable[NameRow],
        lexicon: Lexicon | None = None,
        members: Mapping[int, Sequence[int]] | None = None,
    ) -> None:
        """The index of these name rows; members, a group's term id -> its members' term
        ids, lets search offer the members of a small group after it."""
        self.rows = list(rows)
        self.lexicon = lexicon or Lexicon()
        self.members = {group: tuple(found) for group, found in (members or {}).items()}
        self.spaced = [normalize(r.text) for r in self.rows]
        self.keys = [compact(k) for k in self.spaced]
        self.words = [k.split() for k in self.spaced]
        self.by_key: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            self.by_key.setdefault(key, []).append(i)
        # Every key in one text, one a line, with where each starts: a name containing the
        # query is found by the string search of that text, not by a loop over the names
        # (a key is letters and digits, so no match runs from one key into the next).
        self._keys_text = "\n".join(self.keys)
        self._key_starts: list[int] = []
        at = 0
        for key in self.keys:
            self._key_starts.append(at)
            at += len(key) + 1
        # Rows by the stem of each of their words, and every word with its rows.
        self.by_stem: dict[str, set[int]] = {}
        by_word: dict[str, set[int]] = {}
        for i, words in enumerate(self.words):
            for word in words:
                self.by_stem.setdefault(stem(word), set()).add(i)
                by_word.setdefault(word, set()).add(i)
        self.vocabulary = sorted(by_word)
        self.word_rows = [by_word[w] for w in self.vocabulary]
        self._kind_rank = [_KIND_ORDER[r.kind] for r in self.rows]
        self.term_row: dict[int, int] = {}
        for i, row in enumerate(self.rows):
            if row.kind == "name":
                self.term_row.setdefault(row.term_id, i)
        # How telling a word is: the fewer terms have it, the more a name sharing it with
        # the query is likely to be what the reporter meant.
        total = len({r.term_id for r in self.rows}) + 1
        self.telling = {
            key: math.log(total / (1 + len({self.rows[i].term_id for i in found})))
            for key, found in self.by_stem.items()
        }
        # The coder's view: each term's own name, and the terms of each bag of words
        # that say something ("stools runny" is "runny stools").
        self.name_row: dict[str, int] = {}
        self.bags: dict[frozenset[str], set[int]] = {}
        # The terms whose names have each word that says something.
        self.key_terms: dict[str, set[int]] = {}
        self.content_size: list[int] = []
        for i, row in enumerate(self.rows):
            if row.kind == "name":
                self.name_row.setdefault(row.term_name, i)
            bag = frozenset(self.lexicon.content(self.words[i]))
            self.content_size.append(len(bag))
            if bag:
                self.bags.setdefault(bag, set()).add(i)
            for key in bag:
                self.key_terms.setdefault(key, set()).add(row.term_id)
        self.lexicon_keys = {key for phrase in self.lexicon.phrases for key in phrase}
        self.meaning_keys = {word_key(w) for w in self.lexicon.changes_meaning}
        # Known words for typo correction, the lexicon's first: a tie goes to them.
        lexicon_words = sorted(self.lexicon.vocabulary())
        lexicon_set = set(lexicon_words)
        self.spelling = lexicon_words + [w for w in self.vocabulary if w not in lexicon_set]
        self.known = set(self.spelling)
        self._completions = sorted(self.known)
        self.known_keys = {word_key(w) for w in self.spelling}
        self._corrections: dict[str, str] = {}
        # Close spellings are looked for among the shipped and site-added names only: a
        # learned name is a reporter's whole phrase, found by its words, and scanning
        # thousands of them (or a MedDRA release's tens of thousands of LLTs) with fuzzy
        # scorers would cost every search milliseconds.
        self.fuzzy_rows = [
            i for i, r in enumerate(self.rows) if r.kind not in {"learned", "meddra"}
        ]
        self.fuzzy_keys = [self.keys[i] for i in self.fuzzy_rows]
        self.fuzzy_spaced = [self.spaced[i] for i in self.fuzzy_rows]
        # A name has at most 200 characters, so each count fits a byte.
        self._fuzzy_letters = np.minimum(_letter_counts(self.fuzzy_spaced), 255).astype(np.uint8)
        self._fuzzy_lengths = np.array([len(k) for k in self.fuzzy_spaced])
        self._spelling_of_length: dict[tuple[int, int], list[str]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def exact(self, text: str) -> list[NameRow]:
        """The rows whose name is this text, whatever its spelling, best kind first. A text
        with no letter or digit names nothing."""
        key = compact(normalize(text))
        if not key:
            return []
        hits = [self.rows[i] for i in self.by_key.get(key, [])]
        return sorted(hits, key=lambda r: _KIND_ORDER[r.kind])

    def code(self, text: str) -> Coded | None:
        """The one term these words name with confidence, or None (the words then wait for
        an officer). Never a group: a group is not a reaction. In order: a name, synonym,
        learned name or lay phrase that is the text; the same with each typo corrected;
        a name with the same words that say something, in any order; an event at a body
        site of the coder's lexicon. A nurse's query ("?sepsis") is left to an officer:
        the diagnosis is not made."""
        return self._code(normalize(_QUERY.sub(" query ", text)).split())

    def _code(self, words: list[str]) -> Coded | None:
        if not words:
            return None
        answer = self._one_term(self.by_key.get("".join(words), []))
        if answer is not None:
            return answer
        expanded = self.lexicon.expand(words)
        if expanded != words:
            words = expanded
            answer = self._one_term(self.by_key.get("".join(words), []))
            if answer is not None:
                return answer
        if not words:
            return None
        answer = self._one_term(self._named_before_fillers(words))
        if answer is not None:
            return answer
        corrected = [self.correct(w) for w in words]
        said = ""
        if corrected != words:
            said = f"Read as {' '.join(corrected)!r}."
            answer = self._one_term(self.by_key.get("".join(corrected), []), said)
            if answer is not None:
                return answer
        answer = self._read(corrected, said)
        before = self.lexicon.before_clause_break(corrected)
        # The clause after the break says when, unless it names a finding of its own
        # ("fever while neutropenic" may be another term than the fever alone).
        if (
            answer is None
            and before is not None
            and self._read(words[len(before) + 1 :], "") is None
            and not self.lexicon.changes_meaning.intersection(words[len(before) + 1 :])
        ):
            answer = self._read(before, f"{said} Read {' '.join(before)!r}.".strip())
        return answer

    def _named_before_fillers(self, words: list[str]) -> list[int]:
        """The rows of a name that is the words before trailing fillers ("been sick three
        times today" is "been sick"; "burning up all night" is "burning up"): the name
        as written, whose own words a filler may be."""
        fillers = [w in self.lexicon.ignored or w.isdigit() for w in words]
        at = 0
        while at < len(words):
            for phrase in self.lexicon.ignored_phrases.get(words[at], ()):
                if tuple(words[at : at + len(phrase)]) == phrase:
                    fillers[at : at + len(phrase)] = [True] * len(phrase)
                    at += len(phrase) - 1
                    break
            at += 1
        for end in range(len(words) - 1, 0, -1):
            if not fillers[end]:
                break
            found = self.by_key.get("".join(words[:end]))
            if found:
                return found
        return []

    def _read(self, words: list[str], said: str) -> Coded | None:
        """The term of the words that say something: a name with the same words, in any
        order, or an event at a body site."""
        keys = self.lexicon.content(words)
        if not keys:
            return None
        answer = self._one_term(self.bags.get(frozenset(keys), ()), said)
        if answer is not None:
            return answer
        composed = self.lexicon.compose(keys)
        if composed is not None and composed.term in self.name_row:
            note = " ".join(n for n in (said, composed.note) if n)
            return self._one_term([self.name_row[composed.term]], note)
        return self._read_known(words, keys, said) or self._read_part(keys, said)

    def _read_part(self, keys: list[str], said: str) -> Coded | None:
        """The one term a run of the words names when every other word says nothing
        else: it is a word of that term's names only ("confused and muddled", "hair
        falling out in clumps"), or a word no name or phrase has, unless the run is an
        event alone (the unknown word may be its site) or the word may change the
        meaning."""
        if len(keys) > MAX_PART_WORDS:
            return None
        spans: dict[int, tuple[Coded, set[int], bool]] = {}
        for start in range(len(keys)):
            for end in range(start + 1, len(keys) + 1):
                if end - start == len(keys):
                    continue
                span = keys[start:end]
                coded = self._one_term(self.bags.get(frozenset(span), ()))
                if coded is None:
                    composed = self.lexicon.compose(span)
                    if composed is None or composed.term not in self.name_row:
                        continue
                    coded = self._one_term([self.name_row[composed.term]], composed.note)
                    if coded is None:
                        continue
                event_alone = self.lexicon.only_events(span)
                found = spans.setdefault(coded.term_id, (coded, set(), True))
                found[1].update(range(start, end))
                spans[coded.term_id] = (found[0], found[1], found[2] and event_alone)
        answers = []
        for term_id, (coded, covered, event_alone) in spans.items():
            rest = [keys[at] for at in range(len(keys)) if at not in covered]
            if any(k in self.meaning_keys for k in keys):
                continue
            unknown = [k for k in rest if k not in self.key_terms and k not in self.lexicon_keys]
            if unknown and event_alone:
                continue
            if unknown and all(_measure_word(keys[at]) for at in covered):
                continue  # "low" or "raised" alone: the unknown word may say of what
            if unknown and self._site_alone([keys[at] for at in sorted(covered)], coded.name):
                continue
            if all(k in unknown or self.key_terms.get(k) == {term_id} for k in rest):
                answers.append(coded)
        if len(answers) != 1:
            return None
        coded = answers[0]
        note = " ".join(n for n in (said, coded.note) if n)
        return Coded(coded.term_id, coded.name, coded.soc, coded.is_group, note)

    def _read_known(self, words: list[str], keys: list[str], said: str) -> Coded | None:
        """The term of the words that say something when the rest are words no name or
        lexicon phrase has ("fainted in the shower", "hair falling out in clumps"): they
        name no finding, so they cannot point to another term. Not when one of them may
        change what the rest say ("nearly passed out"), and not when what is left is an
        event alone: an unknown word there may be the site ("pain in the sternum")."""
        unknown = [w for w in words if w not in self.known and word_key(w) not in self.known_keys]
        if not unknown or any(w in self.lexicon.changes_meaning for w in unknown):
            return None
        dropped = {word_key(w) for w in unknown}
        known = [k for k in keys if k not in dropped]
        if not known or self.lexicon.only_events(known):
            return None
        if all(_measure_word(k) for k in known):
            return None  # "low" or "raised" alone: the unknown word may say of what
        passed = f"Passed over {' '.join(unknown)!r}."
        note = " ".join(n for n in (said, passed) if n)
        answer = self._one_term(self.bags.get(frozenset(known), ()), note)
        if answer is not None:
            return None if self._site_alone(known, answer.name) else answer
        composed = self.lexicon.compose(known)
        if composed is None or composed.term not in self.name_row:
            return None
        return self._one_term(
            [self.name_row[composed.term]], " ".join(n for n in (note, composed.note) if n)
        )

    def _site_alone(self, keys: list[str], name: str) -> bool:
        """Whether these words name only a body site, not the finding of the term they
        code to ("head" for Headache, where "vomit" is Vomiting's own word): with a word
        the coder does not know beside them, that word may say what happened there."""
        if not self.lexicon.only_sites(keys):
            return False
        own = {stem(w) for w in normalize(name).split()}
        return not all(stem(k) in own for k in keys)

    def _one_term(self, rows: Iterable[int], note: str = "") -> Coded | None:
        """The term of these rows when, at their best kind, they name one term that is
        not a group."""
        found = sorted(rows, key=lambda i: self._kind_rank[i])
        if not found:
            return None
        best = self._kind_rank[found[0]]
        terms = {self.rows[i].term_id for i in found if self._kind_rank[i] == best}
        row = self.rows[found[0]]
        if len(terms) != 1 or row.is_group:
            return None
        return Coded(row.term_id, row.term_name, row.soc, row.is_group, note)

    def correct(self, word: str) -> str:
        """The known word a reporter's word stands for: itself when known or short, else
        the closest known word within one edit (two for a long word), else itself."""
        if len(word) < TYPO_MIN_LENGTH or word in self.known or word_key(word) in self.known_keys:
            return word
        cached = self._corrections.get(word)
        if cached is not None:
            return cached
        edits = 2 if len(word) >= TYPO_TWO_EDITS_LENGTH else 1
        found = process.extract(
            word, self._spelling_near(len(word), edits), scorer=OSA.distance,
            score_cutoff=edits, limit=None,
        )  # fmt: skip
        # A reporter rarely mistypes the first letter: changing it costs one edit more
        # ("yelow" is "yellow", not "below"; "kitchen" is not "itches"). Then the fewest
        # edits, then the lexicon's word. Never a word the coder passes over: a typo would
        # then hide what the word said ("plts" is not "pts").
        corrected = min(
            (
                (f[1] + (f[0][0] != word[0]), f[2], f[0])
                for f in found
                if self.lexicon.content([f[0]])
            ),
            default=(0, 0, word),
        )
        if corrected[0] > edits:
            corrected = (0, 0, word)
        corrected_word = corrected[2]
        if len(self._corrections) < _CORRECTIONS_KEPT:
            self._corrections[word] = corrected_word
        return corrected_word

    def _spelling_near(self, length: int, edits: int) -> list[str]:
        """The known words, in their order, whose length is within these edits of this
        length: no other word is that few edits away."""
        near = self._spelling_of_length.get((length, edits))
        if near is None:
            near = [w for w in self.spelling if abs(len(w) - length) <= edits]
            self._spelling_of_length[(length, edits)] = near
        return near

    def _partial_candidates(self, spaced: str) -> list[int]:
        """The places in fuzzy_spaced of the names that may hold a part within
        PARTIAL_CUTOFF of the query (or the query such a part of them): at that score the
        shorter of the two shares at least 86% of its characters with the other."""
        query = np.minimum(_letter_counts([spaced])[0], 255).astype(np.uint8)
        shared = np.minimum(self._fuzzy_letters, query).sum(axis=1, dtype=np.int64)
        shorter = np.minimum(self._fuzzy_lengths, len(spaced))
        return np.flatnonzero(shared >= np.floor(0.86 * shorter)).tolist()

    def _complete(self, words: list[str], tries: int = 5) -> list[Coded]:
        """What the words code to with their last word completed to a known word, for the
        few shortest completions; only for two words or more, the last one unfinished."""
        last = words[-1] if len(words) >= 2 else ""
        if not last or last in self.known:
            return []
        at = bisect_left(self._completions, last)
        options: list[str] = []
        while at < len(self._completions) and self._completions[at].startswith(last):
            options.append(self._completions[at])
            at += 1
        found: dict[int, Coded] = {}
        for option in sorted(options, key=len)[:tries]:
            coded = self._code([*words[:-1], option])
            if coded is not None:
                found.setdefault(coded.term_id, coded)
        return list(found.values())

    def _rows_with_whole_words(self, q_words: list[str]) -> set[int]:
        found: set[int] | None = None
        for word in q_words:
            rows: set[int] = set()
            for alternative in _alternatives(word):
                rows |= self.by_stem.get(alternative, set())
            found = rows if found is None else found & rows
            if not found:
                return set()
        return found or set()

    def _rows_with_word_prefixes(self, q_words: list[str]) -> set[int]:
        found: set[int] | None = None
        for word in q_words:
            rows: set[int] = set()
            at = bisect_left(self.vocabulary, word)
            while at < len(self.vocabulary) and self.vocabulary[at].startswith(word):
                rows |= self.word_rows[at]
                at += 1
            found = rows if found is None else found & rows
            if not found:
                return set()
        return found or set()

    def _rows_containing(self, key: str) -> list[int]:
        """The rows whose key contains this key, each once, in order."""
        found: list[int] = []
        if not key:
            return found
        starts = self._key_starts
        at = self._keys_text.find(key)
        while at != -1:
            i = bisect_right(starts, at) - 1
            found.append(i)
            if i + 1 == len(starts):
                break
            at = self._keys_text.find(key, starts[i + 1])
        return found

    def search(self, text: str, limit: int = 10) -> list[Match]:
        """Best matches, best first: exact names, synonyms and lay phrases; then names
        having every query word (in any order); names starting with the query; names
        with a word starting with each query word; names containing it; close
        spellings. Within a tier, the name the query covers most (the shortest) first.
        """
        spaced = normalize(text)
        key = compact(spaced)
        if not key:
            return []
        q_words = spaced.split()
        # term id -> (place in the ranking, tier shown, score, kind rank, row)
        best: dict[int, tuple[float, Tier, float, int, int]] = {}

        def offer(i: int, tier: Tier, score: float, place: float | None = None) -> None:
            term_id = self.rows[i].term_id
            at = float(tier) if place is None else place
            rank = (at, -score, self._kind_rank[i], i)
            current = best.get(term_id)
            if current is None or rank < (current[0], -current[2], current[3], current[4]):
                best[term_id] = (at, tier, score, self._kind_rank[i], i)

        def coverage(i: int) -> float:
            return 100.0 * len(key) / max(len(self.keys[i]), len(key))

        exact = set(self.by_key.get(key, []))
        expanded = self.lexicon.expand(q_words)
        if expanded != q_words:
            # Shorthand written out ("LFTs deranged") may be a name itself.
            exact |= set(self.by_key.get("".join(expanded), []))
        for i in exact:
            offer(i, _EXACT_TIER[self.rows[i].kind], 100.0)
        coded = self._code(q_words)
        if coded is not None and coded.term_id not in best and coded.name in self.name_row:
            offer(self.name_row[coded.name], Tier.CODED, 100.0)
        elif coded is None:
            # Words naming several sites ("bleeding from the nose and gums"): each term,
            # for the reader to choose.
            for candidate in self.lexicon.candidates(self.lexicon.content(expanded)):
                if candidate.term in self.name_row:
                    offer(self.name_row[candidate.term], Tier.CODED, 90.0)
            # Names of several terms with the words that say something ("feel sick" and
            # "been sick"): each, for the reader to choose.
            bag = frozenset(self.lexicon.content([self.correct(w) for w in expanded]))
            for i in self.bags.get(bag, ()):
                if not self.rows[i].is_group:
                    offer(i, Tier.CODED, 80.0 - self._kind_rank[i])
            # A nurse still typing: the last word may be unfinished ("bleeding at the back
            # of the ey"). The terms the words code to with it completed, shortest first.
            for rank, completed in enumerate(self._complete(q_words)):
                if completed.name in self.name_row:
                    offer(self.name_row[completed.name], Tier.CODED, 70.0 - rank)
        whole = self._rows_with_whole_words(q_words) - exact
        if expanded != q_words and expanded:
            whole |= self._rows_with_whole_words(expanded) - exact
        for i in whole:
            offer(i, Tier.WHOLE_WORDS, coverage(i))
        corrected = [self.correct(w) for w in expanded]
        if corrected != expanded:
            # A typo in a word: the names having every corrected word, as close spellings
            # ranked above the whole-name ones.
            for i in self._rows_with_whole_words(corrected) - exact - whole:
                offer(i, Tier.FUZZY, 100.0 + coverage(i), _CORRECTED)
        prefixed = self._rows_with_word_prefixes(q_words) - exact - whole
        for i in prefixed:
            tier = Tier.PREFIX if self.keys[i].startswith(key) else Tier.WORD_PREFIX
            offer(i, tier, coverage(i))
        if len(key) >= 3:
            for i in self._rows_containing(key):
                if i not in exact and i not in whole and i not in prefixed:
                    tier = Tier.PREFIX if self.keys[i].startswith(key) else Tier.CONTAINS
                    offer(i, tier, coverage(i))
        if len(best) < limit and len(key) >= 4:
            for _, score, at in process.extract(
                key, self.fuzzy_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=limit * 3
            ):
                offer(self.fuzzy_rows[at], Tier.FUZZY, float(score))
            if len(best) < limit and len(spaced) >= PARTIAL_MIN_LENGTH:
                places = self._partial_candidates(spaced)
                for _, score, at in process.extract(
                    spaced,
                    [self.fuzzy_spaced[place] for place in places],
                    scorer=fuzz.partial_ratio,
                    score_cutoff=PARTIAL_CUTOFF,
                    limit=limit * 3,
                ):
                    if len(self.fuzzy_spaced[places[at]]) >= len(spaced):
                        offer(self.fuzzy_rows[places[at]], Tier.FUZZY, float(score) - 10.0)
        keys = self.lexicon.content(corrected)
        # A phrase the coder is not sure of: what its words say in part is offered
        # whatever else filled the list, the lexicon's reading and the names sharing the
        # most telling words ranked just after the names having every word.
        phrase = coded is None and len(set(keys)) >= 2
        if keys and (phrase or len(best) < limit):
            self._offer_some_words(keys, corrected, offer, promote=phrase)
        ranked = sorted(
            best.values(),
            key=lambda b: (b[0], -b[2], b[3], self.rows[b[4]].term_name),
        )
        ranked = self._with_members(ranked)[:limit]
        if ranked and self.rows[ranked[0][4]].is_group and self.lexicon.names_a_site(keys):
            # Words naming a site are about that site: a group is never the first answer.
            first_term = next((b for b in ranked if not self.rows[b[4]].is_group), None)
            if first_term is not None:
                ranked.remove(first_term)
                ranked.insert(0, first_term)
        return [self._match(i, tier, score) for _, tier, score, _, i in ranked]

    def _with_members(
        self, ranked: list[tuple[float, Tier, float, int, int]]
    ) -> list[tuple[float, Tier, float, int, int]]:
        """The ranking with the members of a small group right after it ("LFTs deranged"
        finds Transaminases increased, then ALT and AST increased): a report names a
        member, not the group."""
        if not self.members:
            return ranked
        out: list[tuple[float, Tier, float, int, int]] = []
        placed: set[int] = set()
        by_term = {self.rows[b[4]].term_id: b for b in ranked}
        for entry in ranked:
            term_id = self.rows[entry[4]].term_id
            if term_id in placed:
                continue
            out.append(entry)
            placed.add(term_id)
            members = self.members.get(term_id, ())
            if not self.rows[entry[4]].is_group or len(members) > SMALL_GROUP:
                continue
            for member in members:
                if member in placed or member not in self.term_row:
                    continue
                row = self.term_row[member]
                own = (entry[0], Tier.SOME_WORDS, entry[2], self._kind_rank[row], row)
                out.append(by_term.get(member, own))
                placed.add(member)
        return out

    def _offer_some_words(
        self,
        keys: list[str],
        words: list[str],
        offer: Callable[[int, Tier, float, float | None], None],
        *,
        promote: bool,
    ) -> None:
        """Offer what the words say in part: the terms of the events and sites the coder
        reads among them, then the names sharing the most telling words with them (a word
        of a reporter's may stand for a name's word: "swollen" for oedema, "up" for
        increased), a group after the terms, as a report names a reaction. Promoted, they
        rank above the close spellings of the whole phrase."""
        read_place = _READ if promote else None
        for candidate in self.lexicon.partial_candidates(keys):
            if candidate.term in self.name_row:
                offer(self.name_row[candidate.term], Tier.SOME_WORDS, 200.0, read_place)
        query: dict[str, set[str]] = {}
        for key in dict.fromkeys(keys):
            if len(key) >= 3:
                query.setdefault(key, {key}).update(_alternatives(key))
        for word in words:
            related = self.lexicon.search_words.get(word, ())
            for name_word in related:
                query.setdefault(word_key(word), set()).update(_alternatives(stem(name_word)))
        count: Counter[int] = Counter()
        # A term's names together: which of the query's words they share, how tellingly.
        term_words: dict[int, dict[str, float]] = {}
        for query_key, stems in query.items():
            rows: dict[int, float] = {}
            for alternative in stems:
                telling = self.telling.get(alternative, 0.0)
                for i in self.by_stem.get(alternative, ()):
                    rows[i] = max(rows.get(i, 0.0), telling)
            count.update(rows.keys())
            for i, telling in rows.items():
                shared_by = term_words.setdefault(self.rows[i].term_id, {})
                shared_by[query_key] = max(shared_by.get(query_key, 0.0), telling)
        for i, shared in count.items():
            size = max(self.content_size[i], 1)
            if 2 * shared < size:
                # A long name sharing one word is a different finding ("blood clot" is
                # not Blood corticotrophin decreased).
                continue
            words_of_term = term_words[self.rows[i].term_id]
            score = 100.0 * min(shared, size) / size + 10.0 * sum(words_of_term.values())
            if self.rows[i].is_group:
                score -= 100.0
            place = _SHARED if promote and len(words_of_term) >= 2 else None
            offer(i, Tier.SOME_WORDS, score, place)

    def _match(self, i: int, tier: Tier, score: float) -> Match:
        row = self.rows[i]
        return Match(
            row.term_id, row.term_name, row.soc, row.is_group, row.text, row.kind, tier, score
        )
