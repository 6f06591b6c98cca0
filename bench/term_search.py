"""Term search over the full terminology: median time per query over 1,000 varied queries.

    python bench/term_search.py            # on the configured database (SQLite by default)

Queries mix exact names, synonyms, lay phrases, prefixes, word prefixes,
British/American spellings and typos (a deleted, doubled or swapped letter).
Target: median under 20 ms.
"""

import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from reference.models import TermName  # noqa: E402
from reference.selectors import term_index, term_index_clear, term_search  # noqa: E402

AMERICAN = {
    "haem": "hem",
    "oedema": "edema",
    "anaem": "anem",
    "oesoph": "esoph",
    "diarrhoea": "diarrhea",
}


def typo(text: str, rng: random.Random) -> str:
    if len(text) < 5:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.choice(["delete", "double", "swap"])
    if kind == "delete":
        return text[:i] + text[i + 1 :]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]


def queries(n: int, seed: int = 20261129) -> list[str]:
    rng = random.Random(seed)
    names = list(TermName.objects.values_list("text", flat=True))
    result = []
    for _ in range(n):
        text = rng.choice(names)
        form = rng.choice(["exact", "prefix", "word", "spelling", "typo", "lower"])
        if form == "prefix":
            text = text[: max(3, len(text) // 2)]
        elif form == "word":
            text = " ".join(w[:4] for w in text.split()[:2])
        elif form == "spelling":
            for gb, us in AMERICAN.items():
                text = text.replace(gb, us).replace(us, gb) if rng.random() < 0.5 else text
        elif form == "typo":
            text = typo(text, rng)
        elif form == "lower":
            text = text.lower()
        result.append(text)
    return result


def main() -> None:
    call_command("migrate", verbosity=0)
    qs = queries(1000)
    started = time.perf_counter()
    index = term_index()
    build_ms = (time.perf_counter() - started) * 1000
    times = []
    found = 0
    for q in qs:
        t0 = time.perf_counter()
        matches = term_search(q=q, limit=10)
        times.append((time.perf_counter() - t0) * 1000)
        found += bool(matches)
    times.sort()
    # Memory in a second pass: tracing allocations slows Python down several times.
    tracemalloc.start()
    term_index_clear()
    for q in qs:
        term_search(q=q, limit=10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"terminology: {len(index)} names; index built in {build_ms:.1f} ms")
    print(f"queries: {len(qs)}, with at least one match: {found}")
    print(
        f"per query: median {statistics.median(times):.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.2f} ms, max {times[-1]:.2f} ms"
    )
    print(f"peak traced memory (index build and searches): {peak / 1e6:.1f} MB")
    print(f"peak resident memory of the process: {rss_mb:.0f} MB")
    print(f"database: {connection.vendor}")
    print("target: median < 20 ms:", "met" if statistics.median(times) < 20 else "NOT met")


if __name__ == "__main__":
    main()
