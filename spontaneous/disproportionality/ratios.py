"""The frequentist measures of a 2x2 table: PRR, ROR and the information component.

- :func:`prr`: proportional reporting ratio, its log-scale 95% interval, chi-square with and
  without Yates' correction, and the Evans criteria;
- :func:`ror`: reporting odds ratio with Woolf's 95% interval;
- :func:`information_component`: IC = log2((a + 0.5) / (E + 0.5)) with its 95% credibility
  interval from Gamma(a + 0.5, rate E + 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

# scipy ships no type information of its own; the second code keeps mypy quiet whether or not
# scipy-stubs is installed.
from scipy import special as _special  # type: ignore[import-untyped, unused-ignore]

from .counts import BoolArray, FloatArray, _cells, _distinct, _expected

Z_975 = 1.959963984540054
"""The 97.5% standard normal quantile: the 95% intervals are estimate x/÷ exp(Z_975 * se)."""


def _log_interval(
    estimate: FloatArray, se: FloatArray, confident: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """estimate x/÷ exp(Z_975 * se), nan where the log-scale interval does not exist."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_estimate = np.log(estimate)
        lower = np.exp(log_estimate - Z_975 * se)
        upper = np.exp(log_estimate + Z_975 * se)
    return (
        np.asarray(np.where(confident, lower, np.nan), dtype=np.float64),
        np.asarray(np.where(confident, upper, np.nan), dtype=np.float64),
    )


@dataclass(frozen=True)
class PrrResult:
    """Element-wise results of :func:`prr`."""

    prr: FloatArray
    """(a / (a + b)) / (c / (c + d)): inf when c = 0 < a, nan when undefined."""
    lower: FloatArray
    upper: FloatArray
    """The 95% interval on the log scale; nan when a or c is 0."""
    chi2_yates: FloatArray
    """N (max(|ad - bc| - N/2, 0))^2 / ((a+b)(c+d)(a+c)(b+d)); nan when a margin is empty."""
    chi2: FloatArray
    """The same without the continuity correction."""
    signal: BoolArray
    """Evans: PRR >= 2, Yates chi-square >= 4 and a >= min_cases."""


def prr(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, *, min_cases: int = 3) -> PrrResult:
    """Proportional reporting ratio of each 2x2 table, with the Evans signal criteria."""
    a_, b_, c_, d_ = _cells(a=a, b=b, c=c, d=d)
    n = a_ + b_ + c_ + d_
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = a_ * (c_ + d_) / (c_ * (a_ + b_))
        se = np.sqrt(1 / a_ - 1 / (a_ + b_) + 1 / c_ - 1 / (c_ + d_))
        margins = (a_ + b_) * (c_ + d_) * (a_ + c_) * (b_ + d_)
        excess = np.abs(a_ * d_ - b_ * c_)
        chi2 = n * excess**2 / margins
        chi2_yates = n * np.maximum(excess - n / 2, 0.0) ** 2 / margins
    lower, upper = _log_interval(ratio, se, (a_ > 0) & (c_ > 0) & np.isfinite(se))
    signal = (ratio >= 2) & (chi2_yates >= 4) & (a_ >= min_cases)
    return PrrResult(
        prr=np.asarray(ratio, dtype=np.float64),
        lower=lower,
        upper=upper,
        chi2_yates=np.asarray(chi2_yates, dtype=np.float64),
        chi2=np.asarray(chi2, dtype=np.float64),
        signal=np.asarray(signal, dtype=np.bool_),
    )


@dataclass(frozen=True)
class RorResult:
    """Element-wise results of :func:`ror`."""

    ror: FloatArray
    """ad / bc: inf when b or c is 0 (and ad > 0), nan when undefined."""
    lower: FloatArray
    upper: FloatArray
    """Woolf's 95% interval, se = sqrt(1/a + 1/b + 1/c + 1/d); nan when a cell is 0."""
    signal: BoolArray
    """lower > 1 and a >= min_cases."""


def ror(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, *, min_cases: int = 3) -> RorResult:
    """Reporting odds ratio of each 2x2 table, with Woolf's interval."""
    a_, b_, c_, d_ = _cells(a=a, b=b, c=c, d=d)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = a_ * d_ / (b_ * c_)
        se = np.sqrt(1 / a_ + 1 / b_ + 1 / c_ + 1 / d_)
    full = (a_ > 0) & (b_ > 0) & (c_ > 0) & (d_ > 0)
    lower, upper = _log_interval(ratio, se, full & np.isfinite(se))
    return RorResult(
        ror=np.asarray(ratio, dtype=np.float64),
        lower=lower,
        upper=upper,
        signal=np.asarray((lower > 1) & (a_ >= min_cases), dtype=np.bool_),
    )


# --- information component ----------------------------------------------------------------


@dataclass(frozen=True)
class IcResult:
    """Element-wise results of :func:`information_component`."""

    ic: FloatArray
    """log2((a + 0.5) / (E + 0.5))."""
    ic025: FloatArray
    ic975: FloatArray
    """log2 of the 2.5% and 97.5% quantiles of Gamma(a + 0.5, rate E + 0.5)."""
    expected: FloatArray
    """E = (a + b)(a + c) / N."""
    signal: BoolArray
    """ic025 > 0."""


def information_component(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> IcResult:
    """The information component with its 95% credibility interval; nan for an empty table."""
    a_, b_, c_, d_ = _cells(a=a, b=b, c=c, d=d)
    e = _expected(a_, b_, c_, d_)
    # The gamma quantile scales with the rate: find the standard (rate 1) quantile once per
    # distinct count.
    keys, index = _distinct(a_)
    shape = keys + 0.5
    low = np.asarray(_special.gammaincinv(shape, 0.025), dtype=np.float64)[index]
    high = np.asarray(_special.gammaincinv(shape, 0.975), dtype=np.float64)[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rate = np.log2(e + 0.5)
        ic = np.log2(a_ + 0.5) - log_rate
        ic025 = np.log2(low) - log_rate
        ic975 = np.log2(high) - log_rate
    return IcResult(
        ic=np.asarray(ic, dtype=np.float64),
        ic025=np.asarray(ic025, dtype=np.float64),
        ic975=np.asarray(ic975, dtype=np.float64),
        expected=e,
        signal=np.asarray(ic025 > 0, dtype=np.bool_),
    )
