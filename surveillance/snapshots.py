"""The snapshot of the spontaneous-report database that disproportionality compares with:
its unique reports per drug and per term (per sex stratum when asked) and the MGPS prior
fitted to its pairs. Imports are the database's only writer, so a snapshot is computed once
per import, by the first detection run that needs it, and read by every run until the next.
"""

import math
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from numpy.typing import NDArray

from spontaneous.models import CaseReport, CaseReportPair, ReportImport, Snapshot

from . import disproportionality as dp

# The last snapshot read by this process: a worker evaluating many drugs reads it once.
_snapshots: dict[tuple[int, str, str], Snapshot] = {}


def snapshot_method() -> str:
    """The settings a snapshot depends on; another value computes another snapshot."""
    min_count = int(getattr(settings, "DISPROPORTIONALITY_MIN_COUNT", 1))
    strata = str(getattr(settings, "DISPROPORTIONALITY_STRATIFY", ""))
    return f"N*={min_count}" + (f"; by {strata}" if strata else "")


def snapshot_current() -> Snapshot | None:
    """The counts and the MGPS prior of the database as of its last import (None before the
    first), computed once per import and then read by every run."""
    last = ReportImport.objects.order_by("-pk").values_list("pk", "sha256").first()
    if last is None:
        return None
    revision = last[0]
    method = snapshot_method()
    key = (*last, method)
    cached = _snapshots.get(key)
    if cached is not None:
        return cached
    snapshot = Snapshot.objects.filter(revision=revision, method=method).first()
    if snapshot is None:
        snapshot = _snapshot_compute(revision, method)
    _snapshots.clear()
    _snapshots[key] = snapshot
    return snapshot


def _snapshot_compute(revision: int, method: str) -> Snapshot:
    n_reports = CaseReport.objects.filter(batch_id__lte=revision).count()
    pairs = CaseReportPair.objects.filter(batch_id__lte=revision)
    drug_reports = _reports_per(pairs, "drug_id")
    term_reports = _reports_per(pairs, "term_id")
    # (report, drug, term) is unique, so the rows of a pair are its reports.
    pair_rows = np.array(
        list(
            pairs.values("drug_id", "term_id")
            .annotate(n=Count("report_id"))
            # The fit's sums run in this order: the same data give the same prior on every
            # database.
            .order_by("drug_id", "term_id")
            .values_list("drug_id", "term_id", "n")
        ),
        dtype=np.int64,
    ).reshape(-1, 3)
    strata: dict[str, dict[str, Any]] = {}
    if getattr(settings, "DISPROPORTIONALITY_STRATIFY", ""):
        for sex, n in (
            CaseReport.objects.filter(batch_id__lte=revision)
            .values("sex")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("sex", "n")
        ):
            stratum = pairs.filter(report__sex=sex)
            strata[sex or "unknown"] = {
                "n": n,
                "drugs": _reports_per(stratum, "drug_id"),
                "terms": _reports_per(stratum, "term_id"),
            }
        expected = stratified_expected(strata, pair_rows[:, 0], pair_rows[:, 1])
    else:
        drug_n = np.array([drug_reports[str(d)] for d in pair_rows[:, 0]], dtype=np.float64)
        term_n = np.array([term_reports[str(t)] for t in pair_rows[:, 1]], dtype=np.float64)
        expected = drug_n * term_n / max(n_reports, 1)
    min_count = int(getattr(settings, "DISPROPORTIONALITY_MIN_COUNT", 1))
    prior = dp.gps_fit(pair_rows[:, 2].astype(np.float64), expected, min_count=min_count)
    try:
        with transaction.atomic():
            return Snapshot.objects.create(
                revision=revision,
                method=method,
                n_reports=n_reports,
                pairs=len(pair_rows),
                drug_reports=drug_reports,
                term_reports=term_reports,
                strata=strata,
                prior=_json_prior(prior, min_count),
            )
    except IntegrityError:
        # Another worker computed it meanwhile.
        return Snapshot.objects.get(revision=revision, method=method)


def _reports_per(pairs: QuerySet[CaseReportPair], column: str) -> dict[str, int]:
    """Unique reports per drug or per term, keyed by the id as text (as JSON stores it)."""
    rows = (
        pairs.values(column)
        .annotate(n=Count("report_id", distinct=True))
        .order_by()
        .values_list(column, "n")
    )
    return {str(key): n for key, n in rows}


def stratified_expected(
    strata: dict[str, dict[str, Any]], drug_ids: Iterable[int], term_ids: Iterable[int]
) -> NDArray[np.float64]:
    """E of each (drug, term) pair summed over the strata: the drug's reports in a stratum
    times the term's, over the stratum's reports."""
    drugs = [str(d) for d in drug_ids]
    terms = [str(t) for t in term_ids]
    total = np.zeros(len(drugs))
    for stratum in strata.values():
        if not stratum["n"]:
            continue
        d = np.array([stratum["drugs"].get(i, 0) for i in drugs], dtype=np.float64)
        t = np.array([stratum["terms"].get(i, 0) for i in terms], dtype=np.float64)
        total += d * t / stratum["n"]
    return total


def _json_prior(prior: dp.GpsPrior, min_count: int) -> dict[str, Any]:
    """The prior for a JSON field: empty when there was nothing to fit or the fit failed."""
    values = asdict(prior)
    numbers = [v for k, v in values.items() if k != "converged"]
    if not prior.converged or not all(math.isfinite(float(v)) for v in numbers):
        return {}
    return {**values, "min_count": min_count}
