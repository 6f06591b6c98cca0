"""Disproportionality tables of a source of spontaneous reports.

A product's table compares, for every event reported with it, the reports naming the
product (or any of several products: a formulary drug is usually one product of a source,
sometimes more) with every other report of the source: the 2x2 cells of unique reports
(a: product and event, b: product without the event, c: event without the product, d:
neither), the count expected under independence, PRR, ROR and IC with their intervals, and
EBGM with EB05 and EB95 under the source's MGPS prior. The statistics are those of
:mod:`spontaneous.disproportionality`; the marginal counts and the prior come from the
source's baseline (:mod:`spontaneous.baseline`), computed once per import.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, QuerySet
from numpy.typing import NDArray

from . import disproportionality as dp
from .baseline import baseline_current, source_counts, source_pairs, stratified_expected
from .models import CaseReportPair, DisproportionalityBaseline, Event, Source

FloatArray = NDArray[np.float64]
# The statistics of a table, by the names a row and the API give them.
STATISTICS = (
    "expected",
    "prr",
    "prr_ci_low",
    "prr_ci_high",
    "ror",
    "ror_ci_low",
    "ror_ci_high",
    "ic",
    "ic025",
    "ebgm",
    "eb05",
    "eb95",
)


@dataclass
class TableRow:
    """One event of a product's table; a statistic is None where a zero cell leaves it
    undefined (or no prior could be fitted)."""

    event: Event
    a: int
    b: int
    c: int
    d: int
    expected: float | None
    prr: float | None
    prr_ci_low: float | None
    prr_ci_high: float | None
    ror: float | None
    ror_ci_low: float | None
    ror_ci_high: float | None
    ic: float | None
    ic025: float | None
    ebgm: float | None
    eb05: float | None
    eb95: float | None
    chi2_yates: float | None = None
    ic975: float | None = None
    expected_stratified: float | None = None
    # Each method's verdict under its own rule (mgps, prr, ror, ic).
    met_by: dict[str, bool] = field(default_factory=dict)


@dataclass
class Statistics:
    """The cells and every statistic of a set of pairs, one array element per pair."""

    a: FloatArray
    b: FloatArray
    c: FloatArray
    d: FloatArray
    values: dict[str, FloatArray]
    expected_stratified: FloatArray | None
    met_by: dict[str, NDArray[np.bool_]]

    def row(self, i: int) -> dict[str, Any]:
        """Pair ``i`` with None for undefined figures."""
        numbers: dict[str, Any] = {k: int(getattr(self, k)[i]) for k in "abcd"}
        numbers.update({name: finite(v[i]) for name, v in self.values.items()})
        numbers["expected_stratified"] = (
            None if self.expected_stratified is None else finite(self.expected_stratified[i])
        )
        numbers["met_by"] = {method: bool(flags[i]) for method, flags in self.met_by.items()}
        return numbers


@dataclass
class SourceStatistics:
    """Every product-event pair of a source with its cells and statistics (arrays, one
    element per pair, ordered by product then event), and the MGPS prior fitted to them."""

    source: Source
    serious: bool
    n_reports: int
    product_ids: NDArray[np.int64]
    event_ids: NDArray[np.int64]
    statistics: Statistics
    prior: dp.GpsPrior | None

    def __len__(self) -> int:
        return len(self.product_ids)


def finite(value: Any) -> float | None:
    """A statistic for JSON: None where it is undefined (a zero cell) or infinite."""
    number = float(value)
    return number if np.isfinite(number) else None


def baseline_prior(baseline: DisproportionalityBaseline) -> dp.GpsPrior | None:
    if not baseline.prior:
        return None
    return dp.GpsPrior(**{k: v for k, v in baseline.prior.items() if k != "min_count"})


def min_cases() -> int:
    return int(getattr(settings, "DETECTION_MIN_CASES", 3))


def eb05_threshold() -> float:
    return float(getattr(settings, "DISPROPORTIONALITY_EB05", 2.0))


def statistics(
    a: FloatArray,
    unit_reports: FloatArray,
    event_reports: FloatArray,
    n_reports: int,
    prior: dp.GpsPrior | None,
    expected_stratified: FloatArray | None = None,
) -> Statistics:
    """Cells and statistics of pairs from their reports (a), the product's (a + b), the
    event's (a + c) and the source's (N), vectorised."""
    b = unit_reports - a
    c = event_reports - a
    d = n_reports - unit_reports - c
    n_min = min_cases()
    prr = dp.prr(a, b, c, d, min_cases=n_min)
    ror = dp.ror(a, b, c, d, min_cases=n_min)
    ic = dp.information_component(a, b, c, d)
    if prior is not None:
        # MGPS compares with E summed over the strata when the source is stratified.
        eb = dp.ebgm(a, ic.expected if expected_stratified is None else expected_stratified, prior)
    else:
        # No prior could be fitted (too few pairs): no EBGM, and the MGPS rule is never met.
        nan = np.full(len(a), np.nan)
        eb = dp.EbgmResult(ebgm=nan, eb05=nan, eb95=nan, qn=nan)
    values = {
        "expected": ic.expected,
        "prr": prr.prr,
        "prr_ci_low": prr.lower,
        "prr_ci_high": prr.upper,
        "chi2_yates": prr.chi2_yates,
        "ror": ror.ror,
        "ror_ci_low": ror.lower,
        "ror_ci_high": ror.upper,
        "ic": ic.ic,
        "ic025": ic.ic025,
        "ic975": ic.ic975,
        "ebgm": eb.ebgm,
        "eb05": eb.eb05,
        "eb95": eb.eb95,
    }
    with np.errstate(invalid="ignore"):
        mgps = np.nan_to_num(eb.eb05, nan=-np.inf) >= eb05_threshold()
    met_by = {"mgps": mgps, "prr": prr.signal, "ror": ror.signal, "ic": ic.signal}
    return Statistics(a, b, c, d, values, expected_stratified, met_by)


def unit_pairs(
    source: Source, product_ids: Collection[int], *, serious: bool = False
) -> QuerySet[CaseReportPair]:
    return source_pairs(source, serious=serious).filter(product_id__in=list(product_ids))


def unit_reports(pairs: QuerySet[CaseReportPair]) -> int:
    """Unique reports among pairs."""
    return pairs.values("report_id").distinct().count()


def unit_strata(
    baseline: DisproportionalityBaseline, pairs: QuerySet[CaseReportPair]
) -> list[dict[int, int]]:
    """The reports of a set of products in each stratum of the baseline, keyed 0."""
    per_sex = dict(
        pairs.values("report__sex")
        .annotate(n=Count("report_id", distinct=True))
        .order_by()
        .values_list("report__sex", "n")
    )
    return [{0: per_sex.get(sex, 0)} for sex in baseline.strata]


def product_table(
    source: Source, product_ids: Collection[int], serious: bool = False, min_count: int = 1
) -> list[TableRow]:
    """Every event reported with the products (as one unit: a report naming any of them
    counts once) in at least ``min_count`` reports, with its cells and statistics, by EB05
    from the highest (events without one last, then by a)."""
    baseline = baseline_current(source, serious=serious)
    if baseline is None or not product_ids:
        return []
    pairs = unit_pairs(source, product_ids, serious=serious)
    rows = list(
        pairs.values("event_id")
        .annotate(n=Count("report_id", distinct=True))
        .filter(n__gte=max(min_count, 1))
        .order_by("event_id")
        .values_list("event_id", "n")
    )
    if not rows:
        return []
    event_ids = [e for e, _ in rows]
    stratified = None
    if baseline.strata:
        stratified = stratified_expected(baseline.strata, event_ids, unit_strata(baseline, pairs))
    table = statistics(
        np.array([n for _, n in rows], dtype=np.float64),
        np.full(len(rows), unit_reports(pairs), dtype=np.float64),
        np.array([baseline.event_reports.get(str(e), 0) for e in event_ids], dtype=np.float64),
        baseline.n_reports,
        baseline_prior(baseline),
        stratified,
    )
    events = Event.objects.select_related("term").in_bulk(event_ids)
    found = [
        TableRow(event=events[event_id], **_row_fields(table.row(i)))
        for i, event_id in enumerate(event_ids)
    ]
    return sorted(found, key=lambda r: (r.eb05 is None, -(r.eb05 or 0.0), -r.a, r.event.name))


def _row_fields(numbers: Mapping[str, Any]) -> dict[str, Any]:
    names = {"a", "b", "c", "d", *STATISTICS, "chi2_yates", "ic975", "expected_stratified"}
    return {**{k: v for k, v in numbers.items() if k in names}, "met_by": numbers["met_by"]}


def source_statistics(source: Source, serious: bool = False) -> SourceStatistics:
    """Every product-event pair of the source with its cells and statistics, under the MGPS
    prior fitted to all of them (the source's baseline, computed now if the last import has
    none yet)."""
    counts = source_counts(source, serious=serious)
    baseline = baseline_current(source, serious=serious, counts=counts)
    prior = baseline_prior(baseline) if baseline is not None else None
    return SourceStatistics(
        source=source,
        serious=serious,
        n_reports=counts.n_reports,
        product_ids=counts.product_ids,
        event_ids=counts.event_ids,
        statistics=statistics(
            counts.a.astype(np.float64),
            counts.product_n.astype(np.float64),
            counts.event_n.astype(np.float64),
            counts.n_reports,
            prior,
            counts.expected() if counts.strata else None,
        ),
        prior=prior,
    )


def grouped_event_reports(
    source: Source, groups: Sequence[Collection[int]], *, serious: bool = False
) -> list[int]:
    """Unique reports of the source naming any event of each group (events of one term)."""
    return [
        unit_reports(source_pairs(source, serious=serious).filter(event_id__in=list(group)))
        for group in groups
    ]
