"""The MGPS posterior of each pair under a fitted prior: EBGM, EB05 and EB95 (:func:`ebgm`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# scipy ships no type information of its own; the second code keeps mypy quiet whether or not
# scipy-stubs is installed.
from scipy import special as _special  # type: ignore[import-untyped, unused-ignore]

from .counts import FloatArray, _cells, _distinct
from .mgps_fit import GpsPrior
from .mgps_likelihood import _logit


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
