"""surveillance.disproportionality: 2x2 counts, PRR, ROR, IC and MGPS (docs/pharmacovigilance.md,
"Disproportionality across spontaneous reports").

Plain numerical tests, no database. Published figures are the acceptance figures: FDA's
CAERS sample as openEBGM ships it (tests/data, public-domain FDA data), pvda's Drug_Z tables
and single 2x2 tables (their cells, tests/data). The project's own fixtures are checked against
independent computations: a naive count with Python sets, scipy.stats' relative risk, odds
ratio, chi-square and gamma distribution, and a likelihood written with scipy.stats.nbinom.
"""

import csv
import gzip
import math
import subprocess
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats  # type: ignore[import-untyped, unused-ignore]

from spontaneous import disproportionality as dp
from spontaneous.disproportionality import (
    GpsPrior,
    ebgm,
    expected,
    gps_fit,
    information_component,
    pair_counts,
    prr,
    ror,
)
from spontaneous.disproportionality import mgps_fit as fit_module

from .conftest import DATA
from .spontaneous_data import pvda_tables

CAERS_PRIOR = (3.25596685, 0.39998994, 2.02376139, 1.90614108, 0.06530755)
# The likelihood is flat along a ridge at its maximum: points 1e-5 apart there differ in
# -log-likelihood by 1e-10 (4e-14 relative, the floor of double precision), so that is as
# close as any fit can place the published maximum.
CAERS_PRIOR_RTOL = 2e-5
CAERS_THETA = (3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557)
# (product, event): N, E, EBGM, EB05, EB95
CAERS_PAIRS = {
    ("REUMOFAN PLUS", "WEIGHT INCREASED"): (16, 0.40643623, 23.26, 15.68, 33.48),
    ("HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "EMOTIONAL DISTRESS"): (
        19,
        0.89690107,
        16.78,
        11.65,
        23.55,
    ),
}


def read_columns(path: Path, *names: str) -> list[np.ndarray]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [np.array([row[name] for row in rows]) for name in names]


def agrees_to_digits(value: float, printed: str) -> bool:
    """value, rounded to as many decimals as printed shows, is the printed figure."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return round(value, decimals) == float(printed)


def pair_index(counts, drug, event) -> int:
    (found,) = np.flatnonzero((counts.drugs == drug) & (counts.events == event))
    return int(found)


def naive_pair_counts(rows):
    """{(drug, event): (a, b, c, d)} with Python sets: deliberately the textbook definition."""
    reports = {report for report, _, _ in rows}
    with_drug, with_event, with_both = defaultdict(set), defaultdict(set), defaultdict(set)
    for report, drug, event in rows:
        with_drug[drug].add(report)
        with_event[event].add(report)
        with_both[drug, event].add(report)
    tables = {}
    for (drug, event), both in with_both.items():
        a = len(both)
        b = len(with_drug[drug]) - a
        c = len(with_event[event]) - a
        tables[drug, event] = (a, b, c, len(reports) - a - b - c)
    return tables


def naive_neg_log_likelihood(theta, n, e, min_count):
    """The truncated mixture likelihood written with scipy.stats.nbinom, independently of the
    module: n ~ NB(size alpha, prob beta / (beta + E)), each component divided by P(n >= N*)."""
    alpha1, beta1, alpha2, beta2, weight = theta
    parts = []
    for alpha, beta in ((alpha1, beta1), (alpha2, beta2)):
        prob = beta / (beta + e)
        pmf = stats.nbinom.pmf(n, alpha, prob)
        kept = stats.nbinom.sf(min_count - 1, alpha, prob) if min_count > 0 else 1.0
        parts.append(pmf / kept)
    return -float(np.sum(np.log(weight * parts[0] + (1 - weight) * parts[1])))


def mixture_quantile_by_brentq(level, qn, shapes, rates):
    def cdf(x):
        return (
            qn * stats.gamma.cdf(x, shapes[0], scale=1 / rates[0])
            + (1 - qn) * stats.gamma.cdf(x, shapes[1], scale=1 / rates[1])
            - level
        )

    return optimize.brentq(cdf, 1e-12, 1e6, xtol=1e-14, rtol=1e-13)


@pytest.fixture(scope="module")
def sample_tables():
    """The 2x2 tables of the project's own MGPS fixture (CAERS format)."""
    ids, products, events = read_columns(DATA / "mgps_reports_sample.csv", "id", "var1", "var2")
    return pair_counts(ids, products, events)


@pytest.fixture(scope="module")
def sample_prior(sample_tables):
    t = sample_tables
    return gps_fit(t.a, expected(t.a, t.b, t.c, t.d))


# --- the 2x2 counts -----------------------------------------------------------------------


def test_pair_counts_count_each_report_once():
    rows = [
        ("r1", "aspirin", "rash"),
        ("r1", "aspirin", "rash"),  # the same row twice
        ("r1", "warfarin", "rash"),
        ("r1", "aspirin", "nausea"),
        ("r2", "aspirin", "nausea"),
        ("r3", "warfarin", "bleeding"),
        ("r4", "heparin", "bleeding"),
    ]
    counts = pair_counts(*zip(*rows, strict=True))
    assert counts.n_total == 4
    assert counts.drugs.tolist() == ["aspirin", "aspirin", "heparin", "warfarin", "warfarin"]
    assert counts.events.tolist() == ["nausea", "rash", "bleeding", "bleeding", "rash"]
    # aspirin/rash: r1 only (once, though listed twice); aspirin without rash: r2; rash
    # without aspirin: none (r1 has both); neither: r3, r4.
    assert (counts.a[1], counts.b[1], counts.c[1], counts.d[1]) == (1, 1, 0, 2)
    assert counts.a.tolist() == [2, 1, 1, 1, 1]
    assert (counts.a + counts.b + counts.c + counts.d == 4).all()
    assert counts.a.dtype == counts.d.dtype == np.int64


def test_pair_counts_of_nothing():
    counts = pair_counts([], [], [])
    assert counts.n_total == 0
    assert counts.a.size == counts.drugs.size == 0


def test_pair_counts_reject_ragged_rows():
    with pytest.raises(ValueError):
        pair_counts([1, 2], ["a"], ["x", "y"])


def test_pair_counts_of_the_drug_event_fixture_match_a_naive_count():
    report, drug, event = read_columns(DATA / "drug_event_sample.csv", "report_id", "drug", "event")
    rows = list(zip(report.tolist(), drug.tolist(), event.tolist(), strict=True))
    assert len(set(rows)) < len(rows)  # the fixture repeats some rows
    counts = pair_counts(report.astype(np.int64), drug, event)
    naive = naive_pair_counts(rows)
    got = {
        (d, e): (a, b, c, dd)
        for d, e, a, b, c, dd in zip(
            counts.drugs, counts.events, counts.a, counts.b, counts.c, counts.d, strict=True
        )
    }
    assert got == naive
    assert counts.n_total == len(set(report.tolist()))


rows_strategy = st.lists(
    st.tuples(
        st.integers(0, 8) | st.sampled_from([10**12, -3]),
        st.sampled_from(["A", "B", "C", "D"]),
        st.sampled_from(["x", "y", "z"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(rows_strategy)
def test_pair_counts_match_a_naive_count(rows):
    report, drug, event = zip(*rows, strict=True)
    counts = pair_counts(np.array(report), np.array(drug), np.array(event))
    got = {
        (d, e): (a, b, c, dd)
        for d, e, a, b, c, dd in zip(
            counts.drugs, counts.events, counts.a, counts.b, counts.c, counts.d, strict=True
        )
    }
    assert got == naive_pair_counts(rows)
    assert counts.n_total == len(set(report))
    # Labels of another type (strings for report ids) give the same tables.
    again = pair_counts([str(r) for r in report], list(drug), list(event))
    np.testing.assert_array_equal(again.a, counts.a)
    np.testing.assert_array_equal(again.d, counts.d)


# --- PRR, ROR, IC on single tables ------------------------------------------------------


def published_tables():
    with (DATA / "two_by_two_tables.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("row", published_tables(), ids=lambda row: row["a"])
def test_published_single_tables(row):
    cells = [int(row[name]) for name in "abcd"]
    p, r, ic = prr(*cells), ror(*cells), information_component(*cells)
    assert agrees_to_digits(float(p.prr), row["prr"])
    assert agrees_to_digits(float(p.lower), row["prr_lower"])
    assert agrees_to_digits(float(p.upper), row["prr_upper"])
    assert agrees_to_digits(float(p.chi2_yates), row["chi2_yates"])
    assert agrees_to_digits(float(p.chi2), row["chi2"])
    assert agrees_to_digits(float(r.ror), row["ror"])
    assert agrees_to_digits(float(r.lower), row["ror_lower"])
    assert agrees_to_digits(float(r.upper), row["ror_upper"])
    assert agrees_to_digits(float(ic.ic), row["ic"])
    assert agrees_to_digits(float(ic.ic025), row["ic025"])
    assert p.signal and r.signal  # PRR >= 2, chi2 >= 4, a >= 3; ROR lower bound > 1
    assert bool(ic.signal) == (float(ic.ic025) > 0)


def test_signal_rules():
    # PRR 5.94 and chi-square 7.4 with three cases: a signal; with min_cases 4, not.
    assert prr(3, 97, 50, 9850).signal
    assert not prr(3, 97, 50, 9850, min_cases=4).signal
    # Two cases with a huge PRR are below the Evans minimum.
    assert not prr(2, 0, 1, 10_000).signal
    # PRR 3.5 and uncorrected chi-square 5.5, but Yates-corrected 3.2: no signal.
    weak = prr(3, 15, 100, 2000)
    assert weak.prr >= 2 and weak.chi2 >= 4 and weak.chi2_yates < 4 and not weak.signal
    assert not ror(3, 97, 50, 9850, min_cases=4).signal
    assert not ror(1, 1, 1, 1).signal  # lower bound below 1


tables = st.tuples(*[st.integers(1, 5_000)] * 4)


@settings(max_examples=200, deadline=None)
@given(tables)
def test_ratios_match_scipy(cells):
    a, b, c, d = cells
    p, r, ic = prr(a, b, c, d), ror(a, b, c, d), information_component(a, b, c, d)
    rr = stats.contingency.relative_risk(a, a + b, c, c + d)
    interval = rr.confidence_interval(0.95)
    np.testing.assert_allclose(float(p.prr), rr.relative_risk, rtol=1e-12)
    np.testing.assert_allclose([p.lower, p.upper], [interval.low, interval.high], rtol=1e-10)
    odds = stats.contingency.odds_ratio([[a, b], [c, d]], kind="sample")
    interval = odds.confidence_interval(0.95)
    np.testing.assert_allclose(float(r.ror), odds.statistic, rtol=1e-12)
    np.testing.assert_allclose([r.lower, r.upper], [interval.low, interval.high], rtol=1e-10)
    table = [[a, b], [c, d]]
    yates = stats.chi2_contingency(table, correction=True)[0]
    plain = stats.chi2_contingency(table, correction=False)[0]
    np.testing.assert_allclose(float(p.chi2_yates), yates, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(float(p.chi2), plain, rtol=1e-9, atol=1e-12)
    e = (a + b) * (a + c) / (a + b + c + d)
    rate = e + 0.5
    np.testing.assert_allclose(float(ic.expected), e, rtol=1e-14)
    np.testing.assert_allclose(float(ic.ic), math.log2((a + 0.5) / rate), rtol=1e-12, atol=1e-14)
    low, high = stats.gamma.ppf([0.025, 0.975], a + 0.5, scale=1 / rate)
    np.testing.assert_allclose([ic.ic025, ic.ic975], np.log2([low, high]), rtol=1e-9, atol=1e-12)
    assert ic.ic025 < ic.ic < ic.ic975


cells_with_zeros = st.tuples(*[st.integers(0, 40) | st.just(0)] * 4)


@settings(max_examples=100, deadline=None)
@given(st.lists(cells_with_zeros, min_size=1, max_size=25))
def test_vectorised_calls_equal_scalar_calls(rows):
    a, b, c, d = (np.array(column) for column in zip(*rows, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [prr(a, b, c, d), ror(a, b, c, d), information_component(a, b, c, d)]
        for i, cells in enumerate(rows):
            singles = [prr(*cells), ror(*cells), information_component(*cells)]
            for result, single in zip(results, singles, strict=True):
                for name, values in vars(result).items():
                    assert values.shape == (len(rows),)
                    np.testing.assert_allclose(
                        values[i], getattr(single, name), rtol=1e-13, err_msg=name
                    )


@pytest.mark.parametrize(
    ("cells", "prr_value", "ror_value"),
    [
        ((5, 10, 0, 100), math.inf, math.inf),  # c = 0: the event only with the drug
        ((5, 0, 3, 100), 1 / (3 / 103), math.inf),  # b = 0: every drug report has the event
        ((0, 10, 5, 100), 0.0, 0.0),  # no case
        ((5, 10, 3, 0), 1 / 3, 0.0),  # d = 0
        ((0, 0, 0, 0), math.nan, math.nan),  # an empty table
        ((0, 0, 5, 10), math.nan, math.nan),  # the drug never reported
    ],
)
def test_empty_cells_give_nan_or_inf_without_warnings(cells, prr_value, ror_value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, r, ic = prr(*cells), ror(*cells), information_component(*cells)
        e = expected(*cells)
    np.testing.assert_allclose(float(p.prr), prr_value, rtol=1e-12)
    np.testing.assert_allclose(float(r.ror), ror_value, rtol=1e-12)
    a, b, c, d = cells
    if 0 in (a, c):
        assert math.isnan(p.lower) and math.isnan(p.upper)
    if 0 in cells:
        assert math.isnan(r.lower) and math.isnan(r.upper)
        assert not r.signal
    if 0 in (a + b, c + d, a + c, b + d):
        assert math.isnan(p.chi2) and math.isnan(p.chi2_yates)
        assert not p.signal
    if sum(cells) == 0:
        assert math.isnan(e) and math.isnan(ic.ic) and math.isnan(ic.ic025)
    else:
        assert math.isfinite(ic.ic) and math.isfinite(ic.ic025) and math.isfinite(ic.ic975)


def test_yates_correction_stops_at_zero():
    # |ad - bc| = 0 < N / 2: the corrected statistic is 0, not (N/2)^2-driven.
    assert float(prr(5, 5, 5, 5).chi2_yates) == 0.0
    assert float(prr(5, 5, 5, 5).chi2) == 0.0


@pytest.mark.parametrize("bad", [(-1, 2, 3, 4), (1, math.nan, 3, 4), (1, 2, math.inf, 4)])
def test_bad_cells_are_rejected(bad):
    for function in (prr, ror, information_component, expected):
        with pytest.raises(ValueError):
            function(*bad)


# --- pvda: Drug_Z's tables ---------------------------------------------------------------


@pytest.mark.parametrize("row", pvda_tables().values(), ids=lambda row: row["event"])
def test_pvda_published_figures(row):
    """pvda's published figures for Drug_Z from the 2x2 tables they come from; reports with
    these tables, counted from rows, are in test_spontaneous."""
    cells = [int(row[name]) for name in "abcd"]
    ic, p, r = information_component(*cells), prr(*cells), ror(*cells)
    figures = {
        "expected": ic.expected, "ic": ic.ic, "ic025": ic.ic025, "ic975": ic.ic975,
        "prr": p.prr, "prr_lower": p.lower, "prr_upper": p.upper,
        "ror": r.ror, "ror_lower": r.lower, "ror_upper": r.upper,
    }  # fmt: skip
    published = {name: row[name] for name in figures if row[name]}
    assert len(published) >= 3
    for name, printed in published.items():
        assert agrees_to_digits(float(figures[name]), printed), name


# --- MGPS: the CAERS sample -------------------------------------------


@pytest.fixture(scope="module")
def caers():
    ids, products, events = read_columns(DATA / "caers_openebgm_raw.csv.gz", "id", "var1", "var2")
    counts = pair_counts(ids, products, events)
    return counts, expected(counts.a, counts.b, counts.c, counts.d)


def test_caers_pairs_and_expected_counts(caers):
    counts, e = caers
    assert counts.a.size == 17_189
    assert counts.n_total == 3_356
    for (product, event), (n, published_e, *_) in CAERS_PAIRS.items():
        i = pair_index(counts, product, event)
        assert counts.a[i] == n
        assert agrees_to_digits(float(e[i]), f"{published_e:.8f}")


def test_caers_maximum_likelihood_prior(caers):
    counts, e = caers
    prior = gps_fit(counts.a, e, min_count=1)
    assert prior.converged
    np.testing.assert_allclose(prior.theta, CAERS_PRIOR, rtol=CAERS_PRIOR_RTOL)
    assert round(prior.neg_log_likelihood, 3) == 4162.456
    # No lower a likelihood than the published maximum's, computed independently.
    ours = naive_neg_log_likelihood(prior.theta, counts.a, e, 1)
    assert ours <= naive_neg_log_likelihood(CAERS_PRIOR, counts.a, e, 1) + 1e-9


def test_caers_posterior_with_the_published_theta(caers):
    counts, e = caers
    result = ebgm(counts.a, e, GpsPrior.from_theta(CAERS_THETA))
    for (product, event), (_, _, geometric_mean, low, high) in CAERS_PAIRS.items():
        i = pair_index(counts, product, event)
        assert abs(result.ebgm[i] - geometric_mean) <= 0.01
        assert abs(result.eb05[i] - low) <= 0.01
        assert abs(result.eb95[i] - high) <= 0.01
    assert int(np.sum(result.eb05 >= 2)) == 131
    assert result.eb05.size == 17_189


@pytest.mark.django_db
def test_caers_figures_from_a_source_of_the_database(tmp_path):
    """The same published figures from the CAERS sample imported as a source of spontaneous
    reports: its products, events and reports counted in the database, with no formulary
    drug or term behind them."""
    from spontaneous.models import Event, Product, Source
    from spontaneous.tables import product_table, source_statistics

    from .spontaneous_data import run_import

    path = tmp_path / "caers.csv"
    with gzip.open(DATA / "caers_openebgm_raw.csv.gz", "rt", encoding="utf-8") as raw:
        path.write_text(raw.read(), encoding="utf-8")
    run_import(path)
    source = Source.objects.get(name="caers")
    found = source_statistics(source)
    assert len(found) == 17_189
    assert found.n_reports == 3_356
    assert found.prior is not None and found.prior.converged
    np.testing.assert_allclose(found.prior.theta, CAERS_PRIOR, rtol=CAERS_PRIOR_RTOL)
    eb05 = found.statistics.values["eb05"]
    assert int(np.sum(eb05 >= 2)) == 131
    for (product, event), (n, published_e, geometric_mean, low, high) in CAERS_PAIRS.items():
        product_id = Product.objects.get(source=source, name=product).pk
        event_id = Event.objects.get(source=source, name=event).pk
        (i,) = np.flatnonzero((found.product_ids == product_id) & (found.event_ids == event_id))
        assert found.statistics.a[i] == n
        assert agrees_to_digits(float(found.statistics.values["expected"][i]), f"{published_e:.8f}")
        assert abs(found.statistics.values["ebgm"][i] - geometric_mean) <= 0.01
        # The product's own table reads the same pair with the same figures.
        [row] = [r for r in product_table(source, [product_id]) if r.event.pk == event_id]
        assert row.a == n and row.eb05 is not None and row.eb95 is not None
        assert row.eb05 == pytest.approx(float(eb05[i]))
        assert abs(row.eb05 - low) <= 0.01 and abs(row.eb95 - high) <= 0.01


# --- MGPS: the project's own fixture ------------------------------------------------------


def test_fitted_prior_is_the_maximum_of_an_independent_likelihood(sample_tables, sample_prior):
    t = sample_tables
    e = expected(t.a, t.b, t.c, t.d)
    prior = sample_prior
    assert prior.converged
    assert 0 < prior.p <= 0.5  # the minor component comes first
    theta = np.array(prior.theta)
    naive = naive_neg_log_likelihood(theta, t.a, e, 1)
    np.testing.assert_allclose(prior.neg_log_likelihood, naive, rtol=1e-11)

    def free(u):
        return naive_neg_log_likelihood(np.r_[np.exp(u[:4]), 1 / (1 + np.exp(-u[4]))], t.a, e, 1)

    u = np.r_[np.log(theta[:4]), math.log(theta[4] / (1 - theta[4]))]
    # A stationary point: central differences of the independent likelihood vanish ...
    step = 1e-5
    gradient = [(free(u + step * unit) - free(u - step * unit)) / (2 * step) for unit in np.eye(5)]
    np.testing.assert_allclose(gradient, 0, atol=2e-3)
    # ... and a minimum: no nearby point is lower.
    rng = np.random.default_rng(3)
    for _ in range(20):
        assert free(u + rng.normal(scale=0.02, size=5)) >= naive - 1e-9
    # Another optimiser on the independent likelihood, from elsewhere, finds nothing lower.
    other = optimize.minimize(
        free,
        np.r_[np.log([0.2, 0.1, 2.0, 4.0]), math.log(1 / 3 / (1 - 1 / 3))],
        method="Powell",
        options={"xtol": 1e-8, "ftol": 1e-12, "maxfev": 4000},
    )
    assert other.fun >= naive - 1e-7


def test_fit_truncated_at_two_matches_its_independent_likelihood(sample_tables):
    t = sample_tables
    e = expected(t.a, t.b, t.c, t.d)
    prior = gps_fit(t.a, e, min_count=2)
    assert prior.converged
    kept = t.a >= 2
    naive = naive_neg_log_likelihood(prior.theta, t.a[kept], e[kept], 2)
    np.testing.assert_allclose(prior.neg_log_likelihood, naive, rtol=1e-11)
    rng = np.random.default_rng(4)
    theta = np.array(prior.theta)
    for _ in range(10):
        moved = theta * np.exp(rng.normal(scale=0.02, size=5))
        assert naive_neg_log_likelihood(moved, t.a[kept], e[kept], 2) >= naive - 1e-9


def test_every_start_reaches_the_same_prior(sample_tables, sample_prior):
    t = sample_tables
    e = expected(t.a, t.b, t.c, t.d)
    for start in dp.DEFAULT_STARTS:
        prior = gps_fit(t.a, e, starts=[start])
        assert prior.converged
        np.testing.assert_allclose(prior.theta, sample_prior.theta, rtol=1e-4)


def count_full_fits(monkeypatch, size):
    """Spy on the optimiser: how many runs are over all `size` pairs."""
    runs = []
    minimize = fit_module._minimize

    def spy(objective, *args):
        runs.append(objective.size)
        return minimize(objective, *args)

    monkeypatch.setattr(fit_module, "_minimize", spy)
    return lambda: runs.count(size)


def test_screening_starts_on_a_sample_finds_the_same_prior(
    sample_tables, sample_prior, monkeypatch
):
    t = sample_tables
    monkeypatch.setattr(fit_module, "SCREEN_PAIRS", 500)
    full_fits = count_full_fits(monkeypatch, t.a.size)
    prior = gps_fit(t.a, expected(t.a, t.b, t.c, t.d))
    assert prior.converged
    assert full_fits() == 1
    np.testing.assert_allclose(prior.theta, sample_prior.theta, rtol=1e-5)


def test_a_screen_that_leads_into_a_corner_falls_back_to_every_start(
    sample_tables, sample_prior, monkeypatch
):
    # 300 pairs of this fixture favour alpha1 -> 0; from there all pairs only reach a local
    # optimum against the box, so every start is run on all pairs.
    t = sample_tables
    monkeypatch.setattr(fit_module, "SCREEN_PAIRS", 300)
    full_fits = count_full_fits(monkeypatch, t.a.size)
    prior = gps_fit(t.a, expected(t.a, t.b, t.c, t.d))
    assert prior.converged
    assert full_fits() > len(dp.DEFAULT_STARTS)
    np.testing.assert_allclose(prior.theta, sample_prior.theta, rtol=1e-5)


def test_a_fit_that_never_converges_says_so(sample_tables, monkeypatch):
    t = sample_tables

    def stalled(function, x0, **_):
        value, gradient = function(x0)
        return optimize.OptimizeResult(x=x0, fun=value, jac=gradient, success=False)

    monkeypatch.setattr(fit_module._optimize, "minimize", stalled)
    prior = gps_fit(t.a, expected(t.a, t.b, t.c, t.d), starts=[(0.2, 0.1, 2.0, 4.0, 0.3)])
    assert not prior.converged
    np.testing.assert_allclose(prior.theta, (0.2, 0.1, 2.0, 4.0, 0.3))


def test_fit_without_pairs_is_nan():
    prior = gps_fit([0, 0], [1.0, 2.0])
    assert not prior.converged
    assert all(math.isnan(value) for value in prior.theta)
    result = ebgm([1, 2], [0.5, 0.5], prior)
    assert np.isnan(result.ebgm).all() and np.isnan(result.eb05).all()


def test_bad_starts_are_rejected():
    with pytest.raises(ValueError):
        gps_fit([1, 2, 3], [0.5, 0.5, 0.5], starts=[(0.2, 0.1, 2.0, 4.0, 1.5)])
    with pytest.raises(ValueError):
        gps_fit([1, 2, 3], [0.5, 0.5, 0.5], starts=[])


def test_prior_from_theta():
    prior = GpsPrior.from_theta(CAERS_THETA)
    assert prior.theta == CAERS_THETA
    assert (prior.alpha1, prior.p) == (CAERS_THETA[0], CAERS_THETA[4])
    with pytest.raises(ValueError):
        GpsPrior.from_theta(CAERS_THETA[:4])


def test_posterior_matches_its_definition(sample_tables, sample_prior):
    t = sample_tables
    e = expected(t.a, t.b, t.c, t.d)
    result = ebgm(t.a, e, sample_prior)
    alpha1, beta1, alpha2, beta2, weight = sample_prior.theta
    f1 = stats.nbinom.pmf(t.a, alpha1, beta1 / (beta1 + e))
    f2 = stats.nbinom.pmf(t.a, alpha2, beta2 / (beta2 + e))
    qn = weight * f1 / (weight * f1 + (1 - weight) * f2)
    np.testing.assert_allclose(result.qn, qn, rtol=1e-9)
    rng = np.random.default_rng(5)
    for i in rng.choice(t.a.size, 25, replace=False):
        n = t.a[i]
        shapes, rates = (alpha1 + n, alpha2 + n), (beta1 + e[i], beta2 + e[i])
        mean_log = qn[i] * stats.gamma(shapes[0], scale=1 / rates[0]).expect(np.log) + (
            1 - qn[i]
        ) * stats.gamma(shapes[1], scale=1 / rates[1]).expect(np.log)
        np.testing.assert_allclose(result.ebgm[i], math.exp(mean_log), rtol=1e-7)
        low = mixture_quantile_by_brentq(0.05, qn[i], shapes, rates)
        high = mixture_quantile_by_brentq(0.95, qn[i], shapes, rates)
        np.testing.assert_allclose(result.eb05[i], low, rtol=1e-10)
        np.testing.assert_allclose(result.eb95[i], high, rtol=1e-10)
    assert (result.eb05 < result.ebgm).all() and (result.ebgm < result.eb95).all()


priors = st.tuples(
    st.floats(0.05, 20),
    st.floats(0.01, 10),
    st.floats(0.05, 20),
    st.floats(0.01, 10),
    st.floats(0.001, 0.999),
)
pairs = st.lists(
    st.tuples(st.integers(0, 300), st.floats(1e-4, 200) | st.just(0.0)), min_size=1, max_size=20
)


@settings(max_examples=100, deadline=None)
@given(priors, pairs)
def test_posterior_quantiles_solve_the_mixture_cdf(theta, rows):
    prior = GpsPrior.from_theta(theta)
    n, e = (np.array(column, dtype=np.float64) for column in zip(*rows, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ebgm(n, e, prior)
    alpha1, beta1, alpha2, beta2, _ = theta
    for i in range(n.size):
        single = ebgm(n[i], e[i], prior)
        for name in ("ebgm", "eb05", "eb95", "qn"):
            np.testing.assert_allclose(getattr(result, name)[i], getattr(single, name), rtol=1e-12)
        if e[i] == 0:
            assert math.isnan(result.ebgm[i]) and math.isnan(result.eb05[i])
            continue
        for level, bound in ((0.05, result.eb05[i]), (0.95, result.eb95[i])):
            cdf = result.qn[i] * stats.gamma.cdf(bound, alpha1 + n[i], scale=1 / (beta1 + e[i])) + (
                1 - result.qn[i]
            ) * stats.gamma.cdf(bound, alpha2 + n[i], scale=1 / (beta2 + e[i]))
            assert abs(cdf - level) < 1e-9


def test_single_component_priors():
    # P = 1: the posterior is Gamma(alpha1 + n, beta1 + E) alone.
    result = ebgm([4], [2.0], GpsPrior.from_theta((2.0, 1.0, 3.0, 3.0, 1.0)))
    posterior = stats.gamma(6.0, scale=1 / 3.0)
    np.testing.assert_allclose(result.eb05, posterior.ppf(0.05), rtol=1e-10)
    np.testing.assert_allclose(result.eb95, posterior.ppf(0.95), rtol=1e-10)
    assert float(result.qn[0]) == 1.0


# --- the package stays free of Django -----------------------------------------------------


def test_disproportionality_package_imports_no_django():
    """Every module of the package, not only those its __init__ happens to import."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import spontaneous.disproportionality as package\n"
        "prefix = package.__name__ + '.'\n"
        "names = [m.name for m in pkgutil.iter_modules(package.__path__, prefix)]\n"
        "assert len(names) >= 5, names\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_counts_without_spread_fit_the_point_mass_limit():
    """Counts of a sex-confounded import, stratified by sex, in the order a database gave
    them: within each sex nothing is disproportionate, so the likelihood rises towards a
    prior that is a point mass near 1, along a ridge where the line search stops before its
    gradient test passes. The fit still gives that limit, and no pair looks like a signal."""
    n, e = (
        column.astype(np.float64)
        for column in read_columns(DATA / "mgps_no_spread_pairs.csv", "n", "e")
    )
    prior = gps_fit(n, e, min_count=1)
    assert prior.converged
    heavy = (prior.alpha2, prior.beta2) if prior.p < 0.5 else (prior.alpha1, prior.beta1)
    assert heavy[0] / heavy[1] == pytest.approx(1, abs=0.01)
    assert heavy[0] > 1e5  # a point mass: the box of the parameters caps it
    result = ebgm(n, e, prior)
    assert np.all(np.isfinite(result.eb05))
    assert not np.any(result.eb05 >= 2)
