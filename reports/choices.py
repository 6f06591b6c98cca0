from django.db import models


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    UNKNOWN = "unknown", "Unknown"


class Qualification(models.TextChoices):
    """Reporter qualification (ICH E2B C.2.r.4)."""

    PHYSICIAN = "physician", "Physician"
    PHARMACIST = "pharmacist", "Pharmacist"
    NURSE = "nurse", "Nurse"
    OTHER_HCP = "other_hcp", "Other health professional"
    CONSUMER = "consumer", "Consumer or other non-health professional"


class Source(models.TextChoices):
    WEB = "web", "Web form"
    API = "api", "API"
    IMPORT = "import", "Import"


class Seriousness(models.TextChoices):
    """ICH E2A seriousness criteria; a reaction is serious when any applies."""

    DEATH = "death", "Results in death"
    LIFE_THREATENING = "life_threatening", "Life-threatening"
    HOSPITALIZATION = "hospitalization", "Requires or prolongs hospitalisation"
    DISABILITY = "disability", "Persistent or significant disability"
    CONGENITAL_ANOMALY = "congenital_anomaly", "Congenital anomaly"
    OTHER_MEDICALLY_IMPORTANT = "other_medically_important", "Other important medical event"


class Outcome(models.TextChoices):
    """ICH E2B E.i.7 outcome."""

    RECOVERED = "recovered", "Recovered"
    RECOVERING = "recovering", "Recovering"
    NOT_RECOVERED = "not_recovered", "Not recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", "Recovered with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class Causality(models.TextChoices):
    """WHO-UMC causality categories."""

    CERTAIN = "certain", "Certain"
    PROBABLE = "probable", "Probable"
    POSSIBLE = "possible", "Possible"
    UNLIKELY = "unlikely", "Unlikely"
    CONDITIONAL = "conditional", "Conditional / unclassified"
    UNASSESSABLE = "unassessable", "Unassessable / unclassifiable"


class Listedness(models.TextChoices):
    LISTED = "listed", "Listed"
    UNLISTED = "unlisted", "Unlisted"


class Coding(models.TextChoices):
    """How a reaction came to its term."""

    PENDING = "pending", "Awaiting coding"
    # From the term the reporter named or picked, or from their words.
    AUTO = "auto", "Coded automatically"
    OFFICER = "officer", "Coded by a safety officer"


class DuplicateStatus(models.TextChoices):
    NONE = "", "Not a suspected duplicate"
    SUSPECTED = "suspected", "Suspected duplicate"
    CONFIRMED = "confirmed", "Confirmed duplicate"
    DISMISSED = "dismissed", "Not a duplicate"


class Route(models.TextChoices):
    INTRAVENOUS = "intravenous", "Intravenous"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous"
    INTRAMUSCULAR = "intramuscular", "Intramuscular"
    ORAL = "oral", "Oral"
    OTHER = "other", "Other"


class DrugRole(models.TextChoices):
    """A drug's role in a case (ICH E2B G.k.1)."""

    SUSPECT = "suspect", "Suspect"
    CONCOMITANT = "concomitant", "Concomitant"
    INTERACTING = "interacting", "Interacting"
    # A drug of a blinded study the patient was not given (a placebo arm's active drug).
    NOT_ADMINISTERED = "not_given", "Drug not administered"
