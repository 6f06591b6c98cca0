"""The coder and term search on everyday words: accuracy on the coding benchmark and
search latency with 10,000 learned names added.

    python bench/coding.py            # no database: the index is built from the shipped JSON
    python bench/coding.py -v         # ... and each phrase whose first result is wrong
    python bench/coding.py -u         # ... and each phrase the coder leaves to an officer

Accuracy: for each phrase of tests/data/coding_phrases.csv, top-1 is whether the first
search result is one of its acceptable terms, top-5 whether one of the first five is;
"coded" is how often the coder alone gives an acceptable term, "wrong" how often it
gives another. Printed for the development half (the one the lexicon was tuned on) and
the held-out half. Latency: term search (which runs the coder) and the coder alone, per
query, over the benchmark phrases and autocomplete prefixes of them, on the shipped
terminology plus 10,000 synthetic learned names. Targets: held-out top-1 >= 90%,
top-5 >= 97%; search p50 < 5 ms, p99 < 20 ms.
"""

import csv
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reference.coding import Lexicon  # noqa: E402
from reference.normalize import name_key  # noqa: E402
from reference.search import NameRow, TermIndex  # noqa: E402

TERMINOLOGY = ROOT / "reference" / "data" / "terminology.json"
PHRASES = ROOT / "tests" / "data" / "coding_phrases.csv"
LEARNED = 10_000


def shipped_rows(data: dict) -> list[NameRow]:
    """The index rows the loader makes of the shipped terminology (one per term and key)."""
    rows: list[NameRow] = []
    records = [(g, True) for g in data["groups"]] + [(t, False) for t in data["terms"]]
    for term_id, (record, is_group) in enumerate(records, start=1):
        seen: set[str] = set()
        names = [(record["name"], "name")]
        names += [(s, "synonym") for s in record["synonyms"]]
        names += [(s, "lay") for s in record["lay"]]
        for text, kind in names:
            key = name_key(text)
            if key and key not in seen:
                seen.add(key)
                rows.append(NameRow(term_id, record["name"], record["soc"], is_group, text, kind))
    return rows


def group_members(data: dict) -> dict[int, list[int]]:
    """Each group's term id -> its members' term ids, numbered as shipped_rows numbers them."""
    ids = {r["name"]: n for n, r in enumerate(data["groups"] + data["terms"], start=1)}
    members: dict[int, list[int]] = {}
    for term in data["terms"]:
        for group in term["groups"]:
            members.setdefault(ids[group], []).append(ids[term["name"]])
    return members


def learned_rows(rows: list[NameRow], n: int, seed: int = 15) -> list[NameRow]:
    """n distinct learned names an officer might have taught: a qualifier, a few words
    of a real name and a place or time, coded to that name's term."""
    rng = random.Random(seed)
    terms = [r for r in rows if r.kind == "name" and not r.is_group]
    qualifiers = ["mild", "bad", "sudden", "ongoing", "on and off", "really", "slight", "new"]
    tails = ["after dose", "at night", "since cycle 2", "left side", "right side", "day 3",
             "after infusion", "when walking", "in the morning", "for two days"]  # fmt: skip
    made: list[NameRow] = []
    seen: set[str] = set()
    while len(made) < n:
        row = rng.choice(terms)
        text = (
            f"{rng.choice(qualifiers)} {row.text.lower()} {rng.choice(tails)} {rng.randrange(1000)}"
        )
        if name_key(text) in seen:
            continue
        seen.add(name_key(text))
        made.append(NameRow(row.term_id, row.term_name, row.soc, False, text, "learned"))
    return made


def benchmark() -> list[tuple[str, set[str], str]]:
    with PHRASES.open(encoding="utf-8", newline="") as handle:
        return [
            (r["phrase"], set(r["acceptable"].split("|")), r["split"])
            for r in csv.DictReader(handle)
        ]


def accuracy(index: TermIndex, phrases: Iterable[tuple[str, set[str], str]], split: str) -> dict:
    chosen = [(p, ok) for p, ok, s in phrases if s == split]
    top1 = top5 = coded = wrong = 0
    misses = []
    uncoded = []
    for phrase, ok in chosen:
        names = [m.name for m in index.search(phrase, limit=5)]
        top1 += bool(names) and names[0] in ok
        top5 += bool(ok.intersection(names))
        answer = index.code(phrase)
        coded += answer is not None and answer.name in ok
        wrong += answer is not None and answer.name not in ok
        if answer is None:
            uncoded.append(f"{phrase!r} -> first {names[:1]} (want {' | '.join(sorted(ok))})")
        elif answer.name not in ok:
            misses.append(f"CODED WRONG {phrase!r} -> {answer.name}")
        if not names or names[0] not in ok:
            misses.append(f"{phrase!r} -> {names[:3]} (want {' | '.join(sorted(ok))})")
    n = len(chosen)
    return {"n": n, "top1": top1 / n, "top5": top5 / n, "coded": coded / n,
            "wrong": wrong / n, "misses": misses, "uncoded": uncoded}  # fmt: skip


def prefixes(phrases: Iterable[str]) -> list[str]:
    """What the nurses' autocomplete sends while a phrase is typed: every third length."""
    return [p[:k] for p in phrases for k in range(3, len(p), 3)]


def timed(call, queries: list[str]) -> list[float]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        call(q)
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)


def pct(times: list[float], p: float) -> float:
    return times[min(len(times) - 1, int(len(times) * p))]


def main() -> None:
    verbose = "-v" in sys.argv
    show_uncoded = "-u" in sys.argv
    data = json.loads(TERMINOLOGY.read_text(encoding="utf-8"))
    lexicon = Lexicon.from_data(data.get("coder"))
    rows = shipped_rows(data)
    phrases = benchmark()
    members = group_members(data)
    index = TermIndex(rows, lexicon, members)
    for split in ("development", "held_out"):
        if not any(s == split for _, _, s in phrases):
            print(f"{split}: no phrases")
            continue
        result = accuracy(index, phrases, split)
        print(
            f"{split}: {result['n']} phrases, top-1 {result['top1']:.1%}, "
            f"top-5 {result['top5']:.1%}, coder right {result['coded']:.1%}, "
            f"coder wrong {result['wrong']:.1%}"
        )
        if verbose:
            for miss in result["misses"]:
                print("   miss", miss)
        if show_uncoded:
            for phrase in result["uncoded"]:
                print("   not coded", phrase)

    tracemalloc.start()
    started = time.perf_counter()
    big = TermIndex(rows + learned_rows(rows, LEARNED), lexicon, members)
    build_ms = (time.perf_counter() - started) * 1000
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    queries = [p for p, _, _ in phrases]
    typed = prefixes(queries)
    all_queries = queries + typed
    print(f"index: {len(big)} names ({LEARNED} learned), built in {build_ms:.0f} ms, "
          f"peak traced memory {peak / 1e6:.1f} MB")  # fmt: skip
    # The coder first, so that its typo corrections are measured before any is cached.
    for call, what in ((big.code, "coder"), (big.search, "search")):
        for qs, label in ((queries, "phrases"), (typed, "prefixes"), (all_queries, "all")):
            times = timed(call, qs)
            print(
                f"{what} over {label} ({len(qs)}): p50 {statistics.median(times):.2f} ms, "
                f"p99 {pct(times, 0.99):.2f} ms, max {times[-1]:.2f} ms"
            )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
