"""The rules of detection for one drug: the observed incidence in its treated cohort against
the labelled incidence (incidence and severity tests), reactions the label does not list, and
the disproportionality of its spontaneous reports. Nothing here writes: signal_updates turns
the findings into signals.

Counts are distinct patients, aggregated in the database by grouped queries whose number
does not depend on the number of terms; the statistics are vectorised.
"""

from decimal import Decimal
from typing import NamedTuple

import numpy as np

from reference.listedness import LabelListing, listed_term
from reference.models import Drug, LabelEntry, Term

from . import stats
from .choices import Kind, Priority
from .findings import DrugResult, Finding, alpha, min_cases
from .findings_disproportionality import disproportionality_findings
from .selectors import Cohort, Counts, cohort_count
from .wording import label_test_summary, unlisted_summary


class LabelTest(NamedTuple):
    """An observed count to test against a labelled incidence."""

    entry: LabelEntry
    kind: str
    cases: int
    expected_pct: Decimal
    source: str


def evaluate_drug(
    drug: Drug, *, listing: LabelListing | None = None, cohort: Cohort | None = None
) -> DrugResult:
    """Every finding for one drug against its current label: no writes. A caller that has
    already loaded the listing and counted the cohort passes them in."""
    result = DrugResult()
    if listing is None:
        listing = LabelListing.current(drug)
    if cohort is None:
        cohort = cohort_count(drug, listing.groups)
    # A drug known only from spontaneous reports has no cohort to speak of.
    hospital = cohort.exposed > 0 or listing.label is not None
    if listing.label is None and hospital:
        result.notes.append(f"{drug.name} has no label: every reaction is unlisted.")
    result.counts = {"exposed": cohort.exposed, "terms_with_cases": len(cohort.terms)}
    if not cohort.registered and hospital:
        result.notes.append(
            f"{drug.name}: no registered cohort (every exposed patient came from a report), "
            "so no incidence or severity test; unlisted signals only."
        )
    elif cohort.exposed:
        result.findings += label_test_findings(drug, label_tests(listing, cohort), cohort.exposed)
    result.findings += unlisted_findings(drug, listing, cohort)
    result.findings += disproportionality_findings(drug)
    return result


def label_tests(listing: LabelListing, cohort: Cohort) -> list[LabelTest]:
    """The incidence test of each labelled entry with cases and a labelled incidence, and its
    severity test when the label gives a grade >= 3 figure."""
    tests = []
    for term_id, entry in listing.by_term.items():
        counts = (cohort.groups if listed_term(entry).is_group else cohort.terms).get(
            term_id, Counts()
        )
        expected, source = listing.expected_incidence(entry)
        if expected is not None and counts.cases:
            tests.append(LabelTest(entry, Kind.INCIDENCE, counts.cases, expected, source))
        # A label whose every case was grade >= 3 makes the severity test the incidence
        # test over fewer cases: it adds nothing.
        if (
            entry.grade3_pct is not None
            and entry.grade3_pct != entry.incidence_pct
            and counts.cases_grade3
        ):
            tests.append(
                LabelTest(
                    entry, Kind.SEVERITY, counts.cases_grade3, entry.grade3_pct, "label figure"
                )
            )
    return tests


def label_test_findings(drug: Drug, tests: list[LabelTest], exposed: int) -> list[Finding]:
    """The exact one-sided binomial test of each count against its labelled incidence, with
    its Clopper-Pearson interval; met with enough cases and p below alpha."""
    if not tests:
        return []
    cases = np.array([t.cases for t in tests])
    p0 = np.array([float(t.expected_pct) / 100 for t in tests])
    p_values = stats.binom_sf_greater(cases, exposed, p0)
    lows, highs = stats.clopper_pearson(cases, np.full(len(tests), exposed))
    findings = []
    for test, p_value, low, high in zip(tests, p_values, lows, highs, strict=True):
        met = bool(test.cases >= min_cases() and p_value < alpha())
        findings.append(
            Finding(
                term=listed_term(test.entry),
                kind=test.kind,
                met=met,
                cases=test.cases,
                exposed=exposed,
                priority=Priority.HIGH if test.kind == Kind.SEVERITY and met else Priority.MEDIUM,
                expected_pct=float(test.expected_pct),
                band=test.entry.band or "",
                observed_pct=100.0 * test.cases / exposed,
                ci_low_pct=float(low) * 100,
                ci_high_pct=float(high) * 100,
                p_value=float(p_value),
                summary=label_test_summary(
                    drug=drug,
                    entry=test.entry,
                    kind=test.kind,
                    cases=test.cases,
                    exposed=exposed,
                    expected_pct=float(test.expected_pct),
                    source=test.source,
                    ci_low_pct=float(low) * 100,
                    ci_high_pct=float(high) * 100,
                    p_value=float(p_value),
                    met=met,
                ),
            )
        )
    return findings


def unlisted_findings(drug: Drug, listing: LabelListing, cohort: Cohort) -> list[Finding]:
    """Each reaction with cases that the label does not list; high priority when one of its
    patients had a serious, grade >= 3 or fatal case."""
    terms = Term.objects.in_bulk(set(cohort.terms) | set(listing.by_term))
    findings = []
    for term_id, counts in cohort.terms.items():
        term = terms[term_id]
        decision = listing.assess(term)
        if decision.listed:
            continue
        severe = counts.severe > 0
        findings.append(
            Finding(
                term=term,
                kind=Kind.UNLISTED,
                met=counts.cases >= 1,
                cases=counts.cases,
                exposed=cohort.exposed,
                priority=Priority.HIGH if severe else Priority.MEDIUM,
                observed_pct=100.0 * counts.cases / cohort.exposed if cohort.exposed else None,
                summary=unlisted_summary(
                    drug=drug, term=term, decision=decision, cases=counts.cases, severe=severe
                ),
            )
        )
    if findings and cohort.exposed:
        lows, highs = stats.clopper_pearson(
            np.array([f.cases for f in findings]), np.full(len(findings), cohort.exposed)
        )
        for finding, low, high in zip(findings, lows, highs, strict=True):
            finding.ci_low_pct, finding.ci_high_pct = float(low) * 100, float(high) * 100
    return findings
