"""Writes of the reference data: drugs, labels and their versions, CTCAE criteria, MedDRA."""

from .ctcae import CtcaeImportError, CtcaeImportResult, ctcae_import
from .drugs import DrugNameError, drug_get_or_create
from .labels import (
    EntryInput,
    LabelImportError,
    LabelImportResult,
    LabelWording,
    UncodedName,
    entries_from_label,
    entries_from_parsed,
    entries_from_structured,
    label_as_structured,
    label_import,
    label_wording_code,
    label_wording_pending,
    parse_problems,
)
from .meddra import (
    MeddraImportError,
    MeddraImportResult,
    meddra_import,
    meddra_loaded,
    meddra_version,
)

__all__ = [
    "CtcaeImportError",
    "CtcaeImportResult",
    "DrugNameError",
    "EntryInput",
    "LabelImportError",
    "LabelImportResult",
    "LabelWording",
    "MeddraImportError",
    "MeddraImportResult",
    "UncodedName",
    "ctcae_import",
    "drug_get_or_create",
    "entries_from_label",
    "entries_from_parsed",
    "entries_from_structured",
    "label_as_structured",
    "label_import",
    "label_wording_code",
    "label_wording_pending",
    "meddra_import",
    "meddra_loaded",
    "meddra_version",
    "parse_problems",
]
