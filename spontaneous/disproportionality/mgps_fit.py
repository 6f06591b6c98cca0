"""The prior of DuMouchel's multi-item gamma-Poisson shrinker (MGPS): a mixture of two gammas
fitted by maximum likelihood to the counts of every drug-event pair (:func:`gps_fit`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

# scipy ships no type information of its own; the second code keeps mypy quiet whether or not
# scipy-stubs is installed.
from scipy import optimize as _optimize  # type: ignore[import-untyped, unused-ignore]
from scipy import special as _special  # type: ignore[import-untyped, unused-ignore]

from .counts import FloatArray, _cells
from .mgps_likelihood import _logit, _TruncatedMixture

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
