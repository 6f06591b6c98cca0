"""Disproportionality findings: a drug's event pairs in the spontaneous-report database
against every other drug's, as 2x2 tables of unique reports with PRR, ROR, IC and EBGM."""

from typing import Any

import numpy as np
from django.db.models import Count
from numpy.typing import NDArray

from reference.models import Drug, Term
from spontaneous.models import CaseReportPair

from . import disproportionality as dp
from .choices import Kind, Priority
from .disproportionality_baseline import baseline_current, stratified_expected
from .findings import Finding, disproportionality_rule, min_cases
from .wording import disproportionality_summary


def disproportionality_findings(drug: Drug) -> list[Finding]:
    """One finding per event reported with the drug, met under the configured rule; high
    priority when every method finds the pair disproportionate.

    One grouped query for the drug's pairs; the marginal counts and the MGPS prior come
    from the baseline of the database's last import.
    """
    baseline = baseline_current()
    if baseline is None or str(drug.pk) not in baseline.drug_reports:
        return []
    rows = list(
        CaseReportPair.objects.filter(drug=drug, batch_id__lte=baseline.revision)
        .values("term_id")
        .annotate(n=Count("report_id"))
        .order_by()
        .values_list("term_id", "n")
    )
    drug_n = int(baseline.drug_reports[str(drug.pk)])
    total = baseline.n_reports
    a = np.array([n for _, n in rows], dtype=np.float64)
    term_n = np.array([baseline.term_reports[str(t)] for t, _ in rows], dtype=np.float64)
    b = drug_n - a
    c = term_n - a
    d = total - drug_n - c
    n_min = min_cases()
    prr = dp.prr(a, b, c, d, min_cases=n_min)
    ror = dp.ror(a, b, c, d, min_cases=n_min)
    ic = dp.information_component(a, b, c, d)
    # MGPS compares with E summed over the strata when the database is stratified (by sex).
    stratified = (
        stratified_expected(baseline.strata, [drug.pk] * len(rows), [t for t, _ in rows])
        if baseline.strata
        else None
    )
    if baseline.prior:
        prior = dp.GpsPrior(**{k: v for k, v in baseline.prior.items() if k != "min_count"})
        eb = dp.ebgm(a, ic.expected if stratified is None else stratified, prior)
    else:
        # No prior could be fitted (too few pairs): no EBGM, and the MGPS rule is never met.
        nan = np.full(len(a), np.nan)
        eb = dp.EbgmResult(ebgm=nan, eb05=nan, eb95=nan, qn=nan)
    rule, eb05_min = disproportionality_rule()
    met_by = {
        "mgps": eb.eb05 >= eb05_min,
        "prr": prr.signal,
        "ror": ror.signal,
        "ic": ic.signal,
    }
    met = met_by.get(rule, met_by["mgps"])
    met_by_every_method = met_by["mgps"] & prr.signal & ror.signal & ic.signal
    statistics: dict[str, NDArray[np.float64] | None] = {
        "expected": ic.expected,
        "expected_stratified": stratified,
        "prr": prr.prr,
        "prr_low": prr.lower,
        "prr_high": prr.upper,
        "chi2_yates": prr.chi2_yates,
        "ror": ror.ror,
        "ror_low": ror.lower,
        "ror_high": ror.upper,
        "ic": ic.ic,
        "ic025": ic.ic025,
        "ic975": ic.ic975,
        "ebgm": eb.ebgm,
        "eb05": eb.eb05,
        "eb95": eb.eb95,
    }
    terms = Term.objects.in_bulk([t for t, _ in rows])
    findings = []
    for i, (term_id, _) in enumerate(rows):
        numbers = {
            "a": int(a[i]),
            "b": int(b[i]),
            "c": int(c[i]),
            "d": int(d[i]),
            **{
                name: None if values is None else _finite(values[i])
                for name, values in statistics.items()
            },
            "rule": rule,
            # Each method's verdict under its own rule, as the statistics module decided it.
            "met_by": {method: bool(flags[i]) for method, flags in met_by.items()},
        }
        observed = 100.0 * a[i] / drug_n
        others = c[i] + d[i]
        background = 100.0 * c[i] / others if others else None
        findings.append(
            Finding(
                term=terms[term_id],
                kind=Kind.DISPROPORTIONALITY,
                met=bool(met[i]),
                cases=int(a[i]),
                exposed=0,
                drug_reports=drug_n,
                priority=Priority.HIGH if met_by_every_method[i] else Priority.MEDIUM,
                observed_pct=float(observed),
                background_pct=background,
                statistics=numbers,
                summary=disproportionality_summary(drug, terms[term_id], numbers, background),
            )
        )
    return findings


def _finite(value: Any) -> float | None:
    """A statistic for JSON: None where it is undefined (a zero cell) or infinite."""
    number = float(value)
    return number if np.isfinite(number) else None
