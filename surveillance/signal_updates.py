"""Detection's writes to signals: a drug's findings become new signals, changed numbers or
reopened signals, each change kept as an evaluation of the run; at the run's end, the
q-values across all its tests."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from reference.models import Drug

from . import stats
from .choices import CLOSED_STATUSES, Kind, ReviewStatus, RunStatus
from .findings import FINDING_FIELDS, NUMBER_FIELDS, TESTED_KINDS, Finding, rounded
from .models import DetectionRun, DrugRun, Signal, SignalEvaluation
from .selectors import treated_patients_now


@transaction.atomic
def findings_apply(*, drug: Drug, findings: list[Finding], run: DetectionRun) -> dict[str, int]:
    """Write a drug's findings: new signals, changed numbers, reopened signals.

    A signal keeps its identity (drug, term, kind, and the source of a disproportionality
    signal) and its review status; a run whose numbers are unchanged writes nothing.
    """
    now = timezone.now()
    existing = {
        (s.term_id, s.kind, s.source_id): s
        for s in Signal.objects.select_for_update().filter(drug=drug)
    }
    seen: set[tuple[int, str, int | None]] = set()
    created: list[Signal] = []
    changed: list[Signal] = []
    evaluations: list[SignalEvaluation] = []
    reopened = 0
    for finding in findings:
        key = finding.key
        seen.add(key)
        signal = existing.get(key)
        if signal is None:
            if not finding.met:
                continue
            signal = Signal(
                drug=drug,
                term=finding.term,
                kind=finding.kind,
                source=finding.source,
                first_detected_at=now,
            )
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
    # Signals whose term no longer has any case are not met any more. Read against the
    # cohort of this run, like every other signal of the drug: a signal whose last case was
    # voided must not keep the cohort of the run that last saw a case.
    exposed = _run_cohort(drug, findings)
    for key, signal in existing.items():
        cohort = signal.exposed if signal.kind == Kind.DISPROPORTIONALITY else exposed
        if key not in seen and (signal.met or signal.cases or signal.exposed != cohort):
            empty = Finding(
                term=signal.term,
                kind=signal.kind,
                met=False,
                cases=0,
                exposed=cohort,
                summary=signal.summary,
                priority=signal.priority,
                expected_pct=signal.expected_pct,
                drug_reports=signal.drug_reports,
                background_pct=signal.background_pct,
                band=signal.band,
                source=signal.source,
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
    """Benjamini-Hochberg q-values across the run's tests: every
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
        (drug_id, term_id, kind): (rounded(p_value), rounded(float(q)))
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


def _run_cohort(drug: Drug, findings: list[Finding]) -> int:
    """The treated patients this run counted: every finding against the label carries them;
    a run with no such finding counts them again."""
    for finding in findings:
        if finding.kind != Kind.DISPROPORTIONALITY:
            return finding.exposed
    return treated_patients_now(drug.pk)


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
        and all(rounded(getattr(signal, name)) == numbers[name] for name in FINDING_FIELDS)
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
