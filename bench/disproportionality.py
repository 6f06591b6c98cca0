"""Disproportionality statistics on a large generated database, beside vigipy.

    python bench/disproportionality.py [--scale 1.0] [--reports 5000000] [--drugs 1000]
                                       [--events 2000] [--repeat 3] [--timeout 1800]

A table of 1,000 drugs x 2,000 events from 5,000,000 generated reports. In one run, against
the vigipy package (3.5.1, never a dependency of the product: the script installs it with the
product, `pip install -e .`, in its own environment var/bench-venv, and re-runs itself there):
  1. MGPS: our gps_fit + ebgm (fit of the prior and the posterior of every pair) against
     vigipy.gps (its own fit and posterior), both from the same 2x2 counts;
  2. PRR, ROR and IC: ours against vigipy.prr, vigipy.ror and vigipy.bcpnn (closed form).
Targets: our MGPS at least 5x faster than vigipy's GPS; our PRR, ROR and IC within 1.5x of
vigipy's times. Each side of each task runs in a fresh subprocess, which reports the time of
the call (best of --repeat for the closed forms, one run for MGPS) and its peak memory: the
growth of the resident set during the call, the peak reset just before it.

The reports are generated with a fixed seed: drug and event popularity fall off like Zipf's
law, a report names 1 + Poisson(0.3) drugs and 1 + Poisson(0.8) events, and each event comes
with probability 0.15 from five events tied to the report's first drug (the true signals).
Most pairs have small counts. The 2x2 counts (unique reports) are computed once with
pair_counts and cached under var/bench-disproportionality/, then handed to both sides:
vigipy gets a DataContainer of the flattened columns its methods read (events, product_aes,
count_across_brands; N = unique reports), so both compute on the same tables.

Numerical agreement is checked as well: the same posterior from the same prior (vigipy.gps with
prior_param set to our fitted prior), each side's fitted prior under both likelihood
conventions, PRR and ROR on the tables without an empty cell (vigipy adds 0.5 to every cell
of the others), and IC025 (vigipy's BCPNN IC is another estimator: shown for information).

--scale multiplies the number of reports, for a quicker run or when vigipy's GPS takes too
long; --timeout stops a side that has not finished and reports it.

One script kept whole, past the 400 lines product modules keep to: it is one experiment,
read from top to bottom, and nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "bench-venv"
WORK = ROOT / "var" / "bench-disproportionality"
VIGIPY = "vigipy==3.5.1"
SEED = 20261129
TASKS = ("mgps", "prr", "ror", "ic")
TITLES = {
    "mgps": "MGPS fit + posterior",
    "prr": "PRR (+CI, chi2)",
    "ror": "ROR (+CI)",
    "ic": "IC (+IC025)",
}


# --- the environment ----------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Run in var/bench-venv (the product plus vigipy), creating it the first time."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    marker = VENV / f".installed-{VIGIPY}"
    if not marker.exists():
        print(f"Creating {VENV} with the product and {VIGIPY} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(venv_python()), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", str(ROOT), VIGIPY], check=True)
        marker.touch()
    os.execv(str(venv_python()), [str(venv_python()), __file__, *sys.argv[1:]])  # noqa: S606


# --- the data -----------------------------------------------------------------------------


def generate_rows(reports: int, drugs: int, events: int, seed: int) -> tuple[Any, Any, Any]:
    """(report, drug, event) rows: every drug of a report against every event of it."""
    import numpy as np

    rng = np.random.default_rng(seed)
    drug_weight = rng.permutation(1 / (np.arange(drugs) + 5.0) ** 1.1)
    event_weight = rng.permutation(1 / (np.arange(events) + 10.0))
    drug_weight /= drug_weight.sum()
    event_weight /= event_weight.sum()
    tied = rng.integers(0, events, size=(drugs, 5))

    drugs_per_report = 1 + np.minimum(rng.poisson(0.3, reports), 5)
    events_per_report = 1 + np.minimum(rng.poisson(0.8, reports), 7)
    drug_start = np.r_[0, np.cumsum(drugs_per_report)[:-1]]
    event_start = np.r_[0, np.cumsum(events_per_report)[:-1]]
    drug_draws = rng.choice(drugs, int(drugs_per_report.sum()), p=drug_weight)
    event_draws = rng.choice(events, int(events_per_report.sum()), p=event_weight)
    event_report = np.repeat(np.arange(reports), events_per_report)
    from_tied = rng.random(event_draws.size) < 0.15
    first_drug = drug_draws[drug_start][event_report[from_tied]]
    event_draws[from_tied] = tied[first_drug, rng.integers(0, 5, int(from_tied.sum()))]

    per_report = drugs_per_report * events_per_report
    report = np.repeat(np.arange(reports), per_report)
    offset = np.arange(int(per_report.sum())) - np.repeat(
        np.cumsum(per_report) - per_report, per_report
    )
    width = events_per_report[report]
    drug = drug_draws[drug_start[report] + offset // width]
    event = event_draws[event_start[report] + offset % width]
    return report, drug, event


def table_path(args: argparse.Namespace) -> Path:
    return WORK / f"table-r{args.reports_scaled}-d{args.drugs}-e{args.events}-s{SEED}.npz"


def build_table(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the reports and count the 2x2 tables once; later runs read the cache."""
    import numpy as np

    from spontaneous.disproportionality import pair_counts

    path = table_path(args)
    if path.exists():
        with np.load(path) as cached:
            info = json.loads(str(cached["info"]))
        print(f"2x2 tables from the cache {path.relative_to(ROOT)}")
        return {"path": path, **info}
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report, drug, event = generate_rows(args.reports_scaled, args.drugs, args.events, SEED)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    counts = pair_counts(report, drug, event)
    counted = time.perf_counter() - started
    info = {
        "rows": int(report.size),
        "reports": counts.n_total,
        "pairs": int(counts.a.size),
        "generate_s": generated,
        "pair_counts_s": counted,
        "single_case_pairs": int((counts.a == 1).sum()),
        "max_count": int(counts.a.max()),
    }
    np.savez(
        path,
        drug=counts.drugs.astype(np.int64),
        event=counts.events.astype(np.int64),
        a=counts.a,
        b=counts.b,
        c=counts.c,
        d=counts.d,
        n_total=counts.n_total,
        events_total=args.events,
        info=json.dumps(info),
    )
    return {"path": path, **info}


# --- one side of one task, in its own process ---------------------------------------------


def proc_status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    """Reset the resident-set high-water mark (Linux), so that it measures the call alone."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measured(call: Any, repeat: int) -> tuple[float, dict[str, float], Any]:
    """(best seconds, memory of the first call, the result). Memory: grown_mb, how far the
    resident set rose above its size before the call; peak_mb, its high-water mark during the
    call (both nan where the high-water mark cannot be reset)."""
    import gc

    gc.collect()
    before = proc_status_kb("VmRSS")
    peak_resettable = reset_peak() and before is not None
    started = time.perf_counter()
    result = call()
    times = [time.perf_counter() - started]
    high = proc_status_kb("VmHWM") if peak_resettable else None
    memory = {"grown_mb": math.nan, "peak_mb": math.nan}
    if high is not None and before is not None:
        memory = {"grown_mb": (high - before) / 1024, "peak_mb": high / 1024}
    for _ in range(repeat - 1):
        del result
        gc.collect()
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return min(times), memory, result


def run_ours(task: str, table: Any, repeat: int) -> tuple[float, dict[str, float], dict[str, Any]]:
    import numpy as np

    from spontaneous import disproportionality as dp

    a, b, c, d = (table[name] for name in "abcd")
    if task == "mgps":

        def call() -> Any:
            e = dp.expected(a, b, c, d)
            prior = dp.gps_fit(a, e)
            return prior, dp.ebgm(a, e, prior)

        seconds, memory, (prior, post) = measured(call, repeat)
        return (
            seconds,
            memory,
            {
                "theta": np.array(prior.theta),
                "converged": np.array(prior.converged),
                "ebgm": post.ebgm,
                "eb05": post.eb05,
                "eb95": post.eb95,
            },
        )
    if task == "prr":
        seconds, memory, result = measured(lambda: dp.prr(a, b, c, d), repeat)
        return seconds, memory, {"value": result.prr, "lower": result.lower, "upper": result.upper}
    if task == "ror":
        seconds, memory, result = measured(lambda: dp.ror(a, b, c, d), repeat)
        return seconds, memory, {"value": result.ror, "lower": result.lower, "upper": result.upper}
    seconds, memory, result = measured(lambda: dp.information_component(a, b, c, d), repeat)
    return seconds, memory, {"value": result.ic, "lower": result.ic025}


def in_pair_order(frame: Any, table: Any, *columns: str) -> dict[str, Any]:
    """vigipy sorts its results: put them back in the order of our pairs."""
    import numpy as np

    key = frame["Product"].to_numpy(np.int64) * int(table["events_total"])
    key += frame["Adverse Event"].to_numpy(np.int64)
    ours = table["drug"] * int(table["events_total"]) + table["event"]
    order = np.argsort(key)
    where = order[np.searchsorted(key[order], ours)]
    assert (key[where] == ours).all()
    return {column: frame[column].to_numpy(np.float64)[where] for column in columns}


def run_vigipy(
    task: str, table: Any, repeat: int, prior: list[float] | None
) -> tuple[float, dict[str, float], dict[str, Any]]:
    import numpy as np

    # Only in the benchmark's environment, which mypy does not see.
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    import vigipy  # type: ignore[import-not-found, unused-ignore]
    from vigipy.utils.Container import (  # type: ignore[import-not-found, unused-ignore]
        DataContainer,
    )

    a, b, c = table["a"], table["b"], table["c"]
    frame = pd.DataFrame(
        {
            "events": a,
            "product_aes": a + b,
            "count_across_brands": a + c,
            "product_name": table["drug"],
            "ae_name": table["event"],
        }
    )
    container = DataContainer(data=frame, N=int(table["n_total"]))
    if task == "mgps":
        seconds, memory, result = measured(lambda: vigipy.gps(container, min_events=1), repeat)
        out = in_pair_order(result.all_signals, table, "EBGM", "LowerBound", "UpperBound")
        saved = {
            "theta": np.asarray(result.params["prior_param"], dtype=np.float64),
            "convergence": np.array(str(result.params["convergence"])),
            "ebgm": out["EBGM"],
            "eb05": out["LowerBound"],
            "eb95": out["UpperBound"],
        }
        if prior is not None:
            # The posterior alone, from our prior: the same model on both sides.
            same = vigipy.gps(container, min_events=1, prior_param=prior)
            out = in_pair_order(same.all_signals, table, "EBGM", "LowerBound", "UpperBound")
            saved |= {
                "same_ebgm": out["EBGM"],
                "same_eb05": out["LowerBound"],
                "same_eb95": out["UpperBound"],
            }
        return seconds, memory, saved
    if task in ("prr", "ror"):
        method = vigipy.prr if task == "prr" else vigipy.ror
        seconds, memory, result = measured(lambda: method(container, min_events=1), repeat)
        out = in_pair_order(result.all_signals, table, task.upper(), "CI Lower", "CI Upper")
        return (
            seconds,
            memory,
            {"value": out[task.upper()], "lower": out["CI Lower"], "upper": out["CI Upper"]},
        )
    seconds, memory, result = measured(lambda: vigipy.bcpnn(container, min_events=1), repeat)
    return (
        seconds,
        memory,
        {"lower": in_pair_order(result.all_signals, table, "quantile")["quantile"]},
    )


def child(args: argparse.Namespace) -> None:
    import numpy as np

    side, task = args.child
    prior = [float(x) for x in args.prior.split(",")] if args.prior else None
    with np.load(args.table) as loaded:
        table = {name: loaded[name] for name in loaded.files}
    if side == "ours":
        seconds, memory, saved = run_ours(task, table, args.repeat)
    else:
        seconds, memory, saved = run_vigipy(task, table, args.repeat, prior)
    np.savez(args.out, **saved)
    print(json.dumps({"seconds": seconds, **memory}))


# --- the run ------------------------------------------------------------------------------


def run_side(
    side: str, task: str, table: dict[str, Any], args: argparse.Namespace, prior: Any = None
) -> dict[str, Any]:
    out = WORK / f"result-{side}-{task}.npz"
    out.unlink(missing_ok=True)
    repeat = 1 if task == "mgps" else args.repeat
    command = [
        sys.executable,
        __file__,
        "--child",
        side,
        task,
        "--table",
        str(table["path"]),
        "--out",
        str(out),
        "--repeat",
        str(repeat),
    ]
    if prior is not None:
        command += ["--prior", ",".join(repr(float(x)) for x in prior)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        wall = time.perf_counter() - started
        print(f"  {side:6s} {task}: not finished after {wall:.0f} s (--timeout); stopped")
        return {"seconds": math.nan, "timeout": wall, "grown_mb": math.nan, "peak_mb": math.nan}
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{side} {task} failed")
    measured_run: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"  {side:6s} {task:4s} {measured_run['seconds']:9.3f} s   "
        f"peak +{measured_run['grown_mb']:7.1f} MB "
        f"(resident peak during the call {measured_run['peak_mb']:.0f} MB)",
        flush=True,
    )
    import numpy as np

    with np.load(out) as saved:
        measured_run["data"] = {name: saved[name] for name in saved.files}
    return measured_run


def relative(x: Any, y: Any) -> Any:
    import numpy as np

    return np.abs(x - y) / np.maximum(np.abs(y), 1e-300)


def naive_nll(theta: Any, n: Any, e: Any, per_component: bool) -> float:
    """Negative log-likelihood of a prior with scipy.stats.nbinom, truncated at N* = 1 either
    per component (the FDA openEBGM convention, ours) or as a whole mixture (vigipy's)."""
    import numpy as np
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    alpha1, beta1, alpha2, beta2, weight = theta
    p1, p2 = beta1 / (beta1 + e), beta2 / (beta2 + e)
    f1, f2 = stats.nbinom.pmf(n, alpha1, p1), stats.nbinom.pmf(n, alpha2, p2)
    z1, z2 = 1 - p1**alpha1, 1 - p2**alpha2
    if per_component:
        likelihood = weight * f1 / z1 + (1 - weight) * f2 / z2
    else:
        likelihood = (weight * f1 + (1 - weight) * f2) / (weight * z1 + (1 - weight) * z2)
    return -float(np.sum(np.log(likelihood)))


def quantile_misses(
    theta: Any, n: Any, e: Any, level: float, ours: Any, vigipy: Any
) -> tuple[float, float]:
    """How far each side's posterior quantile is from solving the mixture CDF = level, where
    the two sides differ most (Qn recomputed independently with scipy.stats.nbinom)."""
    import numpy as np
    from scipy import special, stats  # type: ignore[import-untyped, unused-ignore]

    alpha1, beta1, alpha2, beta2, weight = theta
    worst = np.argsort(-relative(ours, vigipy))[:1000]
    n, e = n[worst], e[worst]
    f1 = weight * stats.nbinom.pmf(n, alpha1, beta1 / (beta1 + e))
    f2 = (1 - weight) * stats.nbinom.pmf(n, alpha2, beta2 / (beta2 + e))
    qn = f1 / (f1 + f2)

    def miss(x: Any) -> float:
        cdf = qn * special.gammainc(alpha1 + n, (beta1 + e) * x)
        cdf += (1 - qn) * special.gammainc(alpha2 + n, (beta2 + e) * x)
        return float(np.max(np.abs(cdf - level)))

    return miss(ours[worst]), miss(vigipy[worst])


def report(table: dict[str, Any], results: dict[str, dict[str, Any]]) -> bool:
    import numpy as np

    with np.load(table["path"]) as loaded:
        a, b, c, d = (loaded[name].astype(np.float64) for name in "abcd")
    e = (a + b) * (a + c) / (a + b + c + d)

    print("\nNumerical agreement")
    ours, theirs = results["ours-mgps"], results["vigipy-mgps"]
    if "data" in ours and "data" in theirs:
        mine, other = ours["data"], theirs["data"]
        print(
            f"  our prior    {np.array2string(mine['theta'], precision=6)}"
            f"  converged {bool(mine['converged'])}"
        )
        print(
            f"  vigipy prior {np.array2string(other['theta'], precision=6)}"
            f"  ({other['convergence']})"
        )
        for name, theta in (("ours", mine["theta"]), ("vigipy", other["theta"])):
            print(
                f"  -loglik of the {name:6s} prior: per-component truncation (openEBGM, ours) "
                f"{naive_nll(theta, a, e, True):.3f}; whole-mixture truncation (vigipy) "
                f"{naive_nll(theta, a, e, False):.3f}"
            )
        if "same_ebgm" in other:
            for name in ("ebgm", "eb05", "eb95"):
                worst = float(np.max(relative(mine[name], other[f"same_{name}"])))
                print(f"  same prior, {name.upper():5s}: max relative difference {worst:.2e}")
            for name, level in (("eb05", 0.05), ("eb95", 0.95)):
                ours_miss, vigipy_miss = quantile_misses(
                    mine["theta"], a, e, level, mine[name], other[f"same_{name}"]
                )
                print(
                    f"  same prior, {name.upper()}: largest |posterior CDF - {level}| at the "
                    f"quantile found: ours {ours_miss:.1e}, vigipy {vigipy_miss:.1e}"
                )
        each = relative(mine["ebgm"], other["ebgm"])
        print(
            f"  each side's own prior, EBGM: median relative difference {np.median(each):.2e}, "
            f"99th percentile {np.quantile(each, 0.99):.2e}"
        )
        mine_signals, other_signals = mine["eb05"] >= 2, other["eb05"] >= 2
        both = int((mine_signals & other_signals).sum())
        print(
            f"  EB05 >= 2: ours {int(mine_signals.sum())}, vigipy {int(other_signals.sum())}, "
            f"both {both}"
        )
    full = (a > 0) & (b > 0) & (c > 0) & (d > 0)
    for task in ("prr", "ror"):
        mine, other = results[f"ours-{task}"], results[f"vigipy-{task}"]
        if "data" not in mine or "data" not in other:
            continue
        worst = max(
            float(np.max(relative(mine["data"][k][full], other["data"][k][full])))
            for k in ("value", "lower", "upper")
        )
        print(
            f"  {task.upper()} and its CI, {int(full.sum())} tables without an empty cell: "
            f"max relative difference {worst:.2e}"
        )
    if "data" in results["ours-ic"] and "data" in results["vigipy-ic"]:
        ic025 = results["ours-ic"]["data"]["lower"]
        bcpnn = results["vigipy-ic"]["data"]["lower"]
        big = a >= 10
        print(
            f"  IC025 (ours: gamma quantile; vigipy: BCPNN normal approximation), pairs with "
            f"a >= 10: median |difference| {np.median(np.abs(ic025[big] - bcpnn[big])):.3f}, "
            f"same sign {np.mean((ic025[big] > 0) == (bcpnn[big] > 0)):.1%}"
        )

    print("\nTimes (seconds); memory during the call: growth of the resident set / its peak (MB)")
    header = f"  {'':22s} {'ours':>9s} {'vigipy':>9s} {'vigipy/ours':>12s}  target"
    print(header)
    print(f"  {'-' * (len(header) + 20)}")
    met = True
    for task in TASKS:
        mine, other = results[f"ours-{task}"], results[f"vigipy-{task}"]
        # A side stopped by --timeout took at least that long.
        vigipy_seconds = other.get("timeout") or other["seconds"]
        ratio = vigipy_seconds / (mine.get("timeout") or mine["seconds"])
        if task == "mgps":
            target, ok = ">= 5x faster", ratio >= 5
        else:
            target, ok = "ours <= 1.5x vigipy", mine["seconds"] <= 1.5 * vigipy_seconds
        met &= ok
        at_least = ">" if other.get("timeout") else " "
        print(
            f"  {TITLES[task]:22s} {mine['seconds']:9.3f} {at_least}{vigipy_seconds:8.3f} "
            f"{at_least}{ratio:10.1f}x  {target}: {'met' if ok else 'NOT met'}"
        )
        print(
            f"  {'  memory':22s} {mine['grown_mb']:4.0f}/{mine['peak_mb']:4.0f} "
            f"{other['grown_mb']:4.0f}/{other['peak_mb']:4.0f}"
        )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=5_000_000)
    parser.add_argument("--drugs", type=int, default=1_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies --reports")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each closed form")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per side and task")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "TASK"), help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--prior", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        child(args)
        return
    ensure_venv()
    args.reports_scaled = max(1, round(args.reports * args.scale))
    print(
        f"Disproportionality: {args.reports_scaled:,} reports, {args.drugs:,} drugs x "
        f"{args.events:,} events (seed {SEED}); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    table = build_table(args)
    print(
        f"  {table['rows']:,} report rows -> {table['pairs']:,} drug-event pairs over "
        f"{table['reports']:,} reports ({table['single_case_pairs']:,} with a single case, "
        f"largest count {table['max_count']:,}); pair_counts took {table['pair_counts_s']:.1f} s"
    )
    results: dict[str, dict[str, Any]] = {}
    for task in TASKS:
        results[f"ours-{task}"] = run_side("ours", task, table, args)
        ours_mgps = results["ours-mgps"]
        prior = ours_mgps["data"]["theta"] if task == "mgps" and "data" in ours_mgps else None
        results[f"vigipy-{task}"] = run_side("vigipy", task, table, args, prior)
    met = report(table, results)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    print("All targets met." if met else "Some targets NOT met.")
    summary = {
        key: {k: v for k, v in value.items() if k != "data"} for key, value in results.items()
    }
    (WORK / "summary.json").write_text(
        json.dumps({"table": {**table, "path": str(table["path"])}, **summary}, indent=2)
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
