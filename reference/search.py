"""An in-memory index over every name, synonym and lay phrase of the terminology.

Search is ranked: a term's own name first, then a synonym, then a lay phrase,
then names that start with the query, then names that contain it, then names
within a typo or two of it. No Django import: the index is built from plain
rows, so it can be benchmarked and tested alone.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from rapidfuzz import fuzz, process

from .normalize import compact, normalize


class Tier(IntEnum):
    EXACT_NAME = 0
    EXACT_SYNONYM = 1
    EXACT_LAY = 2
    PREFIX = 3
    WORD_PREFIX = 4
    CONTAINS = 5
    FUZZY = 6


_EXACT_TIER = {"name": Tier.EXACT_NAME, "synonym": Tier.EXACT_SYNONYM, "lay": Tier.EXACT_LAY}
_KIND_ORDER = {"name": 0, "synonym": 1, "lay": 2}
FUZZY_CUTOFF = 82.0


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


class TermIndex:
    def __init__(self, rows: Iterable[NameRow]) -> None:
        self.rows = list(rows)
        self.spaced = [normalize(r.text) for r in self.rows]
        self.keys = [compact(k) for k in self.spaced]
        self.words = [k.split() for k in self.spaced]
        self.by_key: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            self.by_key.setdefault(key, []).append(i)

    def __len__(self) -> int:
        return len(self.rows)

    def exact(self, text: str) -> list[NameRow]:
        """The rows whose name is this text, whatever its spelling, best kind first."""
        hits = [self.rows[i] for i in self.by_key.get(compact(normalize(text)), [])]
        return sorted(hits, key=lambda r: _KIND_ORDER[r.kind])

    def search(self, text: str, limit: int = 10) -> list[Match]:
        spaced = normalize(text)
        key = compact(spaced)
        if not key:
            return []
        q_words = spaced.split()
        best: dict[int, tuple[Tier, float, int]] = {}

        def offer(i: int, tier: Tier, score: float) -> None:
            term_id = self.rows[i].term_id
            rank = (tier, -score, _KIND_ORDER[self.rows[i].kind])
            current = best.get(term_id)
            if current is None or rank < (
                current[0],
                -current[1],
                _KIND_ORDER[self.rows[current[2]].kind],
            ):
                best[term_id] = (tier, score, i)

        for i in self.by_key.get(key, []):
            offer(i, _EXACT_TIER[self.rows[i].kind], 100.0)
        for i, row_key in enumerate(self.keys):
            if row_key == key:
                continue
            if row_key.startswith(key):
                offer(i, Tier.PREFIX, 100.0 * len(key) / len(row_key))
            elif _words_start(q_words, self.words[i]):
                offer(i, Tier.WORD_PREFIX, 100.0 * len(key) / len(row_key))
            elif len(key) >= 3 and key in row_key:
                offer(i, Tier.CONTAINS, 100.0 * len(key) / len(row_key))
        if len(best) < limit and len(key) >= 4:
            for _, score, i in process.extract(
                key, self.keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=limit * 3
            ):
                offer(i, Tier.FUZZY, float(score))
            if len(best) < limit:
                for _, score, i in process.extract(
                    spaced,
                    self.spaced,
                    scorer=fuzz.partial_ratio,
                    score_cutoff=FUZZY_CUTOFF + 6,
                    limit=limit * 3,
                ):
                    if len(self.spaced[i]) >= len(spaced):
                        offer(i, Tier.FUZZY, float(score) - 10.0)
        ranked = sorted(
            best.values(),
            key=lambda b: (
                b[0],
                -b[1],
                _KIND_ORDER[self.rows[b[2]].kind],
                self.rows[b[2]].term_name,
            ),
        )
        return [self._match(i, tier, score) for tier, score, i in ranked[:limit]]

    def _match(self, i: int, tier: Tier, score: float) -> Match:
        row = self.rows[i]
        return Match(
            row.term_id, row.term_name, row.soc, row.is_group, row.text, row.kind, tier, score
        )


def _words_start(query_words: list[str], words: list[str]) -> bool:
    """Every query word starts some word of the name ("retinal haem" -> retinal haemorrhage)."""
    return all(any(w.startswith(q) for w in words) for q in query_words)
