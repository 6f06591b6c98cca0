"""Detection against the label on a large treated cohort, beside the one grouped query.

    python bench/detection.py [--patients 100000] [--reactions 1000000] [--drugs 10]
                              [--terms 800] [--slowest 8]

Runs on PostgreSQL (database pvtracker_bench_detection, created if missing;
DATABASE_URL may name another). Migrates (which loads the shipped terminology and
the seed drug's label), then generates, once per size, a cohort straight in the
database with COPY: every patient registered on one or two drugs (the seed drug
inotuzumab ozogamicin and synthetic drugs carrying a copy of its label), about one
report per two reactions, grades 1-5, some serious, some void or confirmed
duplicates. Drug k draws its reactions from the first ~k/10 of the terms, so the
drugs have from 80 to 800 terms with cases. Then, in one run:
  1. the single grouped SQL query counting distinct patients per drug and term over
     the counted reactions (best and median of 3), after VACUUM ANALYZE; beside it, the
     grouped queries alone of every drug's counts (cohort, cases per term, per grade and
     severity, per labelled group), the floor under a run;
  2. a full detection run in-process (run_execute), its SQL queries and time;
  3. the same run again on unchanged data (it must write nothing);
  4. each drug on its own (evaluate_drug, findings_apply): queries and time against
     its number of terms;
  5. the peak memory of a run (tracemalloc, in a separate pass: tracing slows Python).
Targets: the full run within 2x the grouped query's time; a constant number of
queries per drug whatever its number of terms.

One script kept whole, past the 400 lines product modules keep to: it is one experiment,
read from top to bottom, and nothing imports it.
"""

import argparse
import importlib
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pvtracker_bench_detection"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production-like: no query log kept by Django (CaptureQueriesContext forces its own).
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_BROKER_URL", "")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.services import account_create_or_update  # noqa: E402
from bench.harness import ensure_database  # noqa: E402
from reference.listedness import LabelListing  # noqa: E402
from reference.models import Drug, Label, LabelEntry, Term  # noqa: E402
from reference.services import entries_from_structured, label_import  # noqa: E402
from surveillance.models import DetectionRun, SignalEvaluation  # noqa: E402
from surveillance.rules import evaluate_drug  # noqa: E402
from surveillance.selectors import cohort_count  # noqa: E402
from surveillance.services import run_create, run_execute  # noqa: E402
from surveillance.signal_updates import findings_apply  # noqa: E402

SEED_LABEL = ROOT / "reference" / "data" / "labels" / "inotuzumab-ozogamicin.json"
SEED_DRUG = "inotuzumab ozogamicin"
SITE_CODE = "bench-detection"
SEED = 20261129

# The grouped query the run is compared with: distinct patients per drug and term over
# the counted reports (neither void nor a confirmed duplicate).
GROUPED_SQL = """
SELECT x.drug_id, x.term_id, COUNT(DISTINCT x.patient_id)
FROM reports_suspectreaction x
WHERE x.counted
GROUP BY x.drug_id, x.term_id
"""


def marker_text(args: argparse.Namespace) -> str:
    return (
        f"bench-detection patients={args.patients} reactions={args.reactions} "
        f"drugs={args.drugs} terms={args.terms} seed={SEED}"
    )


def marker_read() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('reports_reaction'::regclass, 'pg_class')")
        row = cursor.fetchone()
    return str(row[0]) if row and row[0] else ""


def bench_drugs(count: int) -> list[Drug]:
    """The seed drug and count - 1 synthetic drugs, each with a copy of the seed label."""
    import json

    data = json.loads(SEED_LABEL.read_text())
    seed = Drug.objects.get(name=SEED_DRUG)
    drugs = []
    for k in range(1, count):
        name = f"benchmab {k:02d}"
        copy = {**data, "drug": {"name": name, "slug": f"benchmab-{k:02d}", "brand_names": []}}
        result = label_import(
            drug_name=name,
            entries=entries_from_structured(copy),
            source=f"Copy of the seed label for the benchmark ({name})",
            drug_slug=f"benchmab-{k:02d}",
        )
        drugs.append(result.label.drug)
    # The seed drug last: it draws from every term.
    return [*drugs, seed]


def bench_terms(count: int, seed_drug: Drug) -> list[int]:
    """count non-group terms: the seed label's first (the most frequent), then the rest."""
    label = Label.objects.get(drug=seed_drug, is_current=True)
    labelled = list(
        LabelEntry.objects.filter(label=label, term__is_group=False)
        .order_by("position")
        .values_list("term_id", flat=True)
    )
    chosen = list(dict.fromkeys(labelled))[:count]
    others = (
        Term.objects.filter(is_group=False)
        .exclude(pk__in=chosen)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chosen += list(others[: count - len(chosen)])
    if len(chosen) < count:
        sys.exit(f"only {len(chosen)} non-group terms in the terminology; --terms {count}")
    return chosen


def copy_rows(table: str, columns: str, lines: Iterator[str], chunk: int) -> None:
    """COPY text rows (tab-separated, no escaping needed) into a table, chunk by chunk;
    columns are named separated by spaces."""
    sql = f"COPY {table} ({', '.join(columns.split())}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        buffer: list[str] = []
        for line in lines:
            buffer.append(line)
            if len(buffer) >= chunk:
                copy.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            copy.write("\n".join(buffer) + "\n")


def generate(args: argparse.Namespace) -> None:
    """The cohort straight in the database; replaces any cohort of another size."""
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    user, _, _ = account_create_or_update(
        username="bench-detection", role="nurse", site_name="Bench Detection Hospital"
    )
    site = user.site
    assert site is not None
    drugs = bench_drugs(args.drugs)
    terms = np.array(bench_terms(args.terms, drugs[-1]))
    drug_ids = [d.pk for d in drugs]
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE reports_suspectreaction, reports_reaction, reports_report, "
            "reports_exposure, reports_patient, "
            "surveillance_signalevaluation, surveillance_signal, surveillance_drugrun, "
            "surveillance_detectionrun CASCADE"
        )
    days = [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(365)]
    n_patients, n_reactions, n_drugs = args.patients, args.reactions, args.drugs

    with transaction.atomic():
        # Patients.
        copy_rows(
            "reports_patient",
            "site_id reference age sex created_at",
            (
                f"{site.pk}\tBD-{i:07d}\t{age}\t{sex}\t2026-01-01 00:00:00+00"
                for i, age, sex in zip(
                    range(n_patients),
                    rng.integers(18, 91, n_patients).tolist(),
                    rng.choice(["female", "male", "unknown"], n_patients).tolist(),
                    strict=True,
                )
            ),
            100_000,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM reports_patient WHERE site_id = %s ORDER BY id", [site.pk]
            )
            patient_ids = np.array([row[0] for row in cursor.fetchall()])

        # Registered exposures: every patient on one drug, 30% on a second one.
        first = rng.integers(0, n_drugs, n_patients)
        two = rng.random(n_patients) < 0.3
        second = (first[two] + rng.integers(1, n_drugs, int(two.sum()))) % n_drugs
        exp_patient = np.concatenate([patient_ids, patient_ids[two]])
        exp_drug = np.concatenate([first, second])
        copy_rows(
            "reports_exposure",
            "patient_id drug_id start_date dose route lot_number source from_report created_at",
            (
                f"{p}\t{drug_ids[d]}\t2026-01-01\t\t\t\tweb\tf\t2026-01-01 00:00:00+00"
                for p, d in zip(exp_patient.tolist(), exp_drug.tolist(), strict=True)
            ),
            100_000,
        )

        # Reports of 1-3 reactions, each for one exposure (a patient and one of its drugs).
        sizes = rng.integers(1, 4, n_reactions // 2 + 3)
        cut = int(np.searchsorted(np.cumsum(sizes), n_reactions))
        sizes = sizes[: cut + 1]
        sizes[-1] -= int(sizes.sum()) - n_reactions
        sizes = sizes[sizes > 0]
        n_reports = len(sizes)
        which = rng.integers(0, len(exp_patient), n_reports)
        rep_patient, rep_drug = exp_patient[which], exp_drug[which]
        rep_day = rng.integers(0, 365, n_reports)
        state = rng.random(n_reports)
        void = state < 0.005
        duplicate = np.where(
            (state >= 0.005) & (state < 0.01),
            "confirmed",
            np.where((state >= 0.01) & (state < 0.02), "suspected", ""),
        )
        copy_rows(
            "reports_report",
            "reference site_id reporter_id reporter_qualification received_at source patient_id "
            "drug_id dose route lot_number narrative expedited warnings version updated_at "
            "is_void void_reason duplicate_status",
            (
                f"B-{i:09d}\t{site.pk}\t{user.pk}\tnurse\t{days[day]} 12:00:00+00\tapi\t{p}\t"
                f"{drug_ids[d]}\t\t\t\t\tf\t[]\t1\t{days[day]} 12:00:00+00\t"
                f"{'t' if v else 'f'}\t{'bench: entered in error' if v else ''}\t{dup}"
                for i, p, d, day, v, dup in zip(
                    range(n_reports),
                    rep_patient.tolist(),
                    rep_drug.tolist(),
                    rep_day.tolist(),
                    void.tolist(),
                    duplicate.tolist(),
                    strict=True,
                )
            ),
            100_000,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM reports_report ORDER BY reference")
            report_ids = np.array([row[0] for row in cursor.fetchall()])

        # Reactions: drug k (0-based) draws from its first (k + 1) / n_drugs of the terms,
        # with a Zipf-like frequency (the labelled terms, first, are the commonest).
        rx_report = np.repeat(np.arange(n_reports), sizes)
        rx_drug = rep_drug[rx_report]
        rx_term = np.empty(n_reactions, dtype=np.int64)
        weights = 1.0 / np.arange(1, len(terms) + 1) ** 0.9
        for k in range(n_drugs):
            mask = rx_drug == k
            n_k = max(1, round(len(terms) * (k + 1) / n_drugs))
            cdf = np.cumsum(weights[:n_k])
            picks = np.searchsorted(cdf, rng.random(int(mask.sum())) * cdf[-1])
            rx_term[mask] = terms[np.minimum(picks, n_k - 1)]
        grade = rng.choice(np.arange(1, 6), n_reactions, p=[0.4, 0.3, 0.18, 0.09, 0.03])
        hospital = rng.random(n_reactions) < 0.15
        outcomes = np.array(["recovered", "recovering", "not_recovered", "unknown"])
        outcome = np.where(grade == 5, "fatal", outcomes[rng.integers(0, 4, n_reactions)])
        seriousness = np.where(
            grade == 5, '["death"]', np.where(hospital, '["hospitalization"]', "[]")
        )
        serious = (grade == 5) | hospital
        listed = rng.random(n_reactions) < 0.6
        onset = (rep_day[rx_report] - rng.integers(0, 15, n_reactions)).clip(0)
        counted = ~void & (duplicate != "confirmed")
        rx_drug_id = np.asarray(drug_ids)[rx_drug]
        copy_rows(
            "reports_reaction",
            "report_id drug_id patient_id counted term_id verbatim onset_date grade seriousness "
            "serious outcome causality listedness listedness_note added_in_version coding "
            "coding_note",
            (
                f"{r}\t{dr}\t{pa}\t{'t' if co else 'f'}\t{t}\t\t{days[o]}\t{g}\t{s}\t"
                f"{'t' if ser else 'f'}\t{out}\t\t{'listed' if li else 'unlisted'}\t\t1\tauto\t"
                for r, dr, pa, co, t, o, g, s, ser, out, li in zip(
                    report_ids[rx_report].tolist(),
                    rx_drug_id.tolist(),
                    rep_patient[rx_report].tolist(),
                    counted[rx_report].tolist(),
                    rx_term.tolist(),
                    onset.tolist(),
                    grade.tolist(),
                    seriousness.tolist(),
                    serious.tolist(),
                    outcome.tolist(),
                    listed.tolist(),
                    strict=True,
                )
            ),
            200_000,
        )
        # Each report names one suspect drug: one row per reaction for detection to read, as
        # the migration fills them for reports filed before a case could name several.
        fill = importlib.import_module("reports.migrations.0011_several_suspect_drugs").FILL
        with connection.cursor() as cursor:
            cursor.execute(fill)
            cursor.execute(f"COMMENT ON TABLE reports_reaction IS '{marker_text(args)}'")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"generated {n_patients:,} patients, {len(exp_patient):,} registered exposures, "
        f"{n_reports:,} reports, {n_reactions:,} reactions in "
        f"{time.perf_counter() - started:.1f} s (COPY, then ANALYZE)"
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


# The same count read through the reports, as it must be without the copies of drug,
# patient and counted status on the reactions: for context beside the target's query.
JOINED_SQL = """
SELECT r.drug_id, x.term_id, COUNT(DISTINCT r.patient_id)
FROM reports_reaction x
JOIN reports_report r ON r.id = x.report_id
WHERE NOT r.is_void AND r.duplicate_status <> 'confirmed'
GROUP BY r.drug_id, x.term_id
"""


def grouped_query(sql: str = GROUPED_SQL) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return len(cursor.fetchall())


def counts_the_rules_need() -> float:
    """Seconds spent in the grouped queries of cohort_count for every drug, and nothing
    else: the floor under a run, before any rule, signal or bookkeeping."""
    seconds = 0.0
    for drug in Drug.objects.order_by("pk"):
        listing = LabelListing(Label.objects.filter(drug=drug, is_current=True).first())
        seconds += timed(partial(cohort_count, drug, listing.groups))[0]
    return seconds


def surveillance_clear() -> None:
    """No signal left from an earlier benchmark: the first run finds everything anew."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE surveillance_signalevaluation, surveillance_signal, surveillance_drugrun, "
            "surveillance_detectionrun, surveillance_druglock CASCADE"
        )


def run_full() -> DetectionRun:
    return run_execute(run_create(trigger="command_line"))


def short(sql: str, width: int = 150) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--reactions", type=int, default=1_000_000)
    parser.add_argument("--drugs", type=int, default=10)
    parser.add_argument("--terms", type=int, default=800)
    parser.add_argument("--slowest", type=int, default=8, help="slowest queries of the run")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    if args.generate_only:
        generate(args)
        return

    ensure_database(url)
    call_command("migrate", verbosity=0)
    if marker_read() != marker_text(args):
        # In a child process, so that the peak memory below is the run's, not generation's.
        forwarded = [f"--{k}={getattr(args, k)}" for k in ("patients", "reactions", "drugs")]
        subprocess.run(
            [sys.executable, __file__, "--generate-only", *forwarded, f"--terms={args.terms}"],
            check=True,
        )
    else:
        print(f"cohort already generated ({marker_text(args)})")

    # The steady state of a database under autovacuum: statistics and visibility maps up to
    # date (the latter lets PostgreSQL answer from the covering index alone).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reports_reaction")
        cursor.execute("VACUUM ANALYZE reports_suspectreaction")
        cursor.execute("VACUUM ANALYZE reports_report")
        cursor.execute("VACUUM ANALYZE reports_exposure")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM reports_patient), (SELECT count(*) FROM "
            "reports_exposure), (SELECT count(*) FROM reports_report), (SELECT count(*) "
            "FROM reports_reaction), (SELECT count(DISTINCT term_id) FROM reports_reaction), "
            "(SELECT count(*) FROM reference_drug)"
        )
        row = cursor.fetchone()
    assert row is not None
    patients, exposures, reports, reactions, terms, drugs = row
    print(
        f"cohort: {patients:,} patients, {exposures:,} registered exposures, {reports:,} "
        f"reports, {reactions:,} reactions, {drugs} drugs, {terms} distinct terms"
    )
    version = connection.pg_version
    print(f"database: PostgreSQL {version // 10000}.{version % 10000}")

    # 1. The grouped query.
    query_times = []
    rows = 0
    for _ in range(3):
        seconds, rows = timed(grouped_query)
        query_times.append(seconds)
    query_best, query_median = min(query_times), statistics.median(query_times)
    print(
        f"grouped query (distinct patients per drug and term): {rows:,} rows; "
        f"best {query_best * 1000:.0f} ms, median {query_median * 1000:.0f} ms of 3"
    )
    joined_best = min(timed(partial(grouped_query, JOINED_SQL))[0] for _ in range(3))
    print(f"the same count joined to the reports: best {joined_best * 1000:.0f} ms of 3")
    counts_best = min(counts_the_rules_need() for _ in range(3))
    print(
        "the counts the rules need, drug by drug (cohort, cases per term with grade >= 3 "
        f"and severe cases, cases per labelled group): best {counts_best * 1000:.0f} ms of 3, "
        f"{counts_best / query_best:.2f}x the grouped query"
    )

    # 2. A full run from no signals.
    surveillance_clear()
    with CaptureQueriesContext(connection) as first_queries:
        run_seconds, run = timed(run_full)
    evaluations = SignalEvaluation.objects.count()
    print(
        f"full run: {run_seconds * 1000:.0f} ms, {len(first_queries)} queries, status "
        f"{run.status}; {run.counts.get('findings', 0)} findings, "
        f"{run.counts.get('signals_new', 0)} new signals"
    )
    if args.slowest:
        slow = sorted(first_queries.captured_queries, key=lambda q: -float(q["time"]))
        print(f"  slowest {args.slowest} queries of the full run:")
        for q in slow[: args.slowest]:
            print(f"  {float(q['time']) * 1000:8.0f} ms  {short(q['sql'])}")

    # 3. The same run on unchanged data: it must write nothing.
    with CaptureQueriesContext(connection) as second_queries:
        again_seconds, again = timed(run_full)
    written = SignalEvaluation.objects.count() - evaluations
    print(
        f"second run (unchanged data): {again_seconds * 1000:.0f} ms, {len(second_queries)} "
        f"queries, {again.counts.get('signals_new', 0)} new and "
        f"{again.counts.get('signals_updated', 0)} updated signals, {written} evaluations "
        f"written ({'nothing written' if not written else 'WROTE'})"
    )

    # 4. Drug by drug, the detection proper (evaluate, then apply: unchanged, so no
    # writes): its queries against the number of terms with cases.
    print("per drug (evaluate_drug + findings_apply, unchanged data):")
    per_drug = []
    holder = run_create(trigger="command_line")
    for drug in Drug.objects.order_by("pk"):
        with CaptureQueriesContext(connection) as ctx:
            seconds, result = timed(partial(evaluate_drug, drug))
            findings_apply(drug=drug, findings=result.findings, run=holder)
        per_drug.append(len(ctx))
        print(
            f"  {drug.name:<22} {result.counts['terms_with_cases']:4d} terms with cases  "
            f"{result.counts['exposed']:6,d} exposed  {len(ctx):3d} queries  "
            f"evaluation {seconds * 1000:6.0f} ms"
        )
    holder.delete()
    constant = len(set(per_drug)) == 1
    print(
        f"queries per drug: {min(per_drug)}-{max(per_drug)} "
        f"({'constant' if constant else 'NOT constant'} whatever the number of terms)"
    )

    # 5. Peak memory of a run (a separate pass: tracemalloc slows Python down).
    tracemalloc.start()
    run_full()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ratio = run_seconds / query_best
    print()
    print(f"sizes: {patients:,} patients, {reactions:,} reactions, {drugs} drugs, {terms} terms")
    print(f"grouped query: best {query_best:.3f} s, median {query_median:.3f} s")
    print(f"full run: {run_seconds:.3f} s; second run (unchanged): {again_seconds:.3f} s")
    print(f"ratio full run / grouped query: {ratio:.2f}x")
    print(f"ratio counts the rules need / grouped query: {counts_best / query_best:.2f}x")
    print(
        f"ratio full run / the same count joined to the reports: {run_seconds / joined_best:.2f}x"
    )
    print(f"queries: full run {len(first_queries)}, second run {len(second_queries)}")
    print(f"peak traced memory of a run: {peak / 1e6:.1f} MB")
    print(f"peak resident memory of the process: {rss_mb:.0f} MB")
    print("target: full run within 2x the grouped query:", "met" if ratio <= 2 else "NOT met")
    print("target: constant queries per drug:", "met" if constant else "NOT met")


if __name__ == "__main__":
    main()
