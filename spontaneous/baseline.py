"""The disproportionality baseline of a source: what every product's pairs are compared with.

Imports of spontaneous reports are all or nothing and the only writer of reports, so a source
changes one import at a time. Its counts (unique reports overall, per event, and per stratum
when stratified) and the MGPS prior fitted to all its product-event pairs are therefore
computed once per import, by the first detection run or table read after it, stored as a
:class:`~spontaneous.models.DisproportionalityBaseline`, and read until the next import.
Reports per product are counted when a product is asked for (see :mod:`spontaneous.tables`):
a source such as FAERS has too many products to store them.
"""

import itertools
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, QuerySet
from numpy.typing import NDArray

from core.db import analyze, statement_timeout, work_mem

from . import disproportionality as dp
from .models import (
    CaseReport,
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
    """Every product-event pair of a source with its reports (``a``), the reports of its
    product and of its event, and the source's reports."""

    n_reports: int
    product_ids: NDArray[np.int64]
    event_ids: NDArray[np.int64]
    a: NDArray[np.int64]
    product_n: NDArray[np.int64]
    event_n: NDArray[np.int64]
    # Per stratum: its reports ("n"), its reports per product and per event.
    strata: dict[str, dict[str, Any]]

    @property
    def event_reports(self) -> dict[int, int]:
        """Unique reports per event."""
        return dict(zip(self.event_ids.tolist(), self.event_n.tolist(), strict=True))

    def expected(self) -> NDArray[np.float64]:
        """E of each pair: over the whole source, or summed over the strata."""
        if self.strata:
            return stratified_expected(
                {k: {"n": s["n"], "events": s["events"]} for k, s in self.strata.items()},
                self.event_ids,
                [{int(p): n for p, n in s["products"].items()} for s in self.strata.values()],
                self.product_ids,
            )
        return np.asarray(
            self.product_n.astype(np.float64) * self.event_n / max(self.n_reports, 1),
            dtype=np.float64,
        )


def source_counts(source: Source, *, serious: bool = False) -> SourceCounts:
    """Counted from the source's pair rows, read once (a binary COPY on PostgreSQL): at
    FAERS scale counting the unique reports per product and per event in numpy takes
    seconds where the database's COUNT(DISTINCT) takes tens of them."""
    pairs = source_pairs(source, serious=serious)
    counted = dp.pair_counts(*pair_rows(pairs))
    order = _name_order(source, counted.drugs, counted.events)
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
        n_reports=counted.n_total,
        product_ids=counted.drugs[order].astype(np.int64),
        event_ids=counted.events[order].astype(np.int64),
        a=counted.a[order],
        product_n=(counted.a + counted.b)[order],
        event_n=(counted.a + counted.c)[order],
        strata=strata,
    )


# A row of PostgreSQL's binary COPY of three bigint columns: the field count, then each
# field's length and value, big-endian.
_COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("size0", ">i4"),
        ("report", ">i8"),
        ("size1", ">i4"),
        ("product", ">i8"),
        ("size2", ">i4"),
        ("event", ">i8"),
    ]
)
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_BLOCK = _COPY_ROW.itemsize * 2**18
_COPY_WORK_MEM = "256MB"


def pair_rows(
    pairs: QuerySet[CaseReportPair],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(report ids, product ids, event ids) of the pair rows."""
    rows = pairs.order_by().values_list("report_id", "product_id", "event_id")
    if connection.vendor == "postgresql":
        return _copied(rows)
    flat = np.fromiter(
        itertools.chain.from_iterable(rows.iterator(chunk_size=20_000)), dtype=np.int64
    ).reshape(-1, 3)
    return flat[:, 0], flat[:, 1], flat[:, 2]


def _copied(
    rows: QuerySet[CaseReportPair, tuple[int, int, int]],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The rows through a binary COPY, decoded by numpy block by block."""
    sql, params = rows.query.sql_with_params()
    blocks: list[NDArray[Any]] = []
    pending = bytearray()
    started = False

    def decode(size: int) -> None:
        block = np.frombuffer(bytes(pending[:size]), dtype=_COPY_ROW)
        if np.any(block["fields"] != 3) or np.any(
            (block["size0"] != 8) | (block["size1"] != 8) | (block["size2"] != 8)
        ):
            raise ValueError("unexpected layout in the binary COPY of the pairs")
        blocks.append(
            np.stack([block["report"], block["product"], block["event"]]).astype(np.int64)
        )
        del pending[:size]

    with (
        # The join with the source's reports hashes them all: in one batch, not sixteen
        # spilled to disk (4.9 s instead of 8.2 s for 7.2 million pair rows).
        work_mem(_COPY_WORK_MEM),
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy,
    ):
        for data in copy:
            pending += data
            if not started and len(pending) >= 19:
                if bytes(pending[:11]) != _COPY_SIGNATURE:
                    raise ValueError("not a binary COPY")
                extension = int.from_bytes(pending[15:19], "big")
                del pending[: 19 + extension]
                started = True
            if started and len(pending) >= _COPY_BLOCK:
                decode(len(pending) // _COPY_ROW.itemsize * _COPY_ROW.itemsize)
    if bytes(pending[-2:]) != b"\xff\xff":
        raise ValueError("the binary COPY of the pairs ended early")
    del pending[-2:]
    decode(len(pending))
    joined = np.concatenate(blocks, axis=1) if blocks else np.empty((3, 0), dtype=np.int64)
    return joined[0], joined[1], joined[2]


def _name_order(
    source: Source, product_ids: NDArray[np.int64], event_ids: NDArray[np.int64]
) -> NDArray[np.intp]:
    """The pairs in the order of their product's then their event's name (case aside, in
    code-point order, whatever the database's collation). A large source's fit screens its
    starts on a sample of pairs drawn by position in this order (its sums run in the order
    of the counts), so the same reports give the same prior on every database, whatever
    their ids, and the prior the statistics package gives for the same reports read from a
    file."""
    products = dict(Product.objects.filter(source=source).values_list("pk", "key"))
    events = {
        pk: name.casefold()
        for pk, name in Event.objects.filter(source=source).values_list("pk", "name")
    }
    return np.lexsort((_ranks(events, event_ids), _ranks(products, product_ids)))


def _ranks(names: dict[int, str], ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """The rank of each id's name among the names (ties by id)."""
    pks = np.array(sorted(names), dtype=np.int64)
    by_name = sorted(range(pks.size), key=lambda i: (names[int(pks[i])], int(pks[i])))
    rank = np.empty(pks.size, dtype=np.int64)
    rank[by_name] = np.arange(pks.size)
    return rank[np.searchsorted(pks, ids)]


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
    """At the end of an import: bring the planner's statistics of the tables it wrote up to
    date, and compute the source's baselines for it (every report, and serious reports
    only), so that the pages that read a drug's table find them instead of fitting the MGPS
    prior in a request. Without the web requests' statement time limit (PostgreSQL): at
    FAERS scale the counts take longer.

    A table the planner still believes small after a bulk load is read the slow way: over
    4 FAERS quarters, a drug's table took 1.3 s instead of 0.04 s until ANALYZE (0.6 s)."""
    with statement_timeout(0):
        analyze(CaseReport, CaseReportPair, Product, Event)
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
