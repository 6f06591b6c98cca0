"""Exact statistics for signal detection against the label (docs/pharmacovigilance.md,
"Detection against the label").

A plain numpy/scipy module, with no Django import, so that a detection run can test every
(drug, term) pair of a run in a few vectorised calls:

- :func:`binom_sf_greater`: the exact one-sided binomial test P(X >= cases | n = exposed, p0),
  the same figure as ``scipy.stats.binomtest(cases, exposed, p0, alternative="greater").pvalue``;
- :func:`clopper_pearson`: the two-sided exact (Clopper-Pearson) interval of cases / exposed;
- :func:`benjamini_hochberg`: Benjamini-Hochberg q-values across the tests of a run;
- :func:`incidence_test`: the three together, with the flagging rule (cases >= min_cases and
  p < alpha).

Every function takes scalars or array-likes, broadcasts them against each other and returns
float64 arrays (0-d for scalar inputs; ``float(result)`` gives the number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

# scipy ships no type information of its own; the second code keeps mypy quiet whether or not
# scipy-stubs is installed.
from scipy import stats as _scipy_stats  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "IncidenceTest",
    "benjamini_hochberg",
    "binom_sf_greater",
    "clopper_pearson",
    "incidence_test",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _counts(name: str, values: ArrayLike) -> FloatArray:
    """A count array as float64, checked to hold only finite whole numbers >= 0."""
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    if np.any(array < 0):
        raise ValueError(f"{name} must not be negative")
    if np.any(array != np.floor(array)):
        raise ValueError(f"{name} must be whole numbers")
    return array


def _probabilities(name: str, values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if np.any(np.isnan(array)) or np.any((array < 0) | (array > 1)):
        raise ValueError(f"{name} must lie in [0, 1]")
    return array


def binom_sf_greater(cases: ArrayLike, exposed: ArrayLike, p0: ArrayLike) -> FloatArray:
    """Exact one-sided binomial tail P(X >= cases) for X ~ Binomial(exposed, p0).

    This is ``scipy.stats.binom.sf(cases - 1, exposed, p0)``, with the edge cases exact:
    cases == 0 gives 1; p0 == 0 gives 0 (unless cases == 0); p0 == 1 gives 1 (cases <= exposed);
    cases > exposed gives 0, since the event cannot happen.

    Raises ValueError for negative, non-finite or fractional counts and for p0 outside [0, 1].
    """
    k, n, p = np.broadcast_arrays(
        _counts("cases", cases), _counts("exposed", exposed), _probabilities("p0", p0)
    )
    zero_cases = k == 0
    impossible = k > n
    certain = p == 1
    never = p == 0
    edge = zero_cases | impossible | certain | never
    # Edge elements are settled below; give scipy harmless arguments there.
    k_safe = np.where(edge, 1.0, k)
    n_safe = np.where(edge, 1.0, n)
    p_safe = np.where(edge, 0.5, p)
    tail = np.asarray(_scipy_stats.binom.sf(k_safe - 1, n_safe, p_safe), dtype=np.float64)
    result = np.clip(tail, 0.0, 1.0)
    result = np.where(certain, 1.0, result)
    result = np.where(never, 0.0, result)
    result = np.where(impossible, 0.0, result)
    result = np.where(zero_cases, 1.0, result)
    return np.asarray(result, dtype=np.float64)


def clopper_pearson(
    cases: ArrayLike, exposed: ArrayLike, alpha: float = 0.05
) -> tuple[FloatArray, FloatArray]:
    """Two-sided exact (Clopper-Pearson) 1 - alpha interval for the proportion cases / exposed.

    lower = Beta.ppf(alpha / 2; cases, exposed - cases + 1), 0 when cases == 0;
    upper = Beta.ppf(1 - alpha / 2; cases + 1, exposed - cases), 1 when cases == exposed.
    exposed == 0 gives (nan, nan): there is no proportion to estimate.

    Raises ValueError for bad counts, cases > exposed, or alpha outside (0, 1).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie in (0, 1)")
    k, n = np.broadcast_arrays(_counts("cases", cases), _counts("exposed", exposed))
    if np.any(k > n):
        raise ValueError("cases must not exceed exposed")
    empty = n == 0
    no_cases = k == 0
    all_cases = k == n
    # Placeholders where a bound is fixed, so that scipy sees valid shape parameters.
    lower = np.asarray(
        _scipy_stats.beta.ppf(
            alpha / 2, np.where(no_cases, 1.0, k), np.where(no_cases, 1.0, n - k + 1)
        ),
        dtype=np.float64,
    )
    upper = np.asarray(
        _scipy_stats.beta.ppf(
            1 - alpha / 2, np.where(all_cases, 1.0, k + 1), np.where(all_cases, 1.0, n - k)
        ),
        dtype=np.float64,
    )
    lower = np.where(no_cases, 0.0, lower)
    upper = np.where(all_cases, 1.0, upper)
    lower = np.where(empty, np.nan, lower)
    upper = np.where(empty, np.nan, upper)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def benjamini_hochberg(p_values: ArrayLike) -> FloatArray:
    """Benjamini-Hochberg q-values (step-up adjusted p-values), in the order of the input.

    q_(i) = min over j >= i of p_(j) * m / j, capped at 1, where p_(1) <= ... <= p_(m) are the
    m non-NaN p-values. NaN entries are left out of m and come back as NaN; an empty input
    gives an empty array. Any shape is accepted and kept.

    The adjustment is scipy's ``false_discovery_control``; this wrapper adds what a run needs
    and scipy refuses: a test without a p-value (NaN) is no member of the family.

    Raises ValueError for a p-value outside [0, 1].
    """
    p = np.asarray(p_values, dtype=np.float64)
    valid = ~np.isnan(p)
    if np.any((p[valid] < 0) | (p[valid] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    q = np.full(p.shape, np.nan, dtype=np.float64)
    q[valid] = _scipy_stats.false_discovery_control(p[valid], method="bh")
    return q


@dataclass(frozen=True)
class IncidenceTest:
    """Element-wise results of :func:`incidence_test` (all arrays of the broadcast shape)."""

    observed: FloatArray
    """cases / exposed (nan when exposed == 0)."""
    ci_lower: FloatArray
    ci_upper: FloatArray
    expected: FloatArray
    p_value: FloatArray
    flagged: BoolArray
    """cases >= min_cases and p_value < alpha."""


def incidence_test(
    cases: ArrayLike,
    exposed: ArrayLike,
    p0: ArrayLike,
    alpha: float = 0.05,
    *,
    min_cases: int = 3,
    confidence: float = 0.95,
) -> IncidenceTest:
    """The incidence (or severity) rule, vectorised: flagged when there are at least
    ``min_cases`` cases and the exact one-sided binomial p-value against ``p0`` is below
    ``alpha``.

    Q-values are left to the caller, since Benjamini-Hochberg runs across all tests of a run
    (incidence and severity together): pass the p-values to :func:`benjamini_hochberg`.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie in (0, 1)")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must lie in (0, 1)")
    k, n, p = np.broadcast_arrays(
        _counts("cases", cases), _counts("exposed", exposed), _probabilities("p0", p0)
    )
    p_value = binom_sf_greater(k, n, p)
    lower, upper = clopper_pearson(k, n, 1.0 - confidence)
    observed = np.where(n > 0, k / np.where(n > 0, n, 1.0), np.nan)
    flagged = (k >= min_cases) & (p_value < alpha)
    return IncidenceTest(
        observed=np.asarray(observed, dtype=np.float64),
        ci_lower=lower,
        ci_upper=upper,
        expected=np.asarray(p, dtype=np.float64),
        p_value=p_value,
        flagged=np.asarray(flagged, dtype=np.bool_),
    )
