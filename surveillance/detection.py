"""Detection against the label: the observed incidence in the treated cohort of a drug
against its labelled incidence, and reactions the label does not list (DOMAIN.md section 5).

Counts are distinct patients, aggregated in the database by grouped queries whose
number does not depend on the number of terms; the statistics are vectorised.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from numpy.typing import NDArray

from audit.services import audit_record
from reference.choices import BAND_UPPER_PCT, Band
from reference.listedness import LabelListing
from reference.models import Drug, Label, LabelEntry, Term
from reports.models import Exposure, Reaction
from spontaneous.models import CaseReportPair

from . import disproportionality as dp
from . import stats
from .choices import CLOSED_STATUSES, Kind, Priority, ReviewStatus, RunStatus
from .models import DetectionRun, DrugRun, Signal, SignalEvaluation
from .snapshots import snapshot_current, stratified_expected

# Numbers are compared after rounding, so that float noise never makes a new evaluation.
NUMBER_FIELDS = (
    "cases",
    "exposed",
    "observed_pct",
    "ci_low_pct",
    "ci_high_pct",
    "expected_pct",
    "p_value",
    "q_value",
)
TESTED_KINDS = (Kind.INCIDENCE, Kind.SEVERITY)
# A finding's own numbers; its q-value comes from the run's whole family of tests, at the
# run's end (run_q_values_apply).
FINDING_FIELDS = tuple(name for name in NUMBER_FIELDS if name != "q_value")


def min_cases() -> int:
    return int(getattr(settings, "DETECTION_MIN_CASES", 3))


def alpha() -> float:
    return float(getattr(settings, "DETECTION_ALPHA", 0.05))


@dataclass
class Counts:
    """Distinct patients: with the reaction, with it at grade >= 3, and with a severe case."""

    cases: int = 0
    cases3: int = 0
    severe: int = 0


@dataclass
class Cohort:
    exposed: int
    registered: bool
    terms: dict[int, Counts]
    groups: dict[int, Counts]


@dataclass
class Finding:
    """One rule evaluated for one term or group of a drug."""

    term: Term
    kind: str
    met: bool
    cases: int
    exposed: int
    summary: str
    priority: str = Priority.MEDIUM
    expected_pct: float | None = None
    band: str = ""
    observed_pct: float | None = None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    p_value: float | None = None
    statistics: dict[str, Any] = field(default_factory=dict)

    def numbers(self) -> dict[str, Any]:
        return {name: _rounded(getattr(self, name)) for name in FINDING_FIELDS}

    def rounded_statistics(self) -> dict[str, Any]:
        return {name: _rounded(value) for name, value in self.statistics.items()}


@dataclass
class DrugResult:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def cohort_count(drug: Drug, group_ids: Iterable[int]) -> Cohort:
    """The cohort and the cases per term and per labelled group, in three grouped queries."""
    # A report registers its patient's exposure when missing, so the cohort is the registered
    # exposures and, among those from reports, the ones whose patient has a counted reaction.
    counted = Reaction.objects.filter(drug=drug, counted=True, patient_id=OuterRef("patient_id"))
    sizes = Exposure.objects.filter(drug=drug).aggregate(
        any=Count("pk"),
        registered=Count("pk", filter=Q(from_report=False)),
        reported=Count("pk", filter=Q(from_report=True) & Q(Exists(counted))),
    )
    if not sizes["any"]:
        return Cohort(exposed=0, registered=False, terms={}, groups={})
    terms = _per_patient_counts(drug, group_ids=None)
    group_ids = list(group_ids)
    groups = _per_patient_counts(drug, group_ids=group_ids) if group_ids else {}
    return Cohort(
        exposed=sizes["registered"] + sizes["reported"],
        registered=sizes["registered"] > 0,
        terms=terms,
        groups=groups,
    )


def _per_patient_counts(drug: Drug, group_ids: list[int] | None) -> dict[int, Counts]:
    """Distinct patients per term (or per group), with grade >= 3 and with a severe case.

    The drug's counted reactions are read from their covering index, already in term
    order, with no join to the reports.
    """
    reactions = Reaction.objects.filter(drug=drug, counted=True)
    key = "term_id"
    if group_ids is not None:
        key = "term__group_links__group_id"
        reactions = reactions.filter(term__group_links__group_id__in=group_ids)
    rows = (
        reactions.values(key)
        .annotate(
            cases=Count("patient_id", distinct=True),
            cases3=Count("patient_id", distinct=True, filter=Q(grade__gte=3)),
            severe=Count(
                "patient_id",
                distinct=True,
                filter=Q(serious=True) | Q(grade__gte=3) | Q(outcome="fatal"),
            ),
        )
        .order_by()
        .values_list(key, "cases", "cases3", "severe")
    )
    return {key_id: Counts(cases, cases3, severe) for key_id, cases, cases3, severe in rows}


def expected_incidence(
    entry: LabelEntry, group_entries: dict[int, LabelEntry], member_of: dict[int, set[int]]
) -> tuple[Decimal | None, str]:
    """The labelled incidence a test compares with, and where it comes from."""
    if entry.incidence_pct is not None:
        return entry.incidence_pct, "label figure"
    upper = BAND_UPPER_PCT.get(entry.band) if entry.band else None
    if upper is not None:
        return upper, f"upper bound of '{Band(str(entry.band)).label}'"
    if entry.band == Band.NOT_REPORTED:
        for group_id in sorted(member_of.get(entry.term_id, ())):
            group = group_entries.get(group_id)
            if group is not None and group.incidence_pct is not None:
                return group.incidence_pct, f"incidence of its group {group.term.name}"
    return None, ""


def evaluate_drug(
    drug: Drug, *, listing: LabelListing | None = None, cohort: Cohort | None = None
) -> DrugResult:
    """Every finding for one drug against its current label: no writes. A caller that has
    already loaded the listing and counted the cohort passes them in."""
    result = DrugResult()
    if listing is None:
        listing = LabelListing(Label.objects.filter(drug=drug, is_current=True).first())
    group_entries = dict(listing.groups)
    if cohort is None:
        cohort = cohort_count(drug, group_entries)
    # A drug known only from spontaneous reports has no cohort to speak of.
    hospital = cohort.exposed > 0 or listing.label is not None
    if listing.label is None and hospital:
        result.notes.append(f"{drug.name} has no label: every reaction is unlisted.")
    result.counts = {"exposed": cohort.exposed, "terms_with_cases": len(cohort.terms)}
    term_ids = set(cohort.terms) | {e.term_id for e in listing.by_term.values()}
    terms = Term.objects.in_bulk(term_ids)

    tests: list[tuple[LabelEntry, str, int, Decimal, str]] = []
    if not cohort.registered and hospital:
        result.notes.append(
            f"{drug.name}: no registered cohort (every exposed patient came from a report), "
            "so no incidence or severity test; unlisted signals only."
        )
    elif cohort.exposed:
        for entry in listing.by_term.values():
            counts = (
                cohort.groups.get(entry.term_id, Counts())
                if entry.term.is_group
                else cohort.terms.get(entry.term_id, Counts())
            )
            p0, source = expected_incidence(entry, group_entries, listing.members)
            if p0 is not None and counts.cases:
                tests.append((entry, Kind.INCIDENCE, counts.cases, p0, source))
            # A label whose every case was grade >= 3 makes the severity test the incidence
            # test over fewer cases: it adds nothing (DOMAIN.md section 4a).
            if (
                entry.grade3_pct is not None
                and entry.grade3_pct != entry.incidence_pct
                and counts.cases3
            ):
                tests.append(
                    (entry, Kind.SEVERITY, counts.cases3, entry.grade3_pct, "label figure")
                )
    result.findings += _tests(drug, tests, cohort.exposed)

    unlisted: list[Finding] = []
    for term_id, counts in cohort.terms.items():
        term = terms[term_id]
        decision = listing.assess(term)
        if decision.listed:
            continue
        severe = counts.severe > 0
        observed = 100.0 * counts.cases / cohort.exposed if cohort.exposed else None
        unlisted.append(
            Finding(
                term=term,
                kind=Kind.UNLISTED,
                met=counts.cases >= 1,
                cases=counts.cases,
                exposed=cohort.exposed,
                priority=Priority.HIGH if severe else Priority.MEDIUM,
                observed_pct=observed,
                summary=(
                    f"{decision.explain(term, drug)} {_patients(counts.cases)}"
                    f"{', at least one serious, grade >= 3 or fatal' if severe else ''}."
                ),
            )
        )
    if unlisted and cohort.exposed:
        lows, highs = stats.clopper_pearson(
            np.array([f.cases for f in unlisted]), np.full(len(unlisted), cohort.exposed)
        )
        for finding, low, high in zip(unlisted, lows, highs, strict=True):
            finding.ci_low_pct, finding.ci_high_pct = float(low) * 100, float(high) * 100
    result.findings += unlisted
    result.findings += disproportionality_findings(drug)
    return result


def _tests(
    drug: Drug, tests: list[tuple[LabelEntry, str, int, Decimal, str]], exposed: int
) -> list[Finding]:
    if not tests:
        return []
    cases = np.array([t[2] for t in tests])
    p0 = np.array([float(t[3]) / 100 for t in tests])
    p_values = stats.binom_sf_greater(cases, exposed, p0)
    lows, highs = stats.clopper_pearson(cases, np.full(len(tests), exposed))
    findings = []
    for i, (entry, kind, n, expected, source) in enumerate(tests):
        met = bool(n >= min_cases() and p_values[i] < alpha())
        observed = 100.0 * n / exposed
        what = entry.term.name if kind == Kind.INCIDENCE else f"Grade >= 3 {entry.term.name}"
        labelled = (
            f"the labelled {_pct(float(expected))}%"
            if kind == Kind.SEVERITY or source == "label figure"
            else f"{_pct(float(expected))}%, the {source}"
        )
        verdict = "above" if met else "not significantly above"
        every_case_severe = (
            kind == Kind.INCIDENCE
            and entry.grade3_pct is not None
            and entry.grade3_pct == entry.incidence_pct
        )
        findings.append(
            Finding(
                term=entry.term,
                kind=kind,
                met=met,
                cases=n,
                exposed=exposed,
                priority=Priority.HIGH if kind == Kind.SEVERITY and met else Priority.MEDIUM,
                expected_pct=float(expected),
                band=entry.band or "",
                observed_pct=observed,
                ci_low_pct=float(lows[i]) * 100,
                ci_high_pct=float(highs[i]) * 100,
                p_value=float(p_values[i]),
                summary=(
                    f"{what} in {n} of {exposed} treated patients with {drug.name} "
                    f"({_pct(observed)}%, 95% CI {_pct(float(lows[i]) * 100)}-"
                    f"{_pct(float(highs[i]) * 100)}%), {verdict} {labelled} "
                    f"(p = {float(p_values[i]):.3g})."
                    + (
                        " The label gives every case as grade >= 3: this test covers severity."
                        if every_case_severe
                        else ""
                    )
                ),
            )
        )
    return findings


RULES = ("mgps", "prr", "ror", "ic")


def disproportionality_rule() -> tuple[str, float]:
    """The rule that makes a drug-event pair a signal, and the EB05 threshold of MGPS."""
    rule = str(getattr(settings, "DISPROPORTIONALITY_RULE", "mgps"))
    return rule, float(getattr(settings, "DISPROPORTIONALITY_EB05", 2.0))


def disproportionality_findings(drug: Drug) -> list[Finding]:
    """The drug's event pairs in the spontaneous-report database against every other drug's
    (DOMAIN.md section 7): the 2x2 table of unique reports, PRR, ROR, IC and EBGM.

    One grouped query for the drug's pairs; the marginal counts and the MGPS prior come
    from the snapshot of the database's last import.
    """
    snapshot = snapshot_current()
    if snapshot is None or str(drug.pk) not in snapshot.drug_reports:
        return []
    rows = list(
        CaseReportPair.objects.filter(drug=drug, batch_id__lte=snapshot.revision)
        .values("term_id")
        .annotate(n=Count("report_id"))
        .order_by()
        .values_list("term_id", "n")
    )
    drug_n = int(snapshot.drug_reports[str(drug.pk)])
    total = snapshot.n_reports
    a = np.array([n for _, n in rows], dtype=np.float64)
    term_n = np.array([snapshot.term_reports[str(t)] for t, _ in rows], dtype=np.float64)
    b = drug_n - a
    c = term_n - a
    d = total - drug_n - c
    n_min = min_cases()
    prr = dp.prr(a, b, c, d, min_cases=n_min)
    ror = dp.ror(a, b, c, d, min_cases=n_min)
    ic = dp.information_component(a, b, c, d)
    # MGPS compares with E summed over the strata when the database is stratified (by sex).
    stratified = (
        stratified_expected(snapshot.strata, [drug.pk] * len(rows), [t for t, _ in rows])
        if snapshot.strata
        else None
    )
    if snapshot.prior:
        prior = dp.GpsPrior(**{k: v for k, v in snapshot.prior.items() if k != "min_count"})
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
    every = met_by["mgps"] & prr.signal & ror.signal & ic.signal
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
                exposed=drug_n,
                priority=Priority.HIGH if every[i] else Priority.MEDIUM,
                observed_pct=float(observed),
                expected_pct=background,
                statistics=numbers,
                summary=_disproportionality_summary(drug, terms[term_id], numbers, background),
            )
        )
    return findings


@dataclass
class MethodRow:
    """One method's figures on a signal page."""

    method: str
    value: float | None
    low: float | None
    high: float | None
    interval: str
    rule: str
    met: bool
    chosen: bool


def disproportionality_table(numbers: dict[str, Any]) -> list[MethodRow]:
    """The four methods of a disproportionality signal, each with its own rule."""
    if not numbers:
        return []
    n_min = min_cases()
    rule, eb05_min = disproportionality_rule()
    chosen = numbers.get("rule", rule)
    met_by = numbers.get("met_by", {})
    methods = [
        ("mgps", "MGPS (EBGM)", "ebgm", "eb05", "eb95", "EB05-EB95", f"EB05 >= {eb05_min:g}"),
        (
            "prr",
            "PRR",
            "prr",
            "prr_low",
            "prr_high",
            "95% CI",
            f"PRR >= 2, Yates chi-square >= 4 (here {_figure(numbers.get('chi2_yates'))}), "
            f"a >= {n_min}",
        ),
        ("ror", "ROR", "ror", "ror_low", "ror_high", "95% CI", f"lower bound > 1, a >= {n_min}"),
        ("ic", "IC", "ic", "ic025", "ic975", "IC025-IC975", "IC025 > 0"),
    ]
    return [
        MethodRow(
            label,
            numbers.get(value),
            numbers.get(low),
            numbers.get(high),
            interval,
            rule_text,
            bool(met_by.get(method)),
            chosen == method,
        )
        for method, label, value, low, high, interval, rule_text in methods
    ]


def _finite(value: Any) -> float | None:
    """A statistic for JSON: None where it is undefined (a zero cell) or infinite."""
    number = float(value)
    return number if np.isfinite(number) else None


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _disproportionality_summary(
    drug: Drug, term: Term, n: dict[str, Any], background: float | None
) -> str:
    share = f"{_pct(100.0 * n['a'] / (n['a'] + n['b']))}%"
    other = (
        f" against {_pct(background)}% of other drugs' reports" if background is not None else ""
    )
    return (
        f"{term.name} in {n['a']} of {n['a'] + n['b']} spontaneous reports with {drug.name} "
        f"({share}){other}: EBGM {_figure(n['ebgm'])} (EB05 {_figure(n['eb05'])}), "
        f"PRR {_figure(n['prr'])} (chi-square {_figure(n['chi2_yates'])}), "
        f"ROR {_figure(n['ror'])} (95% CI {_figure(n['ror_low'])}-{_figure(n['ror_high'])}), "
        f"IC025 {_figure(n['ic025'])}."
    )


def _patients(n: int) -> str:
    return f"{n} patient{'s' if n != 1 else ''}"


def _pct(value: float) -> str:
    text = f"{value:.1f}" if value >= 1 else f"{value:.2g}"
    return text[:-2] if text.endswith(".0") else text


def _rounded(value: Any) -> Any:
    return round(value, 9) if isinstance(value, float) else value


@transaction.atomic
def findings_apply(*, drug: Drug, findings: list[Finding], run: DetectionRun) -> dict[str, int]:
    """Write a drug's findings: new signals, changed numbers, reopened signals.

    A signal keeps its identity (drug, term, kind) and its review status; a run whose
    numbers are unchanged writes nothing.
    """
    now = timezone.now()
    existing = {
        (s.term_id, s.kind): s for s in Signal.objects.select_for_update().filter(drug=drug)
    }
    seen: set[tuple[int, str]] = set()
    created: list[Signal] = []
    changed: list[Signal] = []
    evaluations: list[SignalEvaluation] = []
    reopened = 0
    for finding in findings:
        key = (finding.term.pk, finding.kind)
        seen.add(key)
        signal = existing.get(key)
        if signal is None:
            if not finding.met:
                continue
            signal = Signal(drug=drug, term=finding.term, kind=finding.kind, first_detected_at=now)
            _copy(signal, finding, now)
            created.append(signal)
            continue
        if _same(signal, finding):
            continue
        if (
            signal.status in CLOSED_STATUSES
            and signal.cases_at_close is not None
            and finding.cases > signal.cases_at_close
        ):
            before = signal.status
            signal.status = ReviewStatus.NEW
            signal.closed_at = None
            reopened += 1
            audit_record(
                actor=None,
                action="signal.reopen",
                target=signal,
                changes={
                    "status": [before, ReviewStatus.NEW],
                    "cases": [signal.cases_at_close, finding.cases],
                },
                comment="New cases arrived after the signal was closed.",
            )
        _copy(signal, finding, now)
        changed.append(signal)
    # Signals whose term no longer has any case are not met any more.
    for key, signal in existing.items():
        if key not in seen and (signal.met or signal.cases):
            empty = Finding(
                term=signal.term,
                kind=signal.kind,
                met=False,
                cases=0,
                exposed=signal.exposed,
                summary=signal.summary,
                priority=signal.priority,
                expected_pct=signal.expected_pct,
                band=signal.band,
            )
            _copy(signal, empty, now)
            signal.q_value = None
            changed.append(signal)
    Signal.objects.bulk_create(created)
    if changed:
        Signal.objects.bulk_update(
            changed,
            [
                "met",
                "priority",
                "summary",
                "status",
                "closed_at",
                "last_evaluated_at",
                "band",
                "statistics",
                *NUMBER_FIELDS,
            ],
        )
    evaluations += (_evaluation(signal, run, now) for signal in [*created, *changed])
    SignalEvaluation.objects.bulk_create(evaluations)
    # The run's end adjusts every test of the run together (run_q_values_apply).
    DrugRun.objects.filter(run=run, drug=drug).update(
        tests=[[f.term.pk, f.kind, f.p_value] for f in findings if f.kind in TESTED_KINDS]
    )
    return {
        "signals_new": len(created),
        "signals_updated": len(changed),
        "signals_reopened": reopened,
    }


@transaction.atomic
def run_q_values_apply(*, run: DetectionRun) -> int:
    """Benjamini-Hochberg q-values across the run's tests (DOMAIN.md section 5): every
    incidence and severity test of every drug the run covered is one family, so the
    q-values wait for the run's last part. Returns how many signals' q-values changed.

    A signal whose p-value another run has changed since is left to that run.
    """
    tests = [
        (drug_id, term_id, kind, p_value)
        for drug_id, drug_tests in DrugRun.objects.filter(
            run=run, status=RunStatus.SUCCEEDED
        ).values_list("drug_id", "tests")
        for term_id, kind, p_value in drug_tests
    ]
    if not tests:
        return 0
    q_values = stats.benjamini_hochberg([t[3] for t in tests])
    family = {
        (drug_id, term_id, kind): (_rounded(p_value), _rounded(float(q)))
        for (drug_id, term_id, kind, p_value), q in zip(tests, q_values, strict=True)
    }
    changed = []
    for signal in Signal.objects.select_for_update().filter(
        drug_id__in={t[0] for t in tests}, kind__in=TESTED_KINDS
    ):
        p_value, q_value = family.get((signal.drug_id, signal.term_id, signal.kind), (None, None))
        if p_value is not None and signal.p_value == p_value and signal.q_value != q_value:
            signal.q_value = q_value
            changed.append(signal)
    if not changed:
        return 0
    Signal.objects.bulk_update(changed, ["q_value"])
    # The run's evaluation of a signal carries its q-value; a signal whose other numbers
    # were unchanged gets one now.
    by_id = {signal.pk: signal for signal in changed}
    evaluations = {
        e.signal_id: e for e in SignalEvaluation.objects.filter(run=run, signal__in=changed)
    }
    for e in evaluations.values():
        e.q_value = by_id[e.signal_id].q_value
    SignalEvaluation.objects.bulk_update(evaluations.values(), ["q_value"])
    now = timezone.now()
    SignalEvaluation.objects.bulk_create(
        _evaluation(signal, run, now) for signal in changed if signal.pk not in evaluations
    )
    return len(changed)


def _evaluation(signal: Signal, run: DetectionRun, at: datetime) -> SignalEvaluation:
    """The signal's numbers as this run leaves them."""
    return SignalEvaluation(
        signal=signal,
        run=run,
        evaluated_at=at,
        met=signal.met,
        statistics=signal.statistics,
        **{name: getattr(signal, name) for name in NUMBER_FIELDS},
    )


def _same(signal: Signal, finding: Finding) -> bool:
    numbers = finding.numbers()
    return (
        signal.met == finding.met
        and all(_rounded(getattr(signal, name)) == numbers[name] for name in FINDING_FIELDS)
        and signal.summary == finding.summary
        and signal.priority == finding.priority
        and signal.statistics == finding.rounded_statistics()
    )


def _copy(signal: Signal, finding: Finding, now: Any) -> None:
    for name, value in finding.numbers().items():
        setattr(signal, name, value)
    signal.statistics = finding.rounded_statistics()
    signal.met = finding.met
    signal.summary = finding.summary
    signal.priority = finding.priority
    signal.band = finding.band
    signal.last_evaluated_at = now


@dataclass
class EntryView:
    term: Term
    band: str
    expected_pct: float | None
    cases: int
    observed_pct: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None


def drug_overview(drug: Drug) -> tuple[Cohort, list[EntryView], list[Signal]]:
    """Every labelled entry observed against expected, and the unlisted signals of the last
    detection run (bleeding sites first). Reads only: no evaluation is run from here."""
    label = Label.objects.filter(drug=drug, is_current=True).first()
    listing = LabelListing(label)
    cohort = cohort_count(drug, listing.groups)
    entries = sorted(listing.by_term.values(), key=lambda e: (e.term.soc, e.term.name))
    counts = [
        (cohort.groups if e.term.is_group else cohort.terms).get(e.term_id, Counts()).cases
        for e in entries
    ]
    lows, highs = (
        stats.clopper_pearson(np.array(counts), np.full(len(counts), cohort.exposed))
        if entries and cohort.exposed
        else (np.full(len(counts), np.nan), np.full(len(counts), np.nan))
    )
    views = []
    for entry, n, low, high in zip(entries, counts, lows, highs, strict=True):
        expected, _ = expected_incidence(entry, listing.groups, listing.members)
        views.append(
            EntryView(
                term=entry.term,
                band=entry.band or "",
                expected_pct=float(expected) if expected is not None else None,
                cases=n,
                observed_pct=100.0 * n / cohort.exposed if cohort.exposed else None,
                ci_low_pct=None if np.isnan(low) else float(low) * 100,
                ci_high_pct=None if np.isnan(high) else float(high) * 100,
            )
        )
    haemorrhage = {gid for gid, entry in listing.groups.items() if not entry.term.covers_members}
    unlisted = list(
        Signal.objects.filter(drug=drug, kind=Kind.UNLISTED, cases__gt=0).select_related("term")
    )
    bleeding = {member for member, groups in listing.members.items() if groups & haemorrhage}
    unlisted.sort(key=lambda s: (s.term_id not in bleeding, -s.cases, s.term.name))
    return cohort, views, unlisted
