"""A finding: one rule evaluated for one term or group of a drug, before it is written as a
signal; and the settings that decide when a rule is met."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from reference.models import Term
from spontaneous.models import Source

from .choices import Kind, Priority

# Numbers are compared after rounding, so that float noise never makes a new evaluation.
NUMBER_FIELDS = (
    "cases",
    "exposed",
    "observed_pct",
    "ci_low_pct",
    "ci_high_pct",
    "expected_pct",
    "drug_reports",
    "background_pct",
    "p_value",
    "q_value",
)
# A finding's own numbers; its q-value comes from the run's whole family of tests, at the
# run's end (run_q_values_apply).
FINDING_FIELDS = tuple(name for name in NUMBER_FIELDS if name != "q_value")
# The kinds whose p-values make the run's family of tests.
TESTED_KINDS = (Kind.INCIDENCE, Kind.SEVERITY)


def min_cases() -> int:
    return int(getattr(settings, "DETECTION_MIN_CASES", 3))


def alpha() -> float:
    return float(getattr(settings, "DETECTION_ALPHA", 0.05))


def disproportionality_rule() -> tuple[str, float]:
    """The rule that makes a drug-event pair a signal, and the EB05 threshold of MGPS."""
    rule = str(getattr(settings, "DISPROPORTIONALITY_RULE", "mgps"))
    return rule, float(getattr(settings, "DISPROPORTIONALITY_EB05", 2.0))


def rounded(value: Any) -> Any:
    return round(value, 9) if isinstance(value, float) else value


@dataclass
class Finding:
    """One rule evaluated for one term or group of a drug."""

    term: Term
    kind: str
    met: bool
    cases: int
    # Treated patients; a disproportionality finding counts reports (drug_reports) instead.
    exposed: int
    summary: str
    priority: str = Priority.MEDIUM
    expected_pct: float | None = None
    band: str = ""
    observed_pct: float | None = None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    p_value: float | None = None
    drug_reports: int | None = None
    background_pct: float | None = None
    statistics: dict[str, Any] = field(default_factory=dict)
    # Disproportionality: the source of spontaneous reports it was found in.
    source: Source | None = None

    @property
    def key(self) -> tuple[int, str, int | None]:
        """The identity of the signal it makes for its drug."""
        return (self.term.pk, self.kind, self.source.pk if self.source else None)

    def numbers(self) -> dict[str, Any]:
        return {name: rounded(getattr(self, name)) for name in FINDING_FIELDS}

    def rounded_statistics(self) -> dict[str, Any]:
        return {name: rounded(value) for name, value in self.statistics.items()}


@dataclass
class DrugResult:
    """Every finding for one drug, the notes a run shows about it, and its counts."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
