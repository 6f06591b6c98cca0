"""Spontaneous reports across many products, imported from other databases (a CSV named at
import, FAERS), for the disproportionality methods (PRR, ROR, IC and MGPS;
docs/pharmacovigilance.md, "Disproportionality across spontaneous reports").

A source's products and events live here, apart from the formulary and the terminology:
each is kept as the source names it and linked to a formulary drug or a term where one
matches, so an import never adds a drug to the nurses' list or a term to the terminology.
A report is kept as its product-event pairs. Imports are all or nothing and the only writer
of reports, so a source's reports change one import at a time: its disproportionality baseline (the
counts and the MGPS prior fitted to them) is computed once per import and shared by every
detection run until the next.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from reference.models import Drug, Term
from reports.choices import Sex


class ImportKind(models.TextChoices):
    CSV = "csv", "CSV of report, drug and event"
    FAERS = "faers", "FAERS quarterly extract"


class Source(models.Model):
    """A database of spontaneous reports: FAERS, or one named at a CSV import. Report ids,
    products and events are its own."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    links_revision = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="The reference data's revision its links were last made from.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReportImport(models.Model):
    """One file (or FAERS quarter) of spontaneous reports, imported whole."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="imports")
    kind = models.CharField(max_length=10, choices=ImportKind.choices, default=ImportKind.CSV)
    file_name = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64, unique=True)
    rows = models.PositiveIntegerField()
    reports = models.PositiveIntegerField()
    pairs = models.PositiveIntegerField()
    summary = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the import read and did (FAERS: quarter, layout, read, kept, "
        "superseded, deleted).",
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.reports} reports from {self.source})"


class Product(models.Model):
    """A product as a spontaneous source names it; linked to a formulary drug where one
    matches by name or brand name."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=300, help_text="As first reported.")
    key = models.CharField(
        max_length=300,
        help_text="What makes two reported names one product of the source: for a CSV, the "
        "name in any case; for FAERS, the normalised name.",
    )
    drug = models.ForeignKey(
        Drug,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spontaneous_products",
        help_text="The formulary drug of this name, refreshed at each import of the source "
        "and when the reference data changes.",
    )

    class Meta:
        ordering = ["source", "name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="spontaneous_product_unique"),
        ]
        indexes = [models.Index(fields=["drug"], name="spontaneous_product_drug")]

    def __str__(self) -> str:
        return f"{self.name} ({self.source})"


class Event(models.Model):
    """An event as a source names it (a MedDRA preferred term by name in FAERS); linked to
    a term of the terminology where one matches by name or synonym."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="events")
    name = models.CharField(max_length=300, help_text="As first reported.")
    key = models.CharField(max_length=300, help_text="The name's spelling-insensitive key.")
    term = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spontaneous_events",
        help_text="The term of this name, refreshed at each import of the source and when "
        "the reference data changes.",
    )

    class Meta:
        ordering = ["source", "name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="spontaneous_event_unique"),
        ]
        indexes = [models.Index(fields=["term"], name="spontaneous_event_term")]

    def __str__(self) -> str:
        return f"{self.name} ({self.source})"


class CaseReport(models.Model):
    """A spontaneous report (a FAERS case), by the id its source gave it."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="case_reports")
    case_key = models.CharField(
        max_length=64,
        help_text="The case's key in its source (FAERS: the caseid; a legacy AERS case: L "
        "and its case number, a key space of its own).",
    )
    batch = models.ForeignKey(
        ReportImport,
        on_delete=models.PROTECT,
        related_name="case_reports",
        help_text="The import of the version kept.",
    )
    sex = models.CharField(
        max_length=10,
        choices=Sex.choices,
        default=Sex.UNKNOWN,
        help_text="As the product records a patient's sex; the import reads other spellings.",
    )
    version = models.PositiveIntegerField(
        default=0, help_text="The source's version of the case (FAERS caseversion)."
    )
    fda_dt = models.DateField(
        "FDA date", null=True, blank=True, help_text="When FDA received this version."
    )
    outcomes = models.CharField(
        max_length=40, blank=True, help_text="The case's outcome codes, space-separated (DE HO)."
    )
    serious = models.BooleanField(default=False, help_text="Whether any outcome is recorded.")
    deleted_by = models.ForeignKey(
        ReportImport,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The import whose DELETE list removed the case: its pairs are gone.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "case_key"], name="case_report_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.case_key}"


class CaseReportPair(models.Model):
    """A product and an event reported together in one report (once per report)."""

    report = models.ForeignKey(CaseReport, on_delete=models.PROTECT, related_name="pairs")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "product", "event"], name="case_pair_unique"),
        ]
        indexes = [
            # The pairs of a product and the marginal counts are index-only scans.
            models.Index(fields=["product", "event", "report"], name="case_pair_product_event"),
            models.Index(fields=["event", "report"], name="case_pair_event"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.product_id} / {self.event_id}"


class DisproportionalityBaseline(models.Model):
    """What every product's pairs in a source are compared with, as of one import: the
    counts of unique reports (overall, per event, and per stratum when stratified) and the
    MGPS prior fitted to all the source's product-event pairs. Computed by surveillance.
    Reports per product are not stored (hundreds of thousands at FAERS scale): they are
    counted for the products asked."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="baselines")
    revision = models.PositiveIntegerField(help_text="The source's last import the counts include.")
    method = models.CharField(
        max_length=60,
        default="",
        help_text="The settings it was computed with: the truncation N*, the strata, and "
        "whether serious cases only.",
    )
    n_reports = models.PositiveIntegerField()
    pairs = models.PositiveIntegerField()
    event_reports = models.JSONField(default=dict, help_text="Reports per event id.")
    strata = models.JSONField(
        default=dict,
        help_text="When stratified: per stratum, its reports and its reports per event.",
    )
    prior = models.JSONField(
        default=dict,
        help_text="alpha1, beta1, alpha2, beta2, p, neg_log_likelihood, converged, min_count.",
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["source", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "revision", "method"], name="disproportionality_baseline_unique"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Disproportionality baseline of {self.source} at import {self.revision}: "
            f"{self.n_reports} reports"
        )


class ImportRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """FAERS quarters an officer uploaded on the spontaneous sources page, imported by a
    worker: the files while they wait, where the import has got to, and what it imported.
    While the import runs its progress is in the cache (a quarter is written in one
    transaction, which no other connection sees until it ends); the run's own row says
    how many files are done and how it ended."""

    files = models.JSONField(default=list, help_text="The names of the files, as uploaded.")
    folder = models.CharField(
        max_length=200,
        help_text="Where the files wait, under SPONTANEOUS_UPLOAD_DIR; deleted when the run ends.",
    )
    files_deleted_at = models.DateTimeField(null=True, blank=True)
    roles = models.CharField(
        max_length=20, default="PS,SS", help_text="The drug roles counted as the case's products."
    )
    status = models.CharField(
        max_length=10,
        choices=ImportRunStatus.choices,
        default=ImportRunStatus.QUEUED,
        db_index=True,
    )
    files_done = models.PositiveSmallIntegerField(
        default=0, help_text="Files imported (or found imported before) so far."
    )
    results = models.JSONField(
        default=list,
        blank=True,
        help_text="Per file imported: its name, quarter, import id, and whether it had been "
        "imported before (nothing changed).",
    )
    imports = models.ManyToManyField(ReportImport, blank=True, related_name="runs")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"FAERS import {self.pk} ({', '.join(self.files)}): {self.status}"
