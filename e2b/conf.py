"""The E2B settings as the exchange reads them (documented in the package docstring)."""

import re

from django.conf import settings

from reference.services import meddra_version as reference_meddra_version

from . import codes


def sender_id() -> str:
    return str(settings.E2B_SENDER_ID).strip()


def receiver_id() -> str:
    return str(settings.E2B_RECEIVER_ID).strip()


def message_receiver_id() -> str:
    """N.2.r.3: FDA's post-market batches go to CDER; other receivers take the batch id."""
    batch = receiver_id()
    return codes.FDA_MESSAGE_RECEIVER if batch == codes.FDA_RECEIVER else batch


def country() -> str:
    return str(settings.E2B_COUNTRY).strip().upper()


def sender_name_part() -> str:
    """The sender's name in C.1.1: its id's letters and digits (no '-', which separates
    C.1.1's parts)."""
    return re.sub(r"[^A-Z0-9]", "", sender_id().upper()) or "SENDER"


def case_id_prefix() -> str:
    return f"{country()}-{sender_name_part()}-"


def meddra_version() -> str:
    """The loaded MedDRA release's version, else the configured E2B_MEDDRA_VERSION, else ""."""
    return (reference_meddra_version() or "").strip()


def max_bytes() -> int:
    return int(settings.E2B_MAX_BYTES)


def schema_dir() -> str:
    return str(settings.E2B_SCHEMA_DIR or "").strip()
