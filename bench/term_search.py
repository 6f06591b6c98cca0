"""Term search over the full terminology: median time per query over 1,000 varied queries.

    python bench/term_search.py            # on the configured database (SQLite by default)
    python bench/term_search.py --meddra   # with a generated full-size MedDRA loaded
    python bench/term_search.py --meddra --profile 25   # and the 25 costliest functions

With --meddra, a made-up release the size of a real one (bench/meddra.py's writer:
25,000 PTs, 80,000 LLTs) is imported first into a SQLite file of its own under var/, or
into the database DATABASE_URL names, which is then emptied first: never point it at a
database whose data you need. A database already holding that release is used as it is.

Queries mix exact names, synonyms, lay phrases, prefixes, word prefixes,
British/American spellings and typos (a deleted, doubled or swapped letter).
Target: median under 20 ms.
"""

import argparse
import cProfile
import os
import pstats
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MEDDRA_SQLITE = ROOT / "var" / "bench_term_search_meddra.sqlite3"
MEDDRA_VERSION = "90.0"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meddra", action="store_true", help="Load a full-size MedDRA first.")
    parser.add_argument("--pts", type=int, default=25_000)
    parser.add_argument("--llts", type=int, default=80_000)
    parser.add_argument(
        "--profile", type=int, metavar="N", help="Profile the searches; print N functions."
    )
    return parser.parse_args()


ARGS = arguments()
if ARGS.meddra:
    MEDDRA_SQLITE.parent.mkdir(exist_ok=True)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{MEDDRA_SQLITE}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from reference.meddra import release_read  # noqa: E402
from reference.models import MeddraRelease, TermName  # noqa: E402
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


def meddra_load(*, pts: int, llts: int) -> None:
    """The generated release in the database: imported unless that release is there."""
    from bench.meddra import generate
    from reference.services import meddra_import

    if MeddraRelease.objects.filter(version=MEDDRA_VERSION).exists() and (
        TermName.objects.filter(kind="meddra").count() > llts // 2
    ):
        print(f"MedDRA {MEDDRA_VERSION} already loaded")
        return
    if connection.vendor != "sqlite" or TermName.objects.filter(kind="meddra").exists():
        # Emptied, then the shipped terminology loaded again (flush runs post_migrate).
        call_command("flush", interactive=False, verbosity=0)
    work = Path(tempfile.mkdtemp(prefix="term_search_meddra_"))
    try:
        started = time.perf_counter()
        folder = generate(work, pts=pts, llts=llts, version=MEDDRA_VERSION, newer=False)
        meddra_import(release=release_read(folder), imported_by="bench")
        print(
            f"MedDRA {MEDDRA_VERSION} ({pts} PTs, {llts} LLTs) imported in "
            f"{time.perf_counter() - started:.0f} s"
        )
    finally:
        shutil.rmtree(work)


def main() -> None:
    call_command("migrate", verbosity=0)
    if ARGS.meddra:
        meddra_load(pts=ARGS.pts, llts=ARGS.llts)
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
    if ARGS.profile:
        profile = cProfile.Profile()
        profile.enable()
        for q in qs:
            term_search(q=q, limit=10)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(ARGS.profile)
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
