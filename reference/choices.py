from decimal import Decimal

from django.db import models


class Band(models.TextChoices):
    """Frequency bands of the EU SmPC / CIOMS III convention."""

    VERY_COMMON = "very_common", "Very common (≥ 10%)"
    COMMON = "common", "Common (1% to < 10%)"
    UNCOMMON = "uncommon", "Uncommon (0.1% to < 1%)"
    RARE = "rare", "Rare (0.01% to < 0.1%)"
    VERY_RARE = "very_rare", "Very rare (< 0.01%)"
    NOT_REPORTED = "not_reported", "Frequency not reported"


# Upper bound of each band in percent of treated patients; None when open-ended or unknown.
BAND_UPPER_PCT: dict[str, Decimal | None] = {
    Band.VERY_COMMON: None,
    Band.COMMON: Decimal("10"),
    Band.UNCOMMON: Decimal("1"),
    Band.RARE: Decimal("0.1"),
    Band.VERY_RARE: Decimal("0.01"),
    Band.NOT_REPORTED: None,
}


class Section(models.TextChoices):
    PROFESSIONAL = "professional", "Healthcare professionals"
    CONSUMER = "consumer", "Consumers"


class TermSource(models.TextChoices):
    CTCAE = "ctcae", "CTCAE v5.0"
    LABEL = "label", "Drug label"
    SITE = "site", "Bleeding site"
    GROUP = "group", "Group"
    LOCAL = "local", "Added locally"
    MEDDRA = "meddra", "MedDRA import"


class NameKind(models.TextChoices):
    NAME = "name", "Preferred name"
    SYNONYM = "synonym", "Synonym"
    LAY = "lay", "Lay phrase"
    LEARNED = "learned", "Learned from an officer's coding"
    MEDDRA = "meddra", "MedDRA lowest level term"
