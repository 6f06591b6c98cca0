"""Disproportionality statistics across the drugs of a spontaneous-report database (DOMAIN.md 7).

A plain numpy/scipy module, with no Django import. Every function takes arrays (one element per
drug-event pair) and returns arrays; nothing loops over pairs in Python, so a run over millions
of pairs costs a few vectorised passes.

- :func:`pair_counts`: the 2x2 tables of every drug-event pair, over unique report ids;
- :func:`expected`: E = (a + b)(a + c) / N, the count expected if drug and event were independent;
- :func:`prr`: proportional reporting ratio, its log-scale 95% interval, chi-square with and
  without Yates' correction, and the Evans criteria;
- :func:`ror`: reporting odds ratio with Woolf's 95% interval;
- :func:`information_component`: IC = log2((a + 0.5) / (E + 0.5)) with its 95% credibility
  interval from Gamma(a + 0.5, rate E + 0.5);
- :func:`gps_fit` and :func:`ebgm`: DuMouchel's multi-item gamma-Poisson shrinker (MGPS). The
  two-gamma mixture prior is fitted by maximum likelihood, each negative-binomial component of
  the marginal truncated at the minimum count N* (openEBGM's convention); EBGM, EB05 and EB95
  come from the posterior mixture of two gammas.

The 2x2 cells of a pair: a = reports with drug and event, b = drug without event, c = event
without drug, d = neither. Cells may be any non-negative finite numbers (a continuity
correction is the caller's choice). Empty cells give nan or inf where a figure does not exist,
without warnings; negative or non-finite cells raise ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# scipy ships no type information of its own; the second code keeps mypy quiet whether or not
# scipy-stubs is installed.
from scipy import optimize as _optimize  # type: ignore[import-untyped, unused-ignore]
from scipy import special as _special  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "EbgmResult",
    "GpsPrior",
    "IcResult",
    "PairCounts",
    "PrrResult",
    "RorResult",
    "ebgm",
    "expected",
    "gps_fit",
    "information_component",
    "pair_counts",
    "prr",
    "ror",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

Z_975 = 1.959963984540054
"""The 97.5% standard normal quantile: the 95% intervals are estimate x/÷ exp(Z_975 * se)."""

DEFAULT_STARTS: tuple[tuple[float, float, float, float, float], ...] = (
    (0.2, 0.1, 2.0, 4.0, 1 / 3),
    (0.2, 0.06, 1.4, 1.8, 0.1),
    (1.0, 0.5, 2.0, 2.0, 0.1),
    (3.0, 0.5, 2.0, 2.0, 0.05),
    (0.5, 0.05, 5.0, 5.0, 0.2),
)
"""Starting priors (alpha1, beta1, alpha2, beta2, P) of :func:`gps_fit`: a minor component of
high relative reporting beside a major one near 1, in several shapes and weights."""

# Parameters are optimised as (log alpha1, log beta1, log alpha2, log beta2, logit P), boxed so
# that a wandering start cannot overflow; the box is far wider than any fitted prior.
_LOG_BOUND = math.log(1e6)
_LOGIT_BOUND = 25.0
_LOWER = np.array([-_LOG_BOUND] * 4 + [-_LOGIT_BOUND])
_UPPER = -_LOWER
_BOUNDS = list(zip(_LOWER.tolist(), _UPPER.tolist(), strict=True))

SCREEN_PAIRS = 100_000
"""Above twice this many pairs, :func:`gps_fit` screens its starts on a sample of this size."""

RACE_ITERATIONS = 20
"""Steps of every start of :func:`gps_fit` before the one ahead is climbed to its optimum."""


# --- inputs -------------------------------------------------------------------------------


def _cells(**cells: ArrayLike) -> list[FloatArray]:
    """The named count arrays as float64, broadcast together, checked finite and >= 0."""
    arrays = []
    for name, values in cells.items():
        array = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite")
        if np.any(array < 0):
            raise ValueError(f"{name} must not be negative")
        arrays.append(array)
    return [np.asarray(array, dtype=np.float64) for array in np.broadcast_arrays(*arrays)]


def _factorize(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """(labels, codes): the sorted distinct values and each value's position among them.

    By sorting rather than np.unique, whose hashing is many times slower than a sort on
    millions of integers; whole numbers in a compact range skip the sort altogether.
    """
    flat = values.ravel()
    if flat.size == 0:
        return flat[:0], np.zeros(values.shape, dtype=np.intp)
    if flat.dtype.kind in "iu" or (flat.dtype.kind == "f" and bool(np.all(np.isfinite(flat)))):
        low, high = flat.min(), flat.max()
        span = float(high) - float(low)
        if span + 1 <= max(4096.0, 2.0 * flat.size) and (
            flat.dtype.kind != "f" or bool(np.all(flat == np.floor(flat)))
        ):
            offsets = (flat - low).astype(np.intp)
            present = np.zeros(int(span) + 1, dtype=np.bool_)
            present[offsets] = True
            rank = np.cumsum(present, dtype=np.intp) - 1
            labels = (np.flatnonzero(present) + low).astype(flat.dtype)
            return labels, rank[offsets].reshape(values.shape)
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    first = np.empty(flat.size, dtype=np.bool_)
    first[0] = True
    if flat.dtype.kind == "f":
        # nan != nan: keep the nans of a float array together.
        first[1:] = (ordered[1:] != ordered[:-1]) & ~(
            np.isnan(ordered[1:]) & np.isnan(ordered[:-1])
        )
    else:
        first[1:] = ordered[1:] != ordered[:-1]
    codes = np.empty(flat.size, dtype=np.intp)
    codes[order] = np.cumsum(first, dtype=np.intp) - 1
    return ordered[first], codes.reshape(values.shape)


def _distinct(values: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """(keys, index) with values == keys[index], so that a costly function of a count is
    computed once per distinct count and gathered.

    Counts are whole numbers, mostly small: then keys are simply 0..max and the index is the
    count itself, found in one pass without sorting.
    """
    flat = values.ravel()
    if flat.size and np.all(np.isfinite(flat)):
        low, high = float(flat.min()), float(flat.max())
        if (
            low >= 0
            and high + 1 <= max(4096.0, float(flat.size))
            and np.all(flat == np.floor(flat))
        ):
            index = flat.astype(np.intp)
            return np.arange(int(high) + 1, dtype=np.float64), index.reshape(values.shape)
    keys, index = _factorize(flat)
    return np.asarray(keys, dtype=np.float64), index.reshape(values.shape)


# --- the 2x2 tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class PairCounts:
    """The 2x2 table of every drug-event pair reported at least once (arrays of one length,
    sorted by drug then event label)."""

    drugs: NDArray[Any]
    events: NDArray[Any]
    a: IntArray
    """Reports naming the drug and the event."""
    b: IntArray
    """Reports naming the drug, not the event."""
    c: IntArray
    """Reports naming the event, not the drug."""
    d: IntArray
    """Reports naming neither."""
    n_total: int
    """Unique report ids."""


def _distinct_rows(major: IntArray, minor: IntArray, minor_size: int) -> tuple[IntArray, IntArray]:
    """The distinct (major, minor) rows, sorted by major then minor."""
    if major.size == 0:
        return major, minor
    if (int(major.max()) + 1) * minor_size < 2**62:
        keys = np.sort(major * minor_size + minor)
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
        return keys // minor_size, keys % minor_size
    order = np.lexsort((minor, major))
    major, minor = major[order], minor[order]
    first = np.ones(major.size, dtype=np.bool_)
    first[1:] = (major[1:] != major[:-1]) | (minor[1:] != minor[:-1])
    return major[first], minor[first]


def pair_counts(report_ids: ArrayLike, drugs: ArrayLike, events: ArrayLike) -> PairCounts:
    """The 2x2 counts of every drug-event pair from report rows, over unique report ids.

    One row per (report, drug, event); a report may repeat a row, and lists each of its drugs
    against each of its events. A report counts once in a cell however many rows it has there;
    n_total is the number of distinct report ids, and d = n_total - a - b - c.
    """
    ids = np.asarray(report_ids)
    drug_labels = np.asarray(drugs)
    event_labels = np.asarray(events)
    if not ids.ndim == drug_labels.ndim == event_labels.ndim == 1:
        raise ValueError("report_ids, drugs and events must be one-dimensional")
    if not ids.size == drug_labels.size == event_labels.size:
        raise ValueError("report_ids, drugs and events must have the same length")
    _, report = _factorize(ids)
    drug_names, drug = _factorize(drug_labels)
    event_names, event = _factorize(event_labels)
    report = report.astype(np.int64).ravel()
    drug = drug.astype(np.int64).ravel()
    event = event.astype(np.int64).ravel()
    n_total = int(report.max()) + 1 if report.size else 0
    n_events = event_names.size

    pair, _ = _distinct_rows(drug * n_events + event, report, n_total)
    # Rows come back sorted by pair: each run of one pair is its reports.
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if pair.size else pair
    a = np.diff(np.r_[starts, pair.size]).astype(np.int64)
    pair = pair[starts]
    pair_drug, pair_event = pair // max(n_events, 1), pair % max(n_events, 1)

    drug_reports = np.bincount(_distinct_rows(drug, report, n_total)[0], minlength=drug_names.size)
    event_reports = np.bincount(_distinct_rows(event, report, n_total)[0], minlength=n_events)
    b = drug_reports[pair_drug].astype(np.int64) - a
    c = event_reports[pair_event].astype(np.int64) - a
    return PairCounts(
        drugs=drug_names[pair_drug],
        events=event_names[pair_event],
        a=a,
        b=b,
        c=c,
        d=np.int64(n_total) - a - b - c,
        n_total=n_total,
    )


def expected(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> FloatArray:
    """E = (a + b)(a + c) / N with N = a + b + c + d; nan for an empty table."""
    a_, b_, c_, d_ = _cells(a=a, b=b, c=c, d=d)
    return _expected(a_, b_, c_, d_)


def _expected(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> FloatArray:
    n = a + b + c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((a + b) * (a + c) / n, dtype=np.float64)


# --- frequentist ratios -------------------------------------------------------------------


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


# --- MGPS: the prior ----------------------------------------------------------------------


@dataclass(frozen=True)
class GpsPrior:
    """The two-gamma mixture prior of the relative reporting rate lambda of a pair:
    P * Gamma(alpha1, rate beta1) + (1 - P) * Gamma(alpha2, rate beta2).

    A fitted prior puts the minor component first (P <= 0.5), as DuMouchel (1999) does.
    """

    alpha1: float
    beta1: float
    alpha2: float
    beta2: float
    p: float
    neg_log_likelihood: float = math.nan
    """Of the truncated marginal likelihood at this prior, over the pairs it was fitted to."""
    converged: bool = True
    """False when no start of the fit converged; the prior is then the best found."""

    @classmethod
    def from_theta(
        cls,
        theta: Sequence[float],
        *,
        neg_log_likelihood: float = math.nan,
        converged: bool = True,
    ) -> GpsPrior:
        """A prior from (alpha1, beta1, alpha2, beta2, P), the order in which it is published."""
        values = [float(value) for value in theta]
        if len(values) != 5:
            raise ValueError("theta is (alpha1, beta1, alpha2, beta2, P)")
        alpha1, beta1, alpha2, beta2, p = values
        return cls(
            alpha1,
            beta1,
            alpha2,
            beta2,
            p,
            neg_log_likelihood=neg_log_likelihood,
            converged=converged,
        )

    @property
    def theta(self) -> tuple[float, float, float, float, float]:
        return (self.alpha1, self.beta1, self.alpha2, self.beta2, self.p)


_CHUNK = 65_536
"""Pairs per block of the likelihood: a block's temporaries stay in the processor's cache."""


class _TruncatedMixture:
    """Negative log-likelihood and gradient of the prior over the pairs with n >= N*.

    Each pair's count is marginally a mixture of two negative binomials, f_k(n) =
    Gamma(alpha + n) / (Gamma(alpha) n!) * p^alpha * (1 - p)^n with p = beta / (beta + E); each
    component is truncated at N*, g_k(n) = f_k(n) / (1 - sum_{m < N*} f_k(m)).

    The optimiser calls this some hundred times over every pair, so it is written for speed:
    functions of the count alone are computed once per distinct count, and the per-pair
    arithmetic runs in place, block by block of pairs.
    """

    def __init__(self, n: FloatArray, e: FloatArray, min_count: int) -> None:
        self.n = n
        self.e = e
        self.keys, self.index = _distinct(n)
        self.min_count = min_count
        self.size = n.size
        # n log E and the n! terms do not depend on the prior.
        self.n_log_e = np.asarray(_special.xlogy(n, e), dtype=np.float64)
        self.constant = float(np.sum(_special.gammaln(n + 1.0)) - np.sum(self.n_log_e))

    def _tables(self, alpha: float, beta: float) -> tuple[FloatArray, FloatArray]:
        """Per distinct count: lgamma(alpha + n) - lgamma(alpha) - n log beta, and
        digamma(alpha + n) - digamma(alpha)."""
        keys = self.keys
        shift = _special.gammaln(alpha + keys) - math.lgamma(alpha) - keys * math.log(beta)
        shift_d = _special.digamma(alpha + keys) - _special.digamma(alpha)
        return np.asarray(shift, dtype=np.float64), np.asarray(shift_d, dtype=np.float64)

    def _component(
        self,
        block: slice,
        alpha: float,
        beta: float,
        tables: tuple[FloatArray, FloatArray],
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """log g(n) without the terms free of the prior, and its derivatives in log alpha and
        log beta, for the pairs of the block."""
        n, index = self.n[block], self.index[block]
        ratio = self.e[block] / beta
        log_p = np.log1p(ratio)
        np.negative(log_p, out=log_p)
        ratio /= 1.0 + ratio  # E / (beta + E) = 1 - p
        # log f = lgamma(alpha + n) - lgamma(alpha) - n log beta + (alpha + n) log p + n log E
        log_f = tables[0][index]
        shape = n + alpha
        log_f += shape * log_p
        # d log f / d log beta = alpha (1 - p) - n p = (alpha + n)(1 - p) - n
        d_beta = shape
        d_beta *= ratio
        d_beta -= n
        # d log f / d log alpha = alpha (digamma(alpha + n) - digamma(alpha) + log p)
        d_alpha = tables[1][index]
        d_alpha += log_p
        d_alpha *= alpha
        if self.min_count == 1:
            # The mass below N* is f(0) = p^alpha: log g = log f - log(1 - p^alpha), and
            # d log g = d log f + d(alpha log p) * p^alpha / (1 - p^alpha).
            exponent = log_p
            exponent *= alpha
            tail = np.expm1(exponent)
            np.negative(tail, out=tail)
            log_f -= np.log(tail)
            below = 1.0 - tail
            below /= tail
            d_alpha += below * exponent
            below *= alpha
            below *= ratio
            d_beta += below
        elif self.min_count > 1:
            self._truncate(alpha, log_p, ratio, log_f, d_alpha, d_beta)
        return log_f, d_alpha, d_beta

    def _truncate(
        self,
        alpha: float,
        log_p: FloatArray,
        ratio: FloatArray,
        log_f: FloatArray,
        d_alpha: FloatArray,
        d_beta: FloatArray,
    ) -> None:
        """Subtract log(1 - sum_{m < N*} f(m)) from log f, and its derivatives from d_alpha
        and d_beta, in place: one vectorised pass per count m below N*."""
        log_q = np.log(ratio)
        mass = np.zeros_like(log_p)
        mass_alpha = np.zeros_like(log_p)
        mass_beta = np.zeros_like(log_p)
        for m in range(self.min_count):
            log_fm = alpha * log_p + m * log_q
            log_fm += math.lgamma(alpha + m) - math.lgamma(alpha) - math.lgamma(m + 1.0)
            fm = np.exp(log_fm)
            mass += fm
            digammas = float(_special.digamma(alpha + m) - _special.digamma(alpha))
            mass_alpha += fm * alpha * (digammas + log_p)
            mass_beta += fm * ((alpha + m) * ratio - m)
        tail = 1.0 - mass
        log_f -= np.log(tail)
        d_alpha += mass_alpha / tail
        d_beta += mass_beta / tail

    def __call__(self, u: FloatArray) -> tuple[float, FloatArray]:
        """Mean negative log-likelihood per pair (up to a constant) and its gradient."""
        alpha1, beta1, alpha2, beta2 = (float(value) for value in np.exp(u[:4]))
        weight = float(_special.expit(u[4]))
        tables1, tables2 = self._tables(alpha1, beta1), self._tables(alpha2, beta2)
        value = 0.0
        # Sums over pairs of w1 d_alpha1, w1 d_beta1, w2 d_alpha2, w2 d_beta2 and w1.
        sums = np.zeros(5)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            for start in range(0, self.size, _CHUNK):
                block = slice(start, start + _CHUNK)
                log_g1, d_alpha1, d_beta1 = self._component(block, alpha1, beta1, tables1)
                log_g2, d_alpha2, d_beta2 = self._component(block, alpha2, beta2, tables2)
                # log(P g1 + (1 - P) g2) per pair, and the share w1 of the first component.
                split = log_g1
                split -= log_g2
                split += _logit(weight)
                total = log_g2
                total += np.maximum(split, 0.0)
                small = np.abs(split)
                np.negative(small, out=small)
                np.exp(small, out=small)  # exp(-|split|), in (0, 1]
                total += np.log1p(small)
                w1 = np.where(split >= 0, 1.0, small)
                small += 1.0
                w1 /= small
                value -= float(total.sum())
                # Plain sums of products: BLAS dot products spin threads for no gain here.
                sums += [
                    (w1 * d_alpha1).sum(),
                    (w1 * d_beta1).sum(),
                    d_alpha2.sum() - (w1 * d_alpha2).sum(),
                    d_beta2.sum() - (w1 * d_beta2).sum(),
                    w1.sum(),
                ]
        value -= self.size * math.log1p(-weight)
        gradient = -sums
        gradient[4] += weight * self.size
        if not math.isfinite(value) or not np.all(np.isfinite(gradient)):
            return math.inf, np.zeros(5)
        return value / self.size, np.asarray(gradient / self.size, dtype=np.float64)

    def neg_log_likelihood(self, u: FloatArray) -> float:
        """The full negative log-likelihood, n! terms included."""
        return self(u)[0] * self.size + self.constant


def _logit(weight: float) -> float:
    if weight <= 0 or weight >= 1:
        return math.copysign(math.inf, weight - 0.5) if 0 <= weight <= 1 else math.nan
    return math.log(weight) - math.log1p(-weight)


def _to_free(theta: Sequence[float]) -> FloatArray:
    alpha1, beta1, alpha2, beta2, weight = (float(value) for value in theta)
    if not (min(alpha1, beta1, alpha2, beta2) > 0 and 0 < weight < 1):
        raise ValueError("alpha and beta must be > 0 and P in (0, 1)")
    return np.array(
        [
            math.log(alpha1),
            math.log(beta1),
            math.log(alpha2),
            math.log(beta2),
            _logit(weight),
        ]
    )


def _from_free(u: FloatArray) -> tuple[float, float, float, float, float]:
    alpha1, beta1, alpha2, beta2 = (float(value) for value in np.exp(u[:4]))
    return alpha1, beta1, alpha2, beta2, float(_special.expit(u[4]))


@dataclass(frozen=True)
class _Optimum:
    u: FloatArray
    value: float
    converged: bool


def _minimize(objective: _TruncatedMixture, u0: FloatArray, max_iterations: int = 1000) -> _Optimum:
    result = _optimize.minimize(
        objective,
        np.clip(u0, _LOWER, _UPPER),
        jac=True,
        method="L-BFGS-B",
        bounds=_BOUNDS,
        options={"maxiter": max_iterations, "ftol": 1e-14, "gtol": 1e-9},
    )
    u = np.asarray(result.x, dtype=np.float64)
    value = float(result.fun)
    converged = bool(result.success)
    if not converged and math.isfinite(value):
        # A line search that fails at the optimum, where rounding hides any further descent,
        # still found the optimum: accept it when the projected gradient vanishes.
        gradient = np.asarray(result.jac, dtype=np.float64)
        free = ((u > _LOWER) | (gradient < 0)) & ((u < _UPPER) | (gradient > 0))
        converged = bool(np.max(np.abs(gradient[free]), initial=0.0) <= 1e-6)
    return _Optimum(u=u, value=value, converged=converged and math.isfinite(value))


def _on_bound(u: FloatArray) -> bool:
    return bool(np.any(np.abs(u) >= _UPPER * (1 - 1e-6)))


def _best(optima: Sequence[_Optimum]) -> _Optimum:
    return min(optima, key=lambda optimum: (not optimum.converged, optimum.value))


def _climb(objective: _TruncatedMixture, initial: Sequence[FloatArray]) -> _Optimum:
    """The best optimum from the starts, at the cost of about one full climb and a few short
    ones: every start goes RACE_ITERATIONS steps, then the one ahead is climbed to its optimum.
    Should that not converge, the next one is, and so on."""
    raced = sorted(
        (_minimize(objective, u0, RACE_ITERATIONS) for u0 in initial),
        key=lambda optimum: optimum.value,
    )
    finished = []
    for optimum in raced:
        finished.append(optimum if optimum.converged else _minimize(objective, optimum.u))
        if finished[-1].converged:
            return finished[-1]
    return _degenerate_limit(finished)


def _degenerate_limit(optima: Sequence[_Optimum]) -> _Optimum:
    """The best of climbs none of which converged, accepted when it is the limit of a
    degenerate prior.

    When the counts show no spread beyond Poisson for one component, the likelihood rises
    towards a point mass (alpha and beta without bound at a fixed ratio): a ridge on which
    L-BFGS-B's line search fails before its gradient test passes, or not, depending on the
    order of the pairs' sums. The best climb against the box, and another from a different
    start at the same likelihood (relative 1e-9) on the way there, have found that limit,
    which the box only caps.
    """
    best = _best(optima)
    if _on_bound(best.u):
        tolerance = 1e-9 * max(abs(best.value), 1.0)
        agreeing = [o for o in optima if abs(o.value - best.value) <= tolerance]
        if len(agreeing) >= 2:
            return _Optimum(u=best.u, value=best.value, converged=True)
    return best


def gps_fit(
    n: ArrayLike,
    e: ArrayLike,
    *,
    min_count: int = 1,
    starts: Sequence[Sequence[float]] | None = None,
) -> GpsPrior:
    """Maximum-likelihood two-gamma prior over the pairs with n >= min_count (= N*).

    Each mixture component is truncated at N* (min_count 0: no truncation, and the pairs with
    n = 0 must then be given). Pairs with E <= 0 carry no information and are left out.

    L-BFGS-B minimises the likelihood over (log alpha, log beta, logit P) with its analytic
    gradient, from each start (alpha1, beta1, alpha2, beta2, P), default
    :data:`DEFAULT_STARTS`: each start runs RACE_ITERATIONS steps, and the one ahead is taken
    on to convergence (the next one if it does not converge, and so on). Beyond twice
    SCREEN_PAIRS pairs this race is run on a fixed random sample of SCREEN_PAIRS pairs, and its
    winner alone is climbed on all pairs: the basin is found cheaply and climbed once. (Should
    that climb end unconverged or against the box of the parameters, the race is run again on
    all pairs.) When nothing converges the best optimum found comes back with converged False;
    with no pair to fit, all nan.
    """
    if min_count < 0:
        raise ValueError("min_count must be >= 0")
    counts, rates = _cells(n=n, e=e)
    keep = (counts >= min_count) & (rates > 0)
    counts, rates = counts[keep].ravel(), rates[keep].ravel()
    if counts.size == 0:
        return GpsPrior.from_theta((math.nan,) * 5, converged=False)
    try:
        initial = [_to_free(start) for start in (DEFAULT_STARTS if starts is None else starts)]
    except (ValueError, TypeError) as error:
        raise ValueError("a start is (alpha1, beta1, alpha2, beta2, P), all > 0, P < 1") from error
    if not initial:
        raise ValueError("at least one start is needed")
    objective = _TruncatedMixture(counts, rates, min_count)
    if counts.size > 2 * SCREEN_PAIRS:
        sample = np.sort(np.random.default_rng(0).choice(counts.size, SCREEN_PAIRS, replace=False))
        screen = _TruncatedMixture(counts[sample], rates[sample], min_count)
        best = _minimize(objective, _climb(screen, initial).u)
        if not best.converged or _on_bound(best.u):
            # A sample that favours a degenerate prior can lead into a corner that is only a
            # local optimum of the whole: then the starts are run on all pairs after all.
            best = _best([best, _climb(objective, initial)])
    else:
        best = _climb(objective, initial)
    theta = _from_free(best.u)
    if theta[4] > 0.5:
        theta = (theta[2], theta[3], theta[0], theta[1], 1.0 - theta[4])
    return GpsPrior.from_theta(
        theta,
        neg_log_likelihood=objective.neg_log_likelihood(best.u),
        converged=best.converged,
    )


# --- MGPS: the posterior ------------------------------------------------------------------


@dataclass(frozen=True)
class EbgmResult:
    """Element-wise results of :func:`ebgm`."""

    ebgm: FloatArray
    """exp(E[log lambda | n]), the geometric mean of the posterior."""
    eb05: FloatArray
    eb95: FloatArray
    """The 5% and 95% quantiles of the posterior of lambda."""
    qn: FloatArray
    """Posterior weight of the prior's first component."""


def _log_marginal(
    alpha: float, beta: float, n: FloatArray, e: FloatArray, shift: FloatArray
) -> FloatArray:
    """log f(n) of a negative-binomial component, without the n! term; shift is
    lgamma(alpha + n) - lgamma(alpha) per pair."""
    log_p = -np.log1p(e / beta)
    return np.asarray(shift + alpha * log_p + _special.xlogy(n, e / (beta + e)), dtype=np.float64)


def _mixture_quantile(
    level: float,
    weight: FloatArray,
    shapes: tuple[FloatArray, FloatArray],
    rates: tuple[FloatArray, FloatArray],
    starts: tuple[FloatArray, FloatArray],
    log_gammas: tuple[FloatArray, FloatArray],
    *,
    max_iterations: int = 100,
) -> FloatArray:
    """x with w G1(x) + (1 - w) G2(x) = level, where G_k is the Gamma(shape_k, rate_k) CDF,
    starts holds each component's own quantile at level and log_gammas lgamma(shape_k).

    The root lies between the two component quantiles. Newton's method on log x runs on all
    pairs at once from the quantile of the heavier component, each step that would leave the
    bracket replaced by bisection. A pair is done once a Newton step moves log x by less than
    1e-6: the step then leaves a relative error of order 1e-12 at most. Since a posterior is
    nearly always dominated by one component, most pairs are done after a step or two.
    """
    (s1, s2), (r1, r2) = shapes, rates
    low = np.log(np.minimum(starts[0], starts[1]))
    high = np.log(np.maximum(starts[0], starts[1]))
    first_heavier = weight >= 0.5
    u = np.log(np.where(first_heavier, starts[0], starts[1]))
    result = np.full(weight.shape, np.nan)
    active = np.flatnonzero(np.isfinite(low) & np.isfinite(high) & np.isfinite(weight))
    lgamma1, lgamma2 = log_gammas

    def slope(at: NDArray[np.intp], point: FloatArray) -> FloatArray:
        """d cdf / d log x = x * density of the mixture."""
        w, a1, a2, b1, b2 = weight[at], s1[at], s2[at], r1[at] * point, r2[at] * point
        value = w * np.exp(a1 * np.log(b1) - b1 - lgamma1[at])
        value += (1 - w) * np.exp(a2 * np.log(b2) - b2 - lgamma2[at])
        return np.asarray(value, dtype=np.float64)

    # At the start the heavier component's CDF is level by construction: only the other one
    # needs computing.
    point = np.exp(u[active])
    heavier = first_heavier[active]
    w_heavy = np.where(heavier, weight[active], 1 - weight[active])
    other = _special.gammainc(
        np.where(heavier, s2[active], s1[active]),
        np.where(heavier, r2[active], r1[active]) * point,
    )
    miss = w_heavy * level + (1 - w_heavy) * other - level
    for _ in range(max_iterations):
        if active.size == 0:
            break
        here = u[active]
        gradient = slope(active, point)
        above = miss > 0
        high[active] = np.where(above, here, high[active])
        low[active] = np.where(above, low[active], here)
        lo, hi = low[active], high[active]
        step = here - miss / gradient
        newton = (step > lo) & (step < hi)
        step = np.where(newton, step, 0.5 * (lo + hi))
        done = (newton & (np.abs(step - here) <= 1e-6)) | (hi - lo <= 1e-12) | (miss == 0)
        result[active[done]] = np.exp(np.where(miss[done] == 0, here[done], step[done]))
        u[active] = step
        active, step = active[~done], step[~done]
        point = np.exp(step)
        w = weight[active]
        miss = w * _special.gammainc(s1[active], r1[active] * point)
        miss += (1 - w) * _special.gammainc(s2[active], r2[active] * point)
        miss -= level
    if active.size:
        result[active] = np.exp(u[active])
    return result


def ebgm(n: ArrayLike, e: ArrayLike, prior: GpsPrior) -> EbgmResult:
    """Posterior summaries of lambda for each pair under the prior.

    Given n and E, lambda is a mixture of Gamma(alpha1 + n, rate beta1 + E) and Gamma(alpha2 +
    n, rate beta2 + E), the first with weight Qn = P f1(n) / (P f1(n) + (1 - P) f2(n)).

    Qn uses the untruncated negative-binomial marginals f_k, as DuMouchel's posterior does: the
    truncation at N* enters the fit of the prior only. This is the convention of the published
    MGPS figures (on openEBGM's CAERS sample, 131 pairs with EB05 >= 2; truncated marginals
    in Qn would give 85). EBGM is exp(Qn E1[log lambda] + (1 - Qn) E2[log lambda]), with
    E_k[log lambda] = digamma(alpha_k + n) - log(beta_k + E).

    Pairs with E <= 0, and every pair under a prior without positive finite alphas and betas
    and P in [0, 1], give nan.
    """
    counts, rates = _cells(n=n, e=e)
    shape = counts.shape
    counts, rates = counts.ravel(), rates.ravel()
    result = EbgmResult(*(np.full(counts.size, np.nan) for _ in range(4)))
    positive = all(math.isfinite(value) and value > 0 for value in prior.theta[:4])
    if positive and 0 <= prior.p <= 1 and counts.size:
        keys, index = _distinct(counts)
        tables = _PosteriorTables.of(prior, keys)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            # Block by block, so that the working memory stays small however many pairs.
            for start in range(0, counts.size, _POSTERIOR_BLOCK):
                block = slice(start, start + _POSTERIOR_BLOCK)
                _posterior(prior, tables, counts[block], rates[block], index[block], result, block)
    return EbgmResult(*(np.asarray(values).reshape(shape) for values in vars(result).values()))


_POSTERIOR_BLOCK = 262_144


@dataclass(frozen=True)
class _PosteriorTables:
    """Functions of the count alone, per distinct count (keys), for each prior component."""

    shapes: tuple[FloatArray, FloatArray]
    """alpha_k + n."""
    log_gammas: tuple[FloatArray, FloatArray]
    """lgamma(alpha_k + n)."""
    digammas: tuple[FloatArray, FloatArray]
    eb05: tuple[FloatArray, FloatArray]
    eb95: tuple[FloatArray, FloatArray]
    """The 5% and 95% quantiles of Gamma(alpha_k + n, rate 1)."""

    @classmethod
    def of(cls, prior: GpsPrior, keys: FloatArray) -> _PosteriorTables:
        shapes = (prior.alpha1 + keys, prior.alpha2 + keys)

        def pair(function: Any, *args: float) -> tuple[FloatArray, FloatArray]:
            first, second = (np.asarray(function(x, *args), dtype=np.float64) for x in shapes)
            return first, second

        return cls(
            shapes=shapes,
            log_gammas=pair(_special.gammaln),
            digammas=pair(_special.digamma),
            eb05=pair(_special.gammaincinv, 0.05),
            eb95=pair(_special.gammaincinv, 0.95),
        )


def _posterior(
    prior: GpsPrior,
    tables: _PosteriorTables,
    n: FloatArray,
    rates: FloatArray,
    index: NDArray[np.intp],
    result: EbgmResult,
    block: slice,
) -> None:
    """EBGM, EB05, EB95 and Qn of the pairs of a block, written into result[block]."""
    e = np.where(rates > 0, rates, np.nan)
    log_f = []
    for k, (alpha, beta) in enumerate(((prior.alpha1, prior.beta1), (prior.alpha2, prior.beta2))):
        shift = tables.log_gammas[k][index] - math.lgamma(alpha)
        log_f.append(_log_marginal(alpha, beta, n, e, shift))
    qn = _special.expit(_logit(prior.p) + log_f[0] - log_f[1])
    rates_k = (prior.beta1 + e, prior.beta2 + e)
    log_mean = qn * (tables.digammas[0][index] - np.log(rates_k[0]))
    log_mean += (1 - qn) * (tables.digammas[1][index] - np.log(rates_k[1]))
    result.qn[block] = qn
    result.ebgm[block] = np.exp(log_mean)
    shapes = (tables.shapes[0][index], tables.shapes[1][index])
    log_gammas = (tables.log_gammas[0][index], tables.log_gammas[1][index])
    for level, quantiles, out in (
        (0.05, tables.eb05, result.eb05),
        (0.95, tables.eb95, result.eb95),
    ):
        starts = (quantiles[0][index] / rates_k[0], quantiles[1][index] / rates_k[1])
        out[block] = _mixture_quantile(level, qn, shapes, rates_k, starts, log_gammas)
