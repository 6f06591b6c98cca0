from django.db import models


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Nightly schedule"
    NEW_REPORTS = "new_reports", "New reports"
    MANUAL = "manual", "Requested by an officer"
    COMMAND_LINE = "command_line", "Command line"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Kind(models.TextChoices):
    INCIDENCE = "incidence", "More frequent than labelled"
    SEVERITY = "severity", "More often severe than labelled"
    UNLISTED = "unlisted", "Not on the label"
    DISPROPORTIONALITY = "disproportionality", "Reported disproportionately"


class Priority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class ReviewStatus(models.TextChoices):
    """EMA GVP Module IX signal-management statuses."""

    NEW = "new", "New"
    UNDER_VALIDATION = "under_validation", "Under validation"
    VALIDATED = "validated", "Validated"
    NOT_VALIDATED = "not_validated", "Not validated (closed)"
    UNDER_ASSESSMENT = "under_assessment", "Under assessment"
    REFUTED = "refuted", "Refuted (closed)"
    CONFIRMED = "confirmed", "Confirmed (closed)"


class RecommendedAction(models.TextChoices):
    LABEL_UPDATE = "label_update", "Label update"
    RISK_MINIMISATION = "risk_minimisation", "Risk-minimisation measure"
    FURTHER_STUDY = "further_study", "Further study"
    NO_ACTION = "no_action", "No action"


# GVP Module IX: the moves a signal may make, and nothing else.
ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    "new": ("under_validation",),
    "under_validation": ("validated", "not_validated"),
    "validated": ("under_assessment",),
    "under_assessment": ("refuted", "confirmed"),
    "not_validated": (),
    "refuted": (),
    "confirmed": (),
}

CLOSED_STATUSES = {ReviewStatus.NOT_VALIDATED, ReviewStatus.REFUTED, ReviewStatus.CONFIRMED}
PRIORITY_ORDER = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
