"""The likelihood that the MGPS prior is fitted by: each pair's count is a mixture of two
negative binomials, each truncated at the minimum count N* (openEBGM's convention).

:func:`gps_fit` minimises it over (log alpha1, log beta1, log alpha2, log beta2, logit P).
"""

from __future__ import annotations

import math

import numpy as np

# scipy ships no type information of its own; the second code keeps mypy quiet whether or not
# scipy-stubs is installed.
from scipy import special as _special  # type: ignore[import-untyped, unused-ignore]

from .counts import FloatArray, _distinct

_CHUNK = 65_536
"""Pairs per block of the likelihood: a block's temporaries stay in the processor's cache."""


class _TruncatedMixture:
    """Negative log-likelihood and gradient of the prior over the pairs with n >= N*.

    Each pair's count is marginally a mixture of two negative binomials, f_k(n) =
    Gamma(alpha + n) / (Gamma(alpha) n!) * p^alpha * (1 - p)^n with p = beta / (beta + E); each
    component is truncated at N*, g_k(n) = f_k(n) / (1 - sum_{m < N*} f_k(m)).

    The optimiser calls this some hundred times over every pair, so it is written for speed:
    pairs with the same count and the same E are one term weighted by their number (at
    FAERS scale a quarter of the pairs are distinct), functions of the count alone are
    computed once per distinct count, and the per-pair arithmetic runs in place, block by
    block of pairs. Grouping sorts the pairs by (n, E), so the sums run in the same order
    whatever the order the pairs came in.
    """

    def __init__(self, n: FloatArray, e: FloatArray, min_count: int) -> None:
        self.n, self.e, self.weights = _grouped(n, e)
        self.keys, self.index = _distinct(self.n)
        self.min_count = min_count
        self.size = n.size
        # n log E and the n! terms do not depend on the prior.
        n_log_e = np.asarray(_special.xlogy(self.n, self.e), dtype=np.float64)
        self.constant = float(
            np.sum(self.weights * _special.gammaln(self.n + 1.0)) - np.sum(self.weights * n_log_e)
        )

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
            for start in range(0, self.n.size, _CHUNK):
                block = slice(start, start + _CHUNK)
                weights = self.weights[block]
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
                total *= weights
                value -= float(total.sum())
                # Each pair's share of each component, times the pairs it stands for; plain
                # sums of products: BLAS dot products spin threads for no gain here.
                w1 *= weights
                w2 = np.subtract(weights, w1, out=small)
                sums += [
                    (w1 * d_alpha1).sum(),
                    (w1 * d_beta1).sum(),
                    (w2 * d_alpha2).sum(),
                    (w2 * d_beta2).sum(),
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


def _grouped(n: FloatArray, e: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The distinct (n, E) pairs, sorted, and how many pairs each stands for."""
    if n.size == 0:
        return n, e, np.zeros(0)
    order = np.lexsort((e, n))
    n, e = n[order], e[order]
    first = np.empty(n.size, dtype=np.bool_)
    first[0] = True
    np.not_equal(n[1:], n[:-1], out=first[1:])
    first[1:] |= e[1:] != e[:-1]
    starts = np.flatnonzero(first)
    weights = np.diff(np.r_[starts, n.size]).astype(np.float64)
    return n[starts], e[starts], weights


def _logit(weight: float) -> float:
    if weight <= 0 or weight >= 1:
        return math.copysign(math.inf, weight - 0.5) if 0 <= weight <= 1 else math.nan
    return math.log(weight) - math.log1p(-weight)
