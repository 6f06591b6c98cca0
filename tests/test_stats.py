"""surveillance.stats: exact binomial tail, Clopper-Pearson interval, Benjamini-Hochberg.

Plain numerical tests: no database. scipy.stats.binomtest is the reference for the test and the
interval; Benjamini-Hochberg is checked against a hand-computed example and a direct,
loop-by-loop transcription of the textbook formula.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest  # type: ignore[import-untyped, unused-ignore]

from surveillance.stats import (
    benjamini_hochberg,
    binom_sf_greater,
    clopper_pearson,
    incidence_test,
)

# docs/pharmacovigilance.md, "Worked figures": (cases, exposed, p0, p-value, CI low, CI high).
WORKED = [
    (5, 100, 0.01, "0.00343232", "0.016432", "0.112835"),
    (12, 150, 0.05, "0.0740041", "0.042020", "0.135574"),
    (30, 200, 0.10, "0.0163266", "0.103550", "0.207159"),
]


def agrees_to_digits(value: float, printed: str) -> bool:
    """value, rounded to as many decimals as printed shows, is the printed figure."""
    decimals = len(printed.split(".")[1])
    return round(value, decimals) == float(printed)


@st.composite
def binomial_inputs(draw, max_exposed=200_000):
    """(cases, exposed, p0) with the edge cases drawn often: exposed 1, no cases, all cases,
    p0 of 0 and 1."""
    exposed = draw(st.one_of(st.just(1), st.integers(1, 300), st.integers(1, max_exposed)))
    cases = draw(st.one_of(st.just(0), st.just(exposed), st.integers(0, exposed)))
    p0 = draw(
        st.one_of(
            st.sampled_from([0.0, 1.0]),
            st.floats(0.0, 1.0, allow_subnormal=False),
            st.floats(1e-6, 0.5),
        )
    )
    return cases, exposed, p0


# --- the worked figures ---------------------------------------------------------------------


@pytest.mark.parametrize(("cases", "exposed", "p0", "p_value", "lower", "upper"), WORKED)
def test_worked_figures(cases, exposed, p0, p_value, lower, upper):
    p = float(binom_sf_greater(cases, exposed, p0))
    low, high = (float(bound) for bound in clopper_pearson(cases, exposed))
    assert agrees_to_digits(p, p_value), p
    assert agrees_to_digits(low, lower), low
    assert agrees_to_digits(high, upper), high


def test_worked_figures_in_one_vectorised_call():
    cases, exposed, p0 = (np.array(column) for column in list(zip(*WORKED, strict=True))[:3])
    p = binom_sf_greater(cases, exposed, p0)
    low, high = clopper_pearson(cases, exposed)
    assert p.shape == low.shape == high.shape == (3,)
    for i, (*_, p_value, lower, upper) in enumerate(WORKED):
        assert agrees_to_digits(float(p[i]), p_value)
        assert agrees_to_digits(float(low[i]), lower)
        assert agrees_to_digits(float(high[i]), upper)


def test_incidence_test_flags_by_the_rule():
    cases, exposed, p0 = (np.array(column) for column in list(zip(*WORKED, strict=True))[:3])
    result = incidence_test(cases, exposed, p0)
    np.testing.assert_allclose(result.observed, [0.05, 0.08, 0.15])
    np.testing.assert_allclose(result.expected, [0.01, 0.05, 0.10])
    np.testing.assert_allclose(result.p_value, binom_sf_greater(cases, exposed, p0))
    assert result.flagged.tolist() == [True, False, True]
    # Below MIN_CASES nothing is flagged, however small the p-value.
    few = incidence_test([2, 3], [10, 10], [0.001, 0.001], min_cases=3)
    assert few.p_value[0] < 0.05
    assert few.flagged.tolist() == [False, True]
    assert math.isnan(float(incidence_test(0, 0, 0.1).observed))


# --- the binomial tail against scipy.stats.binomtest -------------------------------------


@settings(max_examples=300, deadline=None)
@given(binomial_inputs())
def test_binom_sf_greater_matches_binomtest(inputs):
    cases, exposed, p0 = inputs
    expected = binomtest(cases, exposed, p0, alternative="greater").pvalue
    got = binom_sf_greater(cases, exposed, p0)
    assert got.shape == ()
    assert got.dtype == np.float64
    np.testing.assert_allclose(float(got), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    ("cases", "exposed", "p0", "expected"),
    [
        (0, 10, 0.3, 1.0),  # no cases: P(X >= 0) = 1
        (0, 10, 0.0, 1.0),
        (0, 0, 0.5, 1.0),
        (1, 10, 0.0, 0.0),  # p0 = 0: no case can happen
        (10, 10, 0.0, 0.0),
        (1, 10, 1.0, 1.0),  # p0 = 1: every patient is a case
        (10, 10, 1.0, 1.0),
        (11, 10, 0.5, 0.0),  # more cases than patients: impossible under the model
        (11, 10, 1.0, 0.0),
        (1, 1, 0.25, 0.25),  # exposed of 1
        (0, 1, 0.25, 1.0),
        (10, 10, 0.5, 0.5**10),  # all cases
    ],
)
def test_binom_sf_greater_edge_cases_are_exact(cases, exposed, p0, expected):
    assert float(binom_sf_greater(cases, exposed, p0)) == expected


@pytest.mark.parametrize(
    ("cases", "exposed", "p0"),
    [
        (-1, 10, 0.1),
        (1, -10, 0.1),
        (1.5, 10, 0.1),
        (1, 10, -0.01),
        (1, 10, 1.01),
        (1, 10, math.nan),
        (math.inf, 10, 0.1),
        (1, math.nan, 0.1),
    ],
)
def test_binom_sf_greater_rejects_bad_input(cases, exposed, p0):
    with pytest.raises(ValueError):
        binom_sf_greater(cases, exposed, p0)


# --- Clopper-Pearson against binomtest(...).proportion_ci(method="exact") -----------------


@settings(max_examples=300, deadline=None)
@given(binomial_inputs(), st.sampled_from([0.05, 0.01, 0.1, 0.2]))
def test_clopper_pearson_matches_binomtest(inputs, alpha):
    cases, exposed, _ = inputs
    reference = binomtest(cases, exposed).proportion_ci(confidence_level=1 - alpha, method="exact")
    low, high = clopper_pearson(cases, exposed, alpha)
    assert low.shape == high.shape == ()
    # binomtest finds the bounds with brentq (xtol 2e-12); ours come from beta.ppf.
    np.testing.assert_allclose(float(low), reference.low, rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(float(high), reference.high, rtol=1e-8, atol=1e-11)
    assert 0.0 <= low <= cases / exposed <= high <= 1.0


@pytest.mark.parametrize(
    ("cases", "exposed", "low", "high"),
    [
        (0, 10, 0.0, 1 - 0.025 ** (1 / 10)),  # no cases: lower bound 0
        (10, 10, 0.025 ** (1 / 10), 1.0),  # all cases: upper bound 1
        (0, 1, 0.0, 0.975),  # exposed of 1
        (1, 1, 0.025, 1.0),
    ],
)
def test_clopper_pearson_edge_cases(cases, exposed, low, high):
    got_low, got_high = clopper_pearson(cases, exposed)
    assert float(got_low) == pytest.approx(low, rel=1e-12, abs=0)
    assert float(got_high) == pytest.approx(high, rel=1e-12, abs=0)


def test_clopper_pearson_without_patients_is_nan():
    low, high = clopper_pearson([0, 3], [0, 10])
    assert math.isnan(low[0])
    assert math.isnan(high[0])
    assert not math.isnan(low[1])
    assert not math.isnan(high[1])


@pytest.mark.parametrize(
    ("cases", "exposed", "alpha"),
    [(11, 10, 0.05), (-1, 10, 0.05), (1, 10.5, 0.05), (1, 10, 0.0), (1, 10, 1.0), (1, 10, -1)],
)
def test_clopper_pearson_rejects_bad_input(cases, exposed, alpha):
    with pytest.raises(ValueError):
        clopper_pearson(cases, exposed, alpha)


# --- vectorised calls are element-wise scalar calls ---------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(binomial_inputs(max_exposed=5_000), min_size=1, max_size=30))
def test_vectorised_calls_equal_scalar_calls(rows):
    cases, exposed, p0 = (np.array(column) for column in zip(*rows, strict=True))
    p = binom_sf_greater(cases, exposed, p0)
    low, high = clopper_pearson(cases, exposed)
    assert p.shape == low.shape == high.shape == (len(rows),)
    for i, (k, n, q) in enumerate(rows):
        scalar_low, scalar_high = clopper_pearson(k, n)
        assert p[i] == binom_sf_greater(k, n, q)
        assert low[i] == scalar_low
        assert high[i] == scalar_high


def test_arguments_broadcast():
    cases = np.array([[0, 1, 2], [3, 4, 5]])
    p = binom_sf_greater(cases, 20, [0.0, 0.1, 1.0])
    assert p.shape == (2, 3)
    assert p[:, 0].tolist() == [1.0, 0.0]  # p0 = 0
    assert p[:, 2].tolist() == [1.0, 1.0]  # p0 = 1
    assert p[1, 1] == binom_sf_greater(4, 20, 0.1)
    low, high = clopper_pearson(cases, [[10], [20]])
    assert low.shape == high.shape == (2, 3)
    assert high[1, 2] == clopper_pearson(5, 20)[1]
    # Python lists and numpy integer scalars are accepted as well.
    assert binom_sf_greater(np.int64(5), np.int64(100), np.float64(0.01)) == binom_sf_greater(
        5, 100, 0.01
    )


# --- Benjamini-Hochberg -------------------------------------------------------------------


def textbook_bh(p_values):
    """q_i = min over j with rank(j) >= rank(i) of p_j * m / rank(j), at most 1, where rank is
    the position (from 1) in ascending order of the m non-NaN p-values. Deliberately naive."""
    valid = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    ordered = sorted(valid)
    m = len(ordered)
    q = [math.nan] * len(p_values)
    for position, (_, index) in enumerate(ordered, start=1):
        q[index] = min(1.0, min(ordered[j - 1][0] * m / j for j in range(position, m + 1)))
    return q


def test_benjamini_hochberg_hand_computed():
    # Sorted: 0.005, 0.01, 0.03, 0.04, 0.2; p * 5 / rank: 0.025, 0.025, 0.05, 0.05, 0.2.
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    np.testing.assert_allclose(benjamini_hochberg(p), [0.025, 0.05, 0.05, 0.025, 0.2])
    # The step-up: 0.04 * 3 / 2 = 0.06 is lowered to 0.045 * 3 / 3 = 0.045.
    np.testing.assert_allclose(benjamini_hochberg([0.045, 0.04, 0.001]), [0.045, 0.045, 0.003])


def test_benjamini_hochberg_textbook_example():
    # Benjamini & Hochberg (1995), section 4: 15 p-values; at q* = 0.05 the first four are
    # rejected (p_(4) = 0.0095 <= 4/15 * 0.05), not the fifth.
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344]
    p += [0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]
    shuffled = np.random.default_rng(7).permutation(len(p))
    q = benjamini_hochberg(np.array(p)[shuffled])
    np.testing.assert_allclose(q, np.array(textbook_bh(p))[shuffled], rtol=1e-12)
    rejected = sorted(np.array(p)[shuffled][q <= 0.05].tolist())
    assert rejected == p[:4]


def test_benjamini_hochberg_nan_and_empty():
    q = benjamini_hochberg([0.02, math.nan, 0.01, math.nan])
    assert math.isnan(q[1])
    assert math.isnan(q[3])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.02])  # m = 2, not 4
    empty = benjamini_hochberg([])
    assert empty.shape == (0,)
    assert empty.dtype == np.float64
    assert np.isnan(benjamini_hochberg([math.nan, math.nan])).all()
    assert benjamini_hochberg(np.array([[0.01, 0.04], [0.03, 0.2]])).shape == (2, 2)


@pytest.mark.parametrize("bad", [[0.1, -0.01], [1.5], [0.2, math.inf]])
def test_benjamini_hochberg_rejects_bad_p_values(bad):
    with pytest.raises(ValueError):
        benjamini_hochberg(bad)


p_value_lists = st.lists(
    st.one_of(
        st.floats(0.0, 1.0),
        st.sampled_from([0.0, 1.0, 0.05, math.nan]),  # ties, bounds and NaN
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(p_value_lists)
def test_benjamini_hochberg_properties(p_values):
    p = np.array(p_values, dtype=np.float64)
    q = benjamini_hochberg(p)
    assert q.shape == p.shape
    nan = np.isnan(p)
    assert (np.isnan(q) == nan).all()
    p, q = p[~nan], q[~nan]
    np.testing.assert_allclose(q, textbook_bh(p.tolist()), rtol=1e-12)
    assert (q >= p).all()
    assert (q <= 1.0).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(q[order]) >= 0).all()  # monotone in sorted p
    # The order of the input does not matter.
    reverse = benjamini_hochberg(p[::-1])
    np.testing.assert_array_equal(reverse[::-1], q)


# --- the module stays free of Django ------------------------------------------------------


def test_stats_module_imports_no_django():
    code = (
        "import sys, surveillance.stats; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
