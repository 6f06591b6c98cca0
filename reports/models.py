from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Site
from reference.models import Drug, Label, LabelEntry, Term

from .choices import (
    Causality,
    Coding,
    DrugRole,
    DuplicateStatus,
    Listedness,
    Outcome,
    Qualification,
    Route,
    Seriousness,
    Sex,
    Source,
)

# Pseudonymous references only: letters, digits and - _ . /, no spaces, so a name
# written as "Jane Doe" is refused at the door.
PATIENT_REFERENCE = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$",
    "Use the patient's pseudonymous reference (letters, digits and - _ . /, no spaces), "
    "never a name.",
)

# The longest narrative one submission may bring (a new report or a follow-up), on the web
# form (its maxlength) and in the API alike.
NARRATIVE_MAX_LENGTH = 20_000


class Patient(models.Model):
    """A patient known by a pseudonymous reference, unique within a site. No names anywhere."""

    # Indexed first in the (site, reference) constraint.
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="patients", db_index=False
    )
    reference = models.CharField(max_length=40, validators=[PATIENT_REFERENCE])
    age = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(500)],
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["site", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "reference"], name="patient_reference_per_site"
            ),
            models.CheckConstraint(
                condition=Q(age__isnull=True) | Q(age__lte=120), name="patient_age_range"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class Exposure(models.Model):
    """A patient's treatment with a drug: the denominator of the cohort incidence."""

    # Indexed first in the (patient, drug) constraint.
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="exposures", db_index=False
    )
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="exposures")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    dose = models.CharField(max_length=100, blank=True)
    route = models.CharField(max_length=20, choices=Route.choices, blank=True)
    lot_number = models.CharField(max_length=50, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    from_report = models.BooleanField(
        default=False,
        help_text="Registered by a report rather than by the cohort registration: such "
        "exposures alone are no registered cohort for incidence tests.",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "drug"], name="exposure_patient_drug"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="exposure_end_after_start",
            ),
        ]
        indexes = [
            models.Index(
                fields=["drug", "patient"],
                condition=Q(from_report=False),
                name="exposure_registered_cohort",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} on {self.drug}"


class CaseCounter(models.Model):
    """The last case number given out in a year."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Report(models.Model):
    """One case (ICSR): one patient, its first suspect drug, one or more reactions; further
    drugs of the case are its ReportDrug rows."""

    reference = models.CharField("case number", max_length=20, unique=True)
    # Site and drug are indexed first in the (site, received_at) and (drug, patient) indexes.
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="reports", db_index=False)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports"
    )
    reporter_qualification = models.CharField(max_length=12, choices=Qualification.choices)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reports")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="reports", db_index=False)
    therapy_start = models.DateField(null=True, blank=True)
    therapy_end = models.DateField(null=True, blank=True)
    dose = models.CharField(max_length=100, blank=True)
    route = models.CharField(max_length=20, choices=Route.choices, blank=True)
    lot_number = models.CharField(max_length=50, blank=True)
    narrative = models.TextField(blank=True)
    label = models.ForeignKey(
        Label,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The label version listedness was decided against.",
    )
    expedited = models.BooleanField(default=False)
    expedited_due = models.DateField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    is_void = models.BooleanField(default=False)
    void_reason = models.TextField(blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    duplicate_status = models.CharField(
        max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.NONE, blank=True
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="suspected_duplicates"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["site", "-received_at"]),
            models.Index(fields=["drug", "patient"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_void=False) | ~Q(void_reason=""), name="report_void_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(expedited=False) | Q(expedited_due__isnull=False),
                name="report_expedited_has_due_date",
            ),
            models.CheckConstraint(
                condition=Q(therapy_end__isnull=True)
                | Q(therapy_start__isnull=True)
                | Q(therapy_end__gte=models.F("therapy_start")),
                name="report_therapy_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def counted(self) -> bool:
        """Whether the report is counted in detection: neither void nor a confirmed duplicate.
        Its reactions carry a copy (Reaction.counted) that the report services keep in step."""
        return not self.is_void and self.duplicate_status != DuplicateStatus.CONFIRMED

    @property
    def further_suspects(self) -> list["ReportDrug"]:
        """The drugs the case suspects after the first (ReportDrug.suspected), in the case's
        order; read from the report's drugs as already loaded, when they are."""
        return [d for d in self.other_drugs.all() if d.suspected]


class Reaction(models.Model):
    """A reaction of a report, coded to a term, with its listedness decided at intake."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="reactions")
    # Indexed first in the (term, onset_date) index. None while the reporter's words await
    # coding: such a reaction has no listedness and is not counted.
    term = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reactions",
        db_index=False,
    )
    coding = models.CharField(max_length=10, choices=Coding.choices, default=Coding.AUTO)
    coding_note = models.CharField(
        max_length=300, blank=True, help_text="What the coder said of its choice."
    )
    coded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coded_at = models.DateTimeField(null=True, blank=True)
    # Copies of the report's first suspect drug and patient, and whether the report counts
    # (neither void nor a confirmed duplicate). Detection reads SuspectReaction, one row per
    # formulary suspect drug. The report services keep both in step.
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+", db_index=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", db_index=False)
    counted = models.BooleanField(default=True)
    verbatim = models.CharField(max_length=300, blank=True)
    onset_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    grade = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    seriousness = models.JSONField(default=list, blank=True)
    serious = models.BooleanField(default=False)
    outcome = models.CharField(max_length=25, choices=Outcome.choices, default=Outcome.UNKNOWN)
    causality = models.CharField(max_length=15, choices=Causality.choices, blank=True)
    # For the case: unlisted when unlisted for any formulary suspect drug (SuspectReaction
    # keeps each drug's judgement).
    listedness = models.CharField(  # noqa: DJ001
        max_length=10, choices=Listedness.choices, null=True, blank=True
    )
    listed_by = models.ForeignKey(
        LabelEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The entry of the first suspect's label that made the reaction listed.",
    )
    listedness_note = models.CharField(max_length=300, blank=True)
    added_in_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["report", "id"]
        indexes = [
            models.Index(fields=["term", "onset_date"]),
            models.Index(fields=["report"], condition=Q(coding="pending"), name="reaction_pending"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1, grade__lte=5), name="reaction_grade_1_5"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(onset_date__isnull=True)
                | Q(end_date__gte=models.F("onset_date")),
                name="reaction_end_after_onset",
            ),
            models.CheckConstraint(
                condition=~Q(grade=5) | Q(outcome="fatal"), name="reaction_grade5_is_fatal"
            ),
            # A reaction awaiting coding has no term and no listedness, and is not counted.
            models.CheckConstraint(
                condition=Q(coding="pending", term__isnull=True, listedness__isnull=True)
                | (~Q(coding="pending") & Q(term__isnull=False, listedness__isnull=False)),
                name="reaction_pending_has_no_term",
            ),
            models.CheckConstraint(
                condition=Q(counted=False) | Q(term__isnull=False),
                name="reaction_counted_is_coded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term or self.verbatim} (grade {self.grade})"

    @property
    def seriousness_labels(self) -> list[str]:
        labels = dict(Seriousness.choices)
        return [str(labels.get(value, value)) for value in self.seriousness]


class ReportDrug(models.Model):
    """A drug of a case beside its first suspect (Report.drug): a further suspect, or a
    concomitant or interacting drug. A drug outside the formulary is kept by the name the
    reporter gave (drug is None)."""

    # Indexed first in the (report, position) constraint.
    report = models.ForeignKey(
        Report, on_delete=models.PROTECT, related_name="other_drugs", db_index=False
    )
    position = models.PositiveSmallIntegerField(
        help_text="Order in the case: 2 for the drug after the first suspect, and so on."
    )
    role = models.CharField(max_length=12, choices=DrugRole.choices, default=DrugRole.SUSPECT)
    drug = models.ForeignKey(
        Drug, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField("name as reported", max_length=200)
    dose = models.CharField(max_length=100, blank=True)
    route = models.CharField(max_length=20, choices=Route.choices, blank=True)
    therapy_start = models.DateField(null=True, blank=True)
    therapy_end = models.DateField(null=True, blank=True)
    lot_number = models.CharField(max_length=50, blank=True)
    label = models.ForeignKey(
        Label,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The label version this suspect's listedness was first decided against.",
    )
    added_in_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "position"], name="report_drug_position_unique"
            ),
            models.UniqueConstraint(
                fields=["report", "drug"],
                condition=Q(drug__isnull=False),
                name="report_drug_once",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="report_drug_has_name"),
            models.CheckConstraint(condition=Q(position__gte=2), name="report_drug_after_first"),
            models.CheckConstraint(
                condition=Q(therapy_end__isnull=True)
                | Q(therapy_start__isnull=True)
                | Q(therapy_end__gte=models.F("therapy_start")),
                name="report_drug_therapy_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report}: {self.name} ({self.role})"

    @property
    def is_suspect(self) -> bool:
        return self.role == DrugRole.SUSPECT

    @property
    def suspected(self) -> bool:
        """Whether the case suspects the drug: a suspect, or a drug suspected of interacting
        (listed with the suspects, as ICSRs list them, though judged only as a suspect)."""
        return self.role in (DrugRole.SUSPECT, DrugRole.INTERACTING)


class SuspectReaction(models.Model):
    """A reaction as one formulary suspect drug of its case sees it: the listedness against
    that drug's label, and copies of what detection counts (term, patient, grade,
    seriousness, outcome, whether the report counts), so that each drug's cohort
    and cases are read from one index without joining the reports. A case with two
    formulary suspects has two rows per reaction; the report services keep them in step."""

    reaction = models.ForeignKey(Reaction, on_delete=models.PROTECT, related_name="per_drug")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+", db_index=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", db_index=False)
    term = models.ForeignKey(
        Term, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    grade = models.PositiveSmallIntegerField()
    serious = models.BooleanField(default=False)
    outcome = models.CharField(max_length=25, choices=Outcome.choices, default=Outcome.UNKNOWN)
    counted = models.BooleanField(default=False)
    listedness = models.CharField(  # noqa: DJ001
        max_length=10, choices=Listedness.choices, null=True, blank=True
    )
    listed_by = models.ForeignKey(
        LabelEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    listedness_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["reaction", "id"]
        indexes = [
            # Detection reads a drug's counted reactions in term then patient order from this
            # index alone, with no sort.
            models.Index(
                fields=["drug", "term", "patient"],
                include=["grade", "serious", "outcome"],
                condition=Q(counted=True),
                name="suspect_counted_drug_term",
            ),
            # Whether a patient has a counted reaction with a drug (the cohort count).
            models.Index(
                fields=["drug", "patient"],
                condition=Q(counted=True),
                name="suspect_counted_drug_patient",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reaction", "drug"], name="suspect_reaction_once"),
            models.CheckConstraint(
                condition=Q(counted=False) | Q(term__isnull=False),
                name="suspect_counted_is_coded",
            ),
            models.CheckConstraint(
                condition=Q(term__isnull=True, listedness__isnull=True)
                | Q(term__isnull=False, listedness__isnull=False),
                name="suspect_coded_has_listedness",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reaction} with {self.drug_id}: {self.listedness or 'pending'}"


class ReportVersion(models.Model):
    """The report as it stood after its initial submission or a follow-up."""

    # Indexed first in the (report, number) constraint.
    report = models.ForeignKey(
        Report, on_delete=models.PROTECT, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The case number, patient, drug, therapy, narrative and every reaction as they read in
    # this version (reports.services.reports.report_version_content).
    content = models.JSONField()
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="report_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.report} v{self.number}"


class IdempotencyRecord(models.Model):
    """An API submission key: the same key and body return the first report."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
