"""Spontaneous reports across many drugs, imported from other databases, for the
disproportionality methods (PRR, ROR, IC and MGPS) of detection.

A report is kept as its drug-event pairs. Imports are all or nothing and are the only writer,
so the database changes one import at a time: the snapshot of its counts (and the MGPS prior
fitted to them) is computed once per import and shared by every detection run until the next.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from reference.models import Drug, Term


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "", "Unknown"


class ReportImport(models.Model):
    """One file of spontaneous reports, imported whole."""

    source = models.CharField(
        max_length=100, help_text="The database the reports come from; report ids are its own."
    )
    file_name = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64, unique=True)
    rows = models.PositiveIntegerField()
    reports = models.PositiveIntegerField()
    pairs = models.PositiveIntegerField()
    drugs_created = models.PositiveIntegerField(default=0)
    terms_created = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.reports} reports from {self.source})"


class CaseReport(models.Model):
    """A spontaneous report, by the id its source database gave it."""

    batch = models.ForeignKey(ReportImport, on_delete=models.PROTECT, related_name="case_reports")
    source = models.CharField(max_length=100)
    source_id = models.CharField(max_length=64)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="case_report_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id}"


class CaseReportPair(models.Model):
    """A drug and an event reported together in one report (once per report)."""

    report = models.ForeignKey(CaseReport, on_delete=models.PROTECT, related_name="pairs")
    batch = models.ForeignKey(
        ReportImport, on_delete=models.PROTECT, related_name="+", help_text="Its report's import."
    )
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "drug", "term"], name="case_pair_unique"),
        ]
        indexes = [
            # The pairs of a drug and the marginal counts are index-only scans.
            models.Index(fields=["drug", "term", "report"], name="case_pair_drug_term"),
            models.Index(fields=["term", "report"], name="case_pair_term"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.drug_id} / {self.term_id}"


class Snapshot(models.Model):
    """The counts of the spontaneous-report database after one import, and the MGPS prior
    fitted to its drug-event pairs."""

    revision = models.PositiveIntegerField(help_text="The last import the counts include.")
    method = models.CharField(
        max_length=40,
        default="",
        help_text="The settings it was computed with: the truncation N* and the strata.",
    )
    n_reports = models.PositiveIntegerField()
    pairs = models.PositiveIntegerField()
    drug_reports = models.JSONField(default=dict, help_text="Reports per drug id.")
    term_reports = models.JSONField(default=dict, help_text="Reports per term id.")
    strata = models.JSONField(
        default=dict,
        help_text="When stratified: per stratum, its reports and its reports per drug and term.",
    )
    prior = models.JSONField(
        default=dict,
        help_text="alpha1, beta1, alpha2, beta2, p, neg_log_likelihood, converged, min_count.",
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-revision"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "method"], name="snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"Snapshot at import {self.revision}: {self.n_reports} reports"
