from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import BAND_UPPER_PCT, Band, NameKind, Section, TermSource
from .normalize import keyless_message, name_key

meddra_code_validator = RegexValidator(r"^[0-9]{8}$", "A MedDRA code has 8 digits.")


class Term(models.Model):
    """A concept of the open terminology: one reaction, or a group standing for a class of them."""

    name = models.CharField(max_length=200, unique=True)
    soc = models.CharField("system organ class", max_length=120)
    # The code the shipped terminology gives (a CTCAE term's MedDRA LLT code).
    meddra_code = models.CharField(max_length=12, blank=True)
    # From the loaded MedDRA release, or set by hand: what an E2B report codes the term as.
    meddra_llt_code = models.CharField(
        "MedDRA LLT code", max_length=8, blank=True, validators=[meddra_code_validator]
    )
    meddra_pt_code = models.CharField(
        "MedDRA PT code", max_length=8, blank=True, validators=[meddra_code_validator]
    )
    meddra_soc_code = models.CharField(
        "MedDRA primary SOC code",
        max_length=8,
        blank=True,
        validators=[meddra_code_validator],
        help_text="Set by the MedDRA import.",
    )
    source = models.CharField(max_length=10, choices=TermSource.choices, default=TermSource.LOCAL)
    is_group = models.BooleanField(default=False)
    covers_members = models.BooleanField(
        default=False,
        help_text="For a group: whether a label that lists the group lists each of its members.",
    )
    members = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="groups", through="GroupMembership"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_group=True) | Q(covers_members=False),
                name="term_only_groups_cover_members",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not name_key(self.name):
            raise ValidationError({"name": keyless_message(self.name)})

    @property
    def e2b_llt_code(self) -> str:
        """The LLT code a reaction coded to this term is reported under (E.i.2.1b), or ""
        when the term has none: the MedDRA import's or the admin's, else the shipped one."""
        return self.meddra_llt_code or self.meddra_code


class GroupMembership(models.Model):
    """A term's place in a group (a term may belong to several groups)."""

    group = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="member_links")
    member = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="group_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "member"], name="group_member_unique"),
            models.CheckConstraint(
                condition=~Q(group=models.F("member")), name="group_not_own_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.group_id}"


class TermName(models.Model):
    """One way of writing a term: its preferred name, a synonym, or a lay phrase."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="names")
    text = models.CharField(max_length=200)
    key = models.CharField(max_length=200, db_index=True, editable=False)
    kind = models.CharField(max_length=10, choices=NameKind.choices)
    shipped = models.BooleanField(
        default=False, help_text="Part of the terminology shipped with the product."
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The officer whose coding taught this name.",
    )
    added_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["term", "kind", "text"]
        constraints = [
            models.UniqueConstraint(fields=["term", "key"], name="term_name_key_unique"),
        ]

    def __str__(self) -> str:
        return self.text

    def save(self, *args: object, **kwargs: object) -> None:
        self.key = name_key(self.text)
        if not self.key:
            # An empty key would match every other text without a letter or digit.
            raise ValueError(keyless_message(self.text))
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        if not name_key(self.text):
            raise ValidationError({"text": keyless_message(self.text)})


class CtcaeCriteria(models.Model):
    """The CTCAE grade 1-5 criteria of a term, imported for display beside the grade."""

    term = models.OneToOneField(Term, on_delete=models.CASCADE, related_name="ctcae")
    ctcae_term = models.CharField(max_length=200)
    version = models.CharField(max_length=10, default="5.0")
    grade_1 = models.TextField(blank=True)
    grade_2 = models.TextField(blank=True)
    grade_3 = models.TextField(blank=True)
    grade_4 = models.TextField(blank=True)
    grade_5 = models.TextField(blank=True)
    definition = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "CTCAE criteria"

    def __str__(self) -> str:
        return f"CTCAE {self.version}: {self.ctcae_term}"

    def grades(self) -> list[tuple[int, str]]:
        texts = [self.grade_1, self.grade_2, self.grade_3, self.grade_4, self.grade_5]
        return [(i, t) for i, t in enumerate(texts, start=1)]


class Drug(models.Model):
    """A medicinal product whose reactions are reported and whose label is the reference."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200, unique=True)
    brand_names = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    """One version of a drug's reference safety information; older versions are kept."""

    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="labels")
    version = models.PositiveIntegerField()
    source = models.CharField(max_length=300)
    effective_date = models.DateField(null=True, blank=True)
    is_current = models.BooleanField(default=True)
    fingerprint = models.CharField(max_length=64, editable=False)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["drug", "-version"]
        get_latest_by = "version"
        constraints = [
            models.UniqueConstraint(fields=["drug", "version"], name="label_version_unique"),
            models.UniqueConstraint(
                fields=["drug"], condition=Q(is_current=True), name="label_one_current_per_drug"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug} label v{self.version}"


class LabelEntry(models.Model):
    """A reaction named by a label, with its frequency band and incidences."""

    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="entries")
    # None for consumer wording that codes to no term: kept as written, it lists nothing,
    # and waits in the coding queue.
    term = models.ForeignKey(
        Term, null=True, blank=True, on_delete=models.PROTECT, related_name="label_entries"
    )
    section = models.CharField(max_length=12, choices=Section.choices)
    # None for consumer wording, which carries no frequency: null (not "") so that the
    # API says so and a check constraint can tie it to the section.
    band = models.CharField(  # noqa: DJ001
        max_length=12, choices=Band.choices, null=True, blank=True, default=Band.NOT_REPORTED
    )
    incidence_pct = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    grade3_pct = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    covers = models.ManyToManyField(Term, blank=True, related_name="covered_by_entries")
    # What the group term said when the label was imported; listedness reads the
    # group's current Term.covers_members instead, so a change of the reference data
    # reaches existing labels.
    covers_members = models.BooleanField(
        default=False, help_text="Whether the group covered its members when imported."
    )
    verbatim = models.CharField(max_length=300, help_text="The wording on the label.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["label", "section", "position"]
        verbose_name_plural = "label entries"
        constraints = [
            models.UniqueConstraint(
                fields=["label", "term"],
                condition=Q(section="professional"),
                name="label_entry_professional_term_unique",
            ),
            models.CheckConstraint(
                condition=Q(incidence_pct__isnull=True)
                | Q(incidence_pct__gte=0, incidence_pct__lte=100),
                name="label_entry_incidence_range",
            ),
            models.CheckConstraint(
                condition=Q(grade3_pct__isnull=True) | Q(grade3_pct__gte=0, grade3_pct__lte=100),
                name="label_entry_grade3_range",
            ),
            models.CheckConstraint(
                condition=Q(grade3_pct__isnull=True)
                | Q(incidence_pct__isnull=True)
                | Q(grade3_pct__lte=models.F("incidence_pct")),
                name="label_entry_grade3_within_incidence",
            ),
            models.CheckConstraint(
                condition=Q(term__isnull=False) | Q(section="consumer"),
                name="label_entry_uncoded_only_consumer",
            ),
            models.CheckConstraint(
                condition=Q(section="consumer", band__isnull=True)
                | Q(section="professional", band__isnull=False),
                name="label_entry_band_only_professional",
            ),
        ]

    def __str__(self) -> str:
        if self.term_id is None:
            return f"{self.verbatim} (not coded)"
        return f"{self.term} ({self.get_band_display()})"

    @property
    def band_upper_pct(self) -> Decimal | None:
        return BAND_UPPER_PCT[self.band] if self.band else None


class ReferenceDataset(models.Model):
    """Which version of a shipped data file is loaded, so that loading is done once."""

    name = models.CharField(max_length=100, unique=True)
    fingerprint = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now=True)
    # For a shipped label file: the label it last gave, so that a label the site
    # imported itself afterwards is never replaced by a reload.
    label = models.ForeignKey(
        Label, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return self.name


class MeddraRelease(models.Model):
    """A MedDRA release loaded from a licensed site's MedAscii folder, with what it changed."""

    version = models.CharField(max_length=10)
    language = models.CharField(max_length=40)
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.CharField(
        max_length=150, help_text='The account that imported it, or "command".'
    )
    pts = models.PositiveIntegerField("PTs", default=0)
    llts = models.PositiveIntegerField("LLTs", default=0)
    current_llts = models.PositiveIntegerField("current LLTs", default=0)
    changes = models.JSONField(default=dict, blank=True, help_text="What the import changed.")

    class Meta:
        ordering = ["-imported_at"]
        get_latest_by = "imported_at"
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="meddra_release_unique"),
        ]

    def __str__(self) -> str:
        return f"MedDRA {self.version} {self.language}"
