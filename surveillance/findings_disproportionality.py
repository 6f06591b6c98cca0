"""Disproportionality findings: a formulary drug's events in each source of spontaneous
reports against every other product's, as 2x2 tables of unique reports with PRR, ROR, IC
and EBGM.

The drug is read in a source through the source's products linked to it (usually one);
each event linked to a term can make a finding for that term, naming the source. Events
that no term names are in the product's table (spontaneous.tables) but make no finding.
"""

from collections import defaultdict
from typing import Any

import numpy as np
from django.db.models import Count, QuerySet

from reference.models import Drug, Term
from spontaneous.baseline import baseline_current, source_pairs
from spontaneous.links import sources_links_current
from spontaneous.models import CaseReportPair, DisproportionalityBaseline, Event, Product, Source
from spontaneous.tables import (
    baseline_prior,
    grouped_event_reports,
    statistics,
    unit_pairs,
    unit_reports,
    unit_strata,
)

from .choices import Kind, Priority
from .findings import Finding, disproportionality_rule
from .wording import disproportionality_summary

# Signal.statistics keeps the names the signal pages and the API have always read.
STORED_NAMES = {
    "prr_ci_low": "prr_low",
    "prr_ci_high": "prr_high",
    "ror_ci_low": "ror_low",
    "ror_ci_high": "ror_high",
}


def disproportionality_findings(drug: Drug) -> list[Finding]:
    """One finding per term reported with the drug in each source, met under the configured
    rule; high priority when every method finds the pair disproportionate. The sources'
    links are first brought up to date with the formulary and the terminology."""
    sources_links_current()
    products: dict[int, list[int]] = defaultdict(list)
    for source_id, product_id in Product.objects.filter(drug=drug).values_list("source_id", "pk"):
        products[source_id].append(product_id)
    findings: list[Finding] = []
    for source in Source.objects.filter(pk__in=products).order_by("pk"):
        findings += _source_findings(drug, source, products[source.pk])
    return findings


def _source_findings(drug: Drug, source: Source, product_ids: list[int]) -> list[Finding]:
    """The drug's findings in one source: a few grouped queries, whatever its events."""
    baseline = baseline_current(source)
    if baseline is None:
        return []
    pairs = unit_pairs(source, product_ids)
    by_term: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for event_id, term_id, n in (
        pairs.filter(event__term__isnull=False)
        .values("event_id", "event__term_id")
        .annotate(n=Count("report_id", distinct=True))
        .order_by("event__term_id", "event_id")
        .values_list("event_id", "event__term_id", "n")
    ):
        by_term[term_id].append((event_id, n))
    if not by_term:
        return []
    term_ids = sorted(by_term)
    # A term that several of the source's events name ("Pyrexia", "Fever") is one unit:
    # its reports are counted over all of them.
    groups: dict[int, list[int]] = defaultdict(list)
    for event_id, term_id in Event.objects.filter(source=source, term_id__in=term_ids).values_list(
        "pk", "term_id"
    ):
        groups[term_id].append(event_id)
    several = [t for t in term_ids if len(groups[t]) > 1]
    a = {t: by_term[t][0][1] for t in term_ids}
    event_n = {t: baseline.event_reports.get(str(groups[t][0]), 0) for t in term_ids}
    for term_id in several:
        a[term_id] = unit_reports(pairs.filter(event_id__in=groups[term_id]))
    for term_id, n in zip(
        several, grouped_event_reports(source, [groups[t] for t in several]), strict=True
    ):
        event_n[term_id] = n
    drug_n = unit_reports(pairs)
    table = statistics(
        np.array([a[t] for t in term_ids], dtype=np.float64),
        np.full(len(term_ids), drug_n, dtype=np.float64),
        np.array([event_n[t] for t in term_ids], dtype=np.float64),
        baseline.n_reports,
        baseline_prior(baseline),
        _stratified_expected(baseline, source, pairs, term_ids, groups)
        if baseline.strata
        else None,
    )
    rule, _ = disproportionality_rule()
    terms = Term.objects.in_bulk(term_ids)
    findings = []
    for i, term_id in enumerate(term_ids):
        row = table.row(i)
        numbers: dict[str, Any] = {
            STORED_NAMES.get(name, name): value for name, value in row.items() if name != "met_by"
        }
        numbers["rule"] = rule
        numbers["met_by"] = row["met_by"]
        met = row["met_by"].get(rule, row["met_by"]["mgps"])
        observed = 100.0 * row["a"] / drug_n
        others = row["c"] + row["d"]
        background = 100.0 * row["c"] / others if others else None
        findings.append(
            Finding(
                term=terms[term_id],
                kind=Kind.DISPROPORTIONALITY,
                source=source,
                met=met,
                cases=row["a"],
                exposed=0,
                drug_reports=drug_n,
                priority=Priority.HIGH if all(row["met_by"].values()) else Priority.MEDIUM,
                observed_pct=observed,
                background_pct=background,
                statistics=numbers,
                summary=disproportionality_summary(
                    drug, terms[term_id], numbers, background, source=source
                ),
            )
        )
    return findings


def _stratified_expected(
    baseline: DisproportionalityBaseline,
    source: Source,
    pairs: QuerySet[CaseReportPair],
    term_ids: list[int],
    groups: dict[int, list[int]],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """E of each term summed over the strata: the drug's reports in a stratum times the
    term's, over the stratum's reports."""
    drug_strata = [s[0] for s in unit_strata(baseline, pairs)]
    total = np.zeros(len(term_ids))
    for i, term_id in enumerate(term_ids):
        events = groups[term_id]
        if len(events) == 1:
            per_stratum = [s["events"].get(str(events[0]), 0) for s in baseline.strata.values()]
        else:
            per_stratum = [
                s[0]
                for s in unit_strata(baseline, source_pairs(source).filter(event_id__in=events))
            ]
        for stratum, unit, event in zip(
            baseline.strata.values(), drug_strata, per_stratum, strict=True
        ):
            if stratum["n"]:
                total[i] += unit * event / stratum["n"]
    return total
