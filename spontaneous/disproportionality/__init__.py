"""Disproportionality statistics across the drugs of a spontaneous-report database: is an event
reported with a drug more often than with all the other drugs?

Plain numpy/scipy, with no Django import, so that it can be tested and benchmarked alone. Every
function takes arrays (one element per drug-event pair) and returns arrays; nothing loops over
pairs in Python, so a run over millions of pairs costs a few vectorised passes.

- :mod:`.counts`: :func:`pair_counts`, the 2x2 tables of every drug-event pair over unique
  report ids, and :func:`expected`, E = (a + b)(a + c) / N, the count expected if drug and event
  were independent;
- :mod:`.ratios`: :func:`prr`, :func:`ror` and :func:`information_component`;
- :mod:`.mgps_fit` (with its likelihood in :mod:`.mgps_likelihood`) and :mod:`.mgps_posterior`:
  DuMouchel's multi-item gamma-Poisson shrinker (MGPS). :func:`gps_fit` fits the two-gamma
  mixture prior by maximum likelihood; :func:`ebgm` gives EBGM, EB05 and EB95 from the
  posterior mixture of two gammas.

The 2x2 cells of a pair: a = reports with drug and event, b = drug without event, c = event
without drug, d = neither. Cells may be any non-negative finite numbers (a continuity
correction is the caller's choice). Empty cells give nan or inf where a figure does not exist,
without warnings; negative or non-finite cells raise ValueError.

Callers import this package (``from spontaneous import disproportionality as dp``). Names with
a leading underscore in its modules are shared between those modules only.
"""

from .counts import PairCounts, expected, pair_counts
from .mgps_fit import DEFAULT_STARTS, GpsPrior, gps_fit
from .mgps_posterior import EbgmResult, ebgm
from .ratios import IcResult, PrrResult, RorResult, information_component, prr, ror

__all__ = [
    "DEFAULT_STARTS",
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
