"""The disproportionality baseline of a source: what every product's pairs are compared with.

Imports of spontaneous reports are all or nothing and are the only writer, so a source
changes one import at a time. Its counts (unique reports overall, per event, and per stratum
when stratified) and the MGPS prior fitted to all its product-event pairs are therefore
computed once per import, by the first detection run or table read after it, stored as a
:class:`~spontaneous.models.DisproportionalityBaseline`, and read until the next import.
Reports per product are counted when a product is asked for (see :mod:`spontaneous.tables`):
a source such as FAERS has too many products to store them.
"""

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from numpy.typing import NDArray

from core.db import statement_timeout

from . import disproportionality as dp
from .models import (
    CaseReportPair,
    DisproportionalityBaseline,
    Event,
    Product,
    ReportImport,
    Source,
)

# The baselines last read by this process: a worker evaluating many drugs reads each once.
_baselines: dict[tuple[int, int, str, str], DisproportionalityBaseline] = {}


def baseline_method(*, serious: bool = False) -> str:
    """The settings a baseline depends on; another value computes another baseline."""
    min_count = int(getattr(settings, "DISPROPORTIONALITY_MIN_COUNT", 1))
    strata = str(getattr(settings, "DISPROPORTIONALITY_STRATIFY", ""))
    return (
        f"N*={min_count}" + (f"; by {strata}" if strata else "") + ("; serious" if serious else "")
    )


def source_pairs(source: Source, *, serious: bool = False) -> QuerySet[CaseReportPair]:
    """The source's product-event pairs (of its serious cases only when asked)."""
    pairs = CaseReportPair.objects.filter(report__source=source)
    return pairs.filter(report__serious=True) if serious else pairs


@dataclass
class SourceCounts:
    """Every product-event pair of a source with its reports, and the marginal counts."""

    n_reports: int
    product_ids: NDArray[np.int64]
    event_ids: NDArray[np.int64]
    a: NDArray[np.int64]
    product_reports: dict[int, int]
    event_reports: dict[int, int]
    # Per stratum: its reports ("n"), its reports per product and per event.
    strata: dict[str, dict[str, Any]]

    def expected(self) -> NDArray[np.float64]:
        """E of each pair: over the whole source, or summed over the strata."""
        if self.strata:
            return stratified_expected(
                {k: {"n": s["n"], "events": s["events"]} for k, s in self.strata.items()},
                self.event_ids,
                [{int(p): n for p, n in s["products"].items()} for s in self.strata.values()],
                self.product_ids,
            )
        product_n = _lookup(self.product_reports, self.product_ids)
        event_n = _lookup(self.event_reports, self.event_ids)
        return product_n * event_n / max(self.n_reports, 1)


def source_counts(source: Source, *, serious: bool = False) -> SourceCounts:
    """Counted in the database by a few grouped queries, whatever the number of pairs."""
    pairs = source_pairs(source, serious=serious)
    n_reports = pairs.values("report_id").distinct().count()
    # (report, product, event) is unique, so the rows of a pair are its reports.
    rows = np.array(
        list(
            pairs.values("product_id", "event_id")
            .annotate(n=Count("report_id"))
            .order_by()
            .values_list("product_id", "event_id", "n")
        ),
        dtype=np.int64,
    ).reshape(-1, 3)
    rows = rows[_name_order(source, rows[:, 0], rows[:, 1])]
    strata: dict[str, dict[str, Any]] = {}
    if getattr(settings, "DISPROPORTIONALITY_STRATIFY", ""):
        for sex, n in (
            pairs.values("report__sex")
            .annotate(n=Count("report_id", distinct=True))
            .order_by()
            .values_list("report__sex", "n")
        ):
            stratum = pairs.filter(report__sex=sex)
            strata[sex] = {
                "n": n,
                "products": _reports_per(stratum, "product_id"),
                "events": _json_keys(_reports_per(stratum, "event_id")),
            }
    return SourceCounts(
        n_reports=n_reports,
        product_ids=rows[:, 0],
        event_ids=rows[:, 1],
        a=rows[:, 2],
        product_reports=_reports_per(pairs, "product_id"),
        event_reports=_reports_per(pairs, "event_id"),
        strata=strata,
    )


def _name_order(
    source: Source, product_ids: NDArray[np.int64], event_ids: NDArray[np.int64]
) -> NDArray[np.intp]:
    """The pairs in the order of their product's then their event's name (case aside, in
    code-point order, whatever the database's collation): the fit's sums run in this order,
    so the same reports give the same prior on every database, whatever their ids, and the
    prior the statistics package gives for the same reports read from a file."""
    products = dict(Product.objects.filter(source=source).values_list("pk", "key"))
    events = {
        pk: name.casefold()
        for pk, name in Event.objects.filter(source=source).values_list("pk", "name")
    }
    product_rank = {
        pk: i for i, (_, pk) in enumerate(sorted((k, pk) for pk, k in products.items()))
    }
    event_rank = {pk: i for i, (_, pk) in enumerate(sorted((k, pk) for pk, k in events.items()))}
    return np.lexsort(
        (
            np.array([event_rank[int(e)] for e in event_ids], dtype=np.int64),
            np.array([product_rank[int(p)] for p in product_ids], dtype=np.int64),
        )
    )


def baseline_current(
    source: Source, *, serious: bool = False, counts: SourceCounts | None = None
) -> DisproportionalityBaseline | None:
    """The counts and the MGPS prior of a source as of its last import (None before the
    first), computed once per import and then read. A caller that has counted the source
    passes the counts in."""
    last = (
        ReportImport.objects.filter(source=source).order_by("-pk").values_list("pk", "sha256")
    ).first()
    if last is None:
        return None
    revision = last[0]
    method = baseline_method(serious=serious)
    key = (source.pk, *last, method)
    cached = _baselines.get(key)
    if cached is not None:
        return cached
    baseline = DisproportionalityBaseline.objects.filter(
        source=source, revision=revision, method=method
    ).first()
    if baseline is None:
        baseline = _baseline_compute(
            source, revision, method, counts or source_counts(source, serious=serious)
        )
    # Drop what earlier imports of this source left, keep the other sources'.
    for old in [k for k in _baselines if k[0] == source.pk and k[3] == method]:
        del _baselines[old]
    _baselines[key] = baseline
    return baseline


def source_baselines_compute(source: Source) -> None:
    """Compute the source's baselines for its last import (every report, and serious
    reports only) now, at the end of an import: the pages that read a drug's table then
    find them instead of fitting the MGPS prior in a request. Without the web requests'
    statement time limit (PostgreSQL): at FAERS scale the counts take longer."""
    with statement_timeout(0):
        for serious in (False, True):
            baseline_current(source, serious=serious)


def baselines_current() -> list[DisproportionalityBaseline]:
    """The current baseline of every source that has reports."""
    found = (
        baseline_current(source)
        for source in Source.objects.filter(imports__isnull=False).distinct().order_by("pk")
    )
    return [b for b in dict.fromkeys(found) if b is not None]


def _baseline_compute(
    source: Source, revision: int, method: str, counts: SourceCounts
) -> DisproportionalityBaseline:
    min_count = int(getattr(settings, "DISPROPORTIONALITY_MIN_COUNT", 1))
    prior = dp.gps_fit(counts.a.astype(np.float64), counts.expected(), min_count=min_count)
    strata = {
        sex: {"n": stratum["n"], "events": stratum["events"]}
        for sex, stratum in counts.strata.items()
    }
    try:
        with transaction.atomic():
            return DisproportionalityBaseline.objects.create(
                source=source,
                revision=revision,
                method=method,
                n_reports=counts.n_reports,
                pairs=len(counts.a),
                event_reports=_json_keys(counts.event_reports),
                strata=strata,
                prior=_json_prior(prior, min_count),
            )
    except IntegrityError:
        # Another worker computed it meanwhile.
        return DisproportionalityBaseline.objects.get(
            source=source, revision=revision, method=method
        )


def _reports_per(pairs: QuerySet[CaseReportPair], column: str) -> dict[int, int]:
    """Unique reports per product or per event."""
    rows = (
        pairs.values(column)
        .annotate(n=Count("report_id", distinct=True))
        .order_by()
        .values_list(column, "n")
    )
    return dict(rows)


def _json_keys(counts: dict[int, int]) -> dict[str, int]:
    """Ids as text, as JSON stores them."""
    return {str(key): n for key, n in counts.items()}


def _lookup(counts: dict[int, int], ids: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.array([counts.get(int(i), 0) for i in ids], dtype=np.float64)


def stratified_expected(
    strata: dict[str, dict[str, Any]],
    event_ids: Iterable[int],
    product_reports: list[dict[int, int]],
    product_ids: Iterable[int] | None = None,
) -> NDArray[np.float64]:
    """E of each pair summed over the strata: the product's reports in a stratum times the
    event's, over the stratum's reports. ``product_reports`` gives, for each stratum in the
    order of ``strata``, the reports per product id; with ``product_ids`` each pair has its
    own product, else every pair is of the one product keyed 0."""
    events = [str(e) for e in event_ids]
    products = [0] * len(events) if product_ids is None else [int(p) for p in product_ids]
    total = np.zeros(len(events))
    for stratum, per_product in zip(strata.values(), product_reports, strict=True):
        if not stratum["n"]:
            continue
        p = np.array([per_product.get(i, 0) for i in products], dtype=np.float64)
        e = np.array([stratum["events"].get(i, 0) for i in events], dtype=np.float64)
        total += p * e / stratum["n"]
    return total


def _json_prior(prior: dp.GpsPrior, min_count: int) -> dict[str, Any]:
    """The prior for a JSON field: empty when there was nothing to fit or the fit failed."""
    values = asdict(prior)
    numbers = [v for k, v in values.items() if k != "converged"]
    if not prior.converged or not all(math.isfinite(float(v)) for v in numbers):
        return {}
    return {**values, "min_count": min_count}
