"""import_meddra on a generated release the size of a real one (made-up names and codes).

    python bench/meddra.py [--pts 25000] [--llts 80000] [--keep]

Writes a MedAscii folder in the exact layout (27 SOCs, about 340 HLGTs and 1,740 HLTs,
the PTs, the LLTs (one in ten not current), mdhier with a secondary path for one PT in
three, and an SMQ of 500 terms), migrates a database (which loads the shipped terminology),
then measures:
  1. reading the release (reference.meddra.release_read);
  2. the first import (every PT new or matched, every current LLT a name), its SQL queries;
  3. the same release again (it must change nothing);
  4. a newer release (2% of LLTs retired, 1% added, 1% of PTs moved to another SOC);
  5. the peak Python memory of read + first import (tracemalloc, a separate pass on a
     fresh database: tracing slows Python) and the process's peak resident memory.
Runs on a fresh SQLite file under var/ unless DATABASE_URL names a database, which is
then emptied (flush) before each pass: never point it at a database whose data you need.
"""

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SQLITE = ROOT / "var" / "bench_meddra.sqlite3"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{SQLITE}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_BROKER_URL", "")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from reference.meddra import release_read  # noqa: E402
from reference.models import Term, TermName  # noqa: E402
from reference.services import meddra_import  # noqa: E402

T = TypeVar("T")
SYLLABLES = [
    "ka",
    "zo",
    "ri",
    "mu",
    "te",
    "lo",
    "fa",
    "ne",
    "pi",
    "su",
    "do",
    "ra",
    "vi",
    "ko",
    "bel",
    "tar",
    "gin",
    "mos",
    "pul",
    "rex",
]


def made_up(rng: random.Random, words: int) -> str:
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(words)
    ).capitalize()


def line(*fields: object) -> str:
    return "".join(f"{f}$" for f in fields) + "\r\n"


def generate(folder: Path, *, pts: int, llts: int, version: str, newer: bool) -> Path:
    rng = random.Random(17)
    med = folder / "MedAscii"
    med.mkdir(parents=True)
    socs = [f"{80000000 + i:08d}" for i in range(27)]
    hlgts = [f"{81000000 + i:08d}" for i in range(340)]
    hlts = [f"{82000000 + i:08d}" for i in range(1740)]
    # A few PT codes are the shipped terminology's own, so that codes match too.
    shipped = sorted(
        {c for c in Term.objects.exclude(meddra_code="").values_list("meddra_code", flat=True)}
    )[:600]
    pt_codes = shipped + [f"{83000000 + i:08d}" for i in range(pts - len(shipped))]
    pt_names = {c: f"{made_up(rng, rng.randint(1, 3))} {i}" for i, c in enumerate(pt_codes)}
    pt_soc = {c: rng.choice(socs) for c in pt_codes}
    hlt_of = {c: rng.choice(hlts) for c in pt_codes}
    llt_rows: list[tuple[str, str, str, bool]] = [(c, pt_names[c], c, True) for c in pt_codes]
    for i in range(llts - pts):
        pt = rng.choice(pt_codes)
        llt_rows.append((f"{85000000 + i:08d}", f"{made_up(rng, 3)} {i}", pt, rng.random() > 0.1))
    if newer:
        rng2 = random.Random(18)
        for c in rng2.sample(pt_codes, len(pt_codes) // 100):
            pt_soc[c] = rng2.choice(socs)
        retire = set(rng2.sample(range(pts, len(llt_rows)), len(llt_rows) // 50))
        llt_rows = [(c, n, p, cur and i not in retire) for i, (c, n, p, cur) in enumerate(llt_rows)]
        for i in range(len(llt_rows) // 100):
            llt_rows.append(
                (
                    f"{87000000 + i:08d}",
                    f"Newer {made_up(rng2, 2)} {i}",
                    rng2.choice(pt_codes),
                    True,
                )
            )
    files = {
        "meddra_release.asc": [line(version, "English", "", "", "")],
        "soc.asc": [line(c, f"{made_up(rng, 3)} disorders", "Zz", *[""] * 7) for c in socs],
        "hlgt.asc": [line(c, made_up(rng, 2), *[""] * 7) for c in hlgts],
        "hlt.asc": [line(c, made_up(rng, 3), *[""] * 7) for c in hlts],
        "pt.asc": [line(c, pt_names[c], "", pt_soc[c], *[""] * 7) for c in pt_codes],
        "llt.asc": [line(c, n, p, *[""] * 6, "Y" if cur else "N", "") for c, n, p, cur in llt_rows],
        "soc_hlgt.asc": [line(rng.choice(socs), c) for c in hlgts],
        "hlgt_hlt.asc": [line(rng.choice(hlgts), c) for c in hlts],
        "hlt_pt.asc": [line(hlt_of[c], c) for c in pt_codes],
        "mdhier.asc": [],
        "smq_list.asc": [line("20000001", "Bench events (SMQ)", 1, "", "", "", version, "A", "N")],
        "smq_content.asc": [
            line("20000001", c, 4, rng.choice([1, 2]), "A", 0, "A", version, version)
            for c in rng.sample(pt_codes, 500)
        ],
    }
    for c in pt_codes:
        path = [c, hlt_of[c], "81000000", pt_soc[c], pt_names[c], "h", "g", "s", "Zz", ""]
        files["mdhier.asc"].append(line(*path, pt_soc[c], "Y"))
        if int(c) % 3 == 0:
            other = socs[(socs.index(pt_soc[c]) + 1) % len(socs)]
            files["mdhier.asc"].append(
                line(c, hlt_of[c], "81000000", other, *path[4:], pt_soc[c], "N")
            )
    for name, rows in files.items():
        (med / name).write_text("".join(rows), encoding="utf-8")
    return folder


def timed(label: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        value = fn()
    print(f"{label}: {time.perf_counter() - start:.2f} s, {len(queries)} queries")
    return value


def fresh_database() -> None:
    if connection.vendor == "sqlite":
        connection.close()
        SQLITE.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    if connection.vendor != "sqlite":
        # Emptied, then the shipped terminology loaded again (flush runs post_migrate).
        call_command("flush", interactive=False, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pts", type=int, default=25_000)
    parser.add_argument("--llts", type=int, default=80_000)
    parser.add_argument("--keep", action="store_true", help="Keep the generated release.")
    args = parser.parse_args()
    if connection.vendor != "sqlite":
        print("on", connection.vendor, connection.settings_dict["NAME"])
    fresh_database()
    work = Path(tempfile.mkdtemp(prefix="meddra_bench_"))
    try:
        base = generate(work / "base", pts=args.pts, llts=args.llts, version="90.0", newer=False)
        newer = generate(work / "newer", pts=args.pts, llts=args.llts, version="90.1", newer=True)
        print(f"release: {args.pts} PTs, {args.llts} LLTs under {work}")
        terms, names = Term.objects.count(), TermName.objects.count()
        print(f"before: {terms} terms, {names} names")
        release = timed("read", lambda: release_read(base))
        result = timed(
            "first import",
            lambda: meddra_import(release=release, imported_by="bench", smqs=["Bench events"]),
        )
        print(
            f"  {len(result.terms_coded)} terms coded, {len(result.terms_new)} new terms, "
            f"{result.names_added} names added, {result.names_skipped} skipped, "
            f"SMQ group {result.groups[0].members} members"
        )
        again = timed(
            "same release again", lambda: meddra_import(release=release, imported_by="bench")
        )
        print(f"  changed: {again.changed}")
        release2 = release_read(newer)
        update = timed(
            "newer release", lambda: meddra_import(release=release2, imported_by="bench")
        )
        print(
            f"  {len(update.codes_changed)} codes changed, {update.names_added} names added, "
            f"{update.names_removed} removed"
        )
        print(f"after: {Term.objects.count()} terms, {TermName.objects.count()} names")

        fresh_database()
        tracemalloc.start()
        meddra_import(release=release_read(base), imported_by="bench")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"peak Python memory of read + first import: {peak / 2**20:.0f} MB")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory: {rss:.0f} MB")
    finally:
        if args.keep:
            print("kept", work)
        else:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
