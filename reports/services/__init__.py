"""Writes of reports and exposures. Every change writes an audit row in its own transaction.

- reports: filing a report, following it up, voiding it, deciding on a suspected duplicate;
- reactions: how a reported reaction is judged (listedness, expedited due date, duplicates);
- coding: the officers' queue of reporters' words awaiting coding, and recoding;
- exposures: patients and exposures, the treated cohort;
- idempotency: retried submissions and case numbers.

Callers import from here; the modules behind it are how the code is arranged, not an API.
"""

from .coding import (
    CodingResult,
    PendingWords,
    coding_apply,
    coding_pending_count,
    coding_queue,
    reaction_recode,
    reactions_pending,
)
from .exposures import (
    ExposureResult,
    ExposureRow,
    exposures_check,
    exposures_register,
    patient_get_or_create,
)
from .idempotency import IdempotencyConflict
from .reports import (
    report_duplicate_decide,
    report_follow_up,
    report_submit,
    report_void,
)

__all__ = [
    "CodingResult",
    "ExposureResult",
    "ExposureRow",
    "IdempotencyConflict",
    "PendingWords",
    "coding_apply",
    "coding_pending_count",
    "coding_queue",
    "exposures_check",
    "exposures_register",
    "patient_get_or_create",
    "reaction_recode",
    "reactions_pending",
    "report_duplicate_decide",
    "report_follow_up",
    "report_submit",
    "report_void",
]
