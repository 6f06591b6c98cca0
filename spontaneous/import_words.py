"""What an import of spontaneous reports read and did, in words."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import ImportKind, ReportImport


def day_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def summary_words(batch: ReportImport) -> str:
    """read / kept / superseded / deleted for a FAERS quarter; rows and reports for a CSV."""
    s: dict[str, Any] = batch.summary or {}
    if batch.kind == ImportKind.FAERS and "read" in s:
        return (
            f"read {s['read']:,}, kept {s['kept']:,}, superseded {s.get('superseded', 0):,}, "
            f"deleted {s.get('deleted', 0):,}"
        )
    return f"{batch.rows:,} rows, {batch.reports:,} reports"


def quarter_words(file: str, quarter: str, batch: ReportImport, unchanged: bool) -> str:
    """One file of an import run: what its import did, or that it had been imported before."""
    name = f"{quarter} ({file})"
    if unchanged:
        return f"{name} was already imported on {day_time(batch.imported_at)}: nothing changed"
    return f"{name}: {summary_words(batch)}"
