from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from reference.models import Drug, Label, Term
from spontaneous.models import Source

from .choices import Kind, Priority, RecommendedAction, ReviewStatus, RunStatus, Trigger


class DetectionRun(models.Model):
    """One detection over every drug, or one drug: queued, run by workers, then done."""

    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    drug = models.ForeignKey(
        Drug,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="detection_runs",
        help_text="The one drug this run covers; empty for every drug.",
    )
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Not handed to the workers before this (a run queued by new reports waits "
        "for the rest of the burst); empty: at once.",
    )
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the run was last handed to the workers."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    drugs_total = models.PositiveIntegerField(default=0)
    drugs_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # New reports for one drug queue at most one run for it.
            models.UniqueConstraint(
                fields=["drug"],
                condition=Q(status="queued", trigger="new_reports"),
                name="detection_one_queued_report_run_per_drug",
            ),
            # An officer's request while one is queued or running shows that run.
            models.UniqueConstraint(
                fields=["drug"],
                condition=Q(status__in=["queued", "running"], trigger="manual", drug__isnull=False),
                name="detection_one_active_manual_run_per_drug",
            ),
            models.UniqueConstraint(
                fields=["trigger"],
                condition=Q(status__in=["queued", "running"], trigger="manual", drug__isnull=True),
                name="detection_one_active_manual_run_over_all_drugs",
            ),
        ]

    def __str__(self) -> str:
        scope = self.drug.name if self.drug else "all drugs"
        return f"Run {self.pk} ({scope}, {self.status})"

    @property
    def progress(self) -> float:
        return self.drugs_done / self.drugs_total if self.drugs_total else 0.0


class DrugRun(models.Model):
    """The part of a run that one worker does for one drug."""

    run = models.ForeignKey(DetectionRun, on_delete=models.CASCADE, related_name="parts")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Times the drug was busy with another run when this part tried."
    )
    not_before = models.DateTimeField(
        null=True, blank=True, help_text="A part waiting for a busy drug tries again after this."
    )
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the part was last handed to the workers."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Renewed by the worker while it runs the part."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    tests = models.JSONField(
        default=list,
        blank=True,
        help_text="[term id, kind, p-value] of each incidence and severity test, for the "
        "run's q-values.",
    )

    class Meta:
        ordering = ["run", "drug"]
        constraints = [
            models.UniqueConstraint(fields=["run", "drug"], name="drug_run_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.drug_id} {self.status}"


class DrugLock(models.Model):
    """A lease on a drug's detection, used when no Redis is configured."""

    drug = models.OneToOneField(Drug, on_delete=models.CASCADE, related_name="+")
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.drug_id} held by {self.holder or 'nobody'}"


class SignalFigures:
    """The pair of figures every kind of signal is read by on the dashboard, in the CSV
    export and in the API (`exposed`, `expected_pct`): for a disproportionality signal they
    are the drug's spontaneous reports and the share of other drugs' reports with the event,
    which the model keeps in fields of their own."""

    exposed: int
    expected_pct: float | None
    drug_reports: int | None
    background_pct: float | None

    @property
    def denominator(self) -> int:
        """What the cases are counted out of: treated patients, or the drug's reports."""
        return self.exposed if self.drug_reports is None else self.drug_reports

    @property
    def comparator_pct(self) -> float | None:
        """What the observed share is compared with: the label, or the other drugs' reports."""
        return self.expected_pct if self.drug_reports is None else self.background_pct


class Signal(SignalFigures, models.Model):
    """A possible new risk, or a new aspect of a known one, for one drug and one term or group.

    Its identity is (drug, term, kind), and for a disproportionality signal the source of
    spontaneous reports it was found in: every run re-evaluates it, none duplicates it, and
    its review status survives every run.
    """

    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="signals")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="signals")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signals",
        help_text="Disproportionality: the database of spontaneous reports it was found in.",
    )
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    met = models.BooleanField(default=True, help_text="Whether the rule is met at the last run.")
    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.NEW, db_index=True
    )
    summary = models.TextField()
    label = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cases = models.PositiveIntegerField(default=0)
    exposed = models.PositiveIntegerField(default=0)
    observed_pct = models.FloatField(null=True, blank=True)
    ci_low_pct = models.FloatField(null=True, blank=True)
    ci_high_pct = models.FloatField(null=True, blank=True)
    expected_pct = models.FloatField(null=True, blank=True)
    drug_reports = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Disproportionality: the drug's spontaneous reports (a + b), of which the "
        "cases are a share.",
    )
    background_pct = models.FloatField(
        null=True,
        blank=True,
        help_text="Disproportionality: the share of other drugs' reports with the event.",
    )
    band = models.CharField(max_length=12, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    q_value = models.FloatField(null=True, blank=True)
    statistics = models.JSONField(
        default=dict,
        blank=True,
        help_text="Disproportionality: the 2x2 table and PRR, ROR, IC and EBGM with their limits.",
    )
    first_detected_at = models.DateTimeField(default=timezone.now)
    last_evaluated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    recommended_action = models.CharField(
        max_length=20, choices=RecommendedAction.choices, blank=True
    )
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When officers were emailed about this signal."
    )
    cases_at_close = models.PositiveIntegerField(
        null=True, blank=True, help_text="Cases when the signal was closed: more reopen it."
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-first_detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["drug", "term", "kind"],
                condition=Q(source__isnull=True),
                name="signal_identity",
            ),
            models.UniqueConstraint(
                fields=["drug", "term", "kind", "source"],
                condition=Q(source__isnull=False),
                name="signal_identity_in_source",
            ),
        ]
        indexes = [models.Index(fields=["status", "priority"])]

    def __str__(self) -> str:
        return f"{self.drug}: {self.term} ({self.kind})"


class SignalEvaluation(SignalFigures, models.Model):
    """A signal's numbers at one run; a run adds one only when they changed."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="evaluations")
    run = models.ForeignKey(DetectionRun, on_delete=models.PROTECT, related_name="evaluations")
    evaluated_at = models.DateTimeField(default=timezone.now)
    met = models.BooleanField()
    cases = models.PositiveIntegerField()
    exposed = models.PositiveIntegerField()
    observed_pct = models.FloatField(null=True, blank=True)
    ci_low_pct = models.FloatField(null=True, blank=True)
    ci_high_pct = models.FloatField(null=True, blank=True)
    expected_pct = models.FloatField(null=True, blank=True)
    drug_reports = models.PositiveIntegerField(null=True, blank=True)
    background_pct = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    q_value = models.FloatField(null=True, blank=True)
    statistics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["signal", "evaluated_at", "id"]

    def __str__(self) -> str:
        return f"{self.signal_id} at run {self.run_id}"
