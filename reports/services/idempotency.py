"""Retries and case numbers: what lets a submission be sent twice, or by two nurses at once.

An API client may retry a submission with the same Idempotency-Key: the same key and body
return the report the first request filed, the same key with another body is refused. Case
numbers are handed out per year from a counter row that concurrent submissions take turns on.
"""

import hashlib
import json
from typing import Any

from django.db import connection

from accounts.models import User

from ..models import CaseCounter, IdempotencyRecord, Report


class IdempotencyConflict(Exception):
    """The key was used before with another body."""


def next_case_number(year: int) -> str:
    """AE-YYYY-NNNNNN, numbered per year; the row lock serialises concurrent submissions."""
    table = CaseCounter._meta.db_table
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"UPDATE {table} SET last = last + 1 WHERE year = %s RETURNING last",  # noqa: S608
                [year],
            )
            row = cursor.fetchone()
            if row is not None:
                return f"AE-{year}-{row[0]:06d}"
            CaseCounter.objects.bulk_create([CaseCounter(year=year, last=0)], ignore_conflicts=True)
    raise RuntimeError(f"no case counter for {year}")


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def report_for_key(*, user: User, key: str, body: Any) -> Report | None:
    """The report an idempotency key already made, or None; IdempotencyConflict on another body."""
    # Most keys are new: the look-up reads two columns, and the report only for a retry.
    record = (
        IdempotencyRecord.objects.filter(user=user, key=key)
        .values_list("body_hash", "report_id")
        .first()
    )
    if record is None:
        return None
    if record[0] != body_hash(body):
        raise IdempotencyConflict(key)
    return Report.objects.get(pk=record[1])
