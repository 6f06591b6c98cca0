"""Reads for the spontaneous sources page: each source with its counts, its imports, and
the FAERS imports started from the page."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import OperationalError, connection, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from .models import CaseReport, Event, ImportRun, Product, ReportImport, Source

T = TypeVar("T")
# How long a page waits for the tables a FAERS import holds before saying so instead.
LOCK_WAIT = "2s"
LOCK_NOT_AVAILABLE = "55P03"


def unless_import_holds_the_tables(read: Callable[[], T]) -> T | None:
    """What ``read`` returns, or None when it would wait on the tables a FAERS import holds:
    on PostgreSQL a large quarter is written with the spontaneous tables locked until it
    commits, and a page should say so rather than hang."""
    if connection.vendor != "postgresql":
        return read()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_WAIT])
            return read()
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return None
        raise


@dataclass(frozen=True)
class SourceOverview:
    """A source as the page lists it."""

    source: Source
    reports: int  # kept (not deleted)
    deleted: int
    products: int
    products_linked: int  # to a formulary drug
    events: int
    events_linked: int  # to a term
    last_import: ReportImport | None


def source_overviews() -> list[SourceOverview]:
    """Every source with its counts: one grouped query per table, whatever the sources."""
    sources = list(
        Source.objects.annotate(
            last_import_id=Subquery(
                ReportImport.objects.filter(source=OuterRef("pk"))
                .order_by("-imported_at", "-id")
                .values("pk")[:1]
            )
        ).order_by("name")
    )
    reports = {
        row["source"]: row
        for row in CaseReport.objects.values("source").annotate(
            kept=Count("id", filter=Q(deleted_by__isnull=True)),
            deleted=Count("id", filter=Q(deleted_by__isnull=False)),
        )
    }
    products = {
        row["source"]: row
        for row in Product.objects.values("source").annotate(
            n=Count("id"), linked=Count("id", filter=Q(drug__isnull=False))
        )
    }
    events = {
        row["source"]: row
        for row in Event.objects.values("source").annotate(
            n=Count("id"), linked=Count("id", filter=Q(term__isnull=False))
        )
    }
    last_ids = [s.last_import_id for s in sources if s.last_import_id]
    last = ReportImport.objects.select_related("imported_by").in_bulk(last_ids)
    empty = {"kept": 0, "deleted": 0, "n": 0, "linked": 0}
    return [
        SourceOverview(
            source=s,
            reports=reports.get(s.pk, empty)["kept"],
            deleted=reports.get(s.pk, empty)["deleted"],
            products=products.get(s.pk, empty)["n"],
            products_linked=products.get(s.pk, empty)["linked"],
            events=events.get(s.pk, empty)["n"],
            events_linked=events.get(s.pk, empty)["linked"],
            last_import=last.get(s.last_import_id),
        )
        for s in sources
    ]


def import_list() -> QuerySet[ReportImport]:
    """Every import of every source, newest first."""
    return ReportImport.objects.select_related("source", "imported_by").order_by(
        "-imported_at", "-id"
    )


def import_run_list() -> QuerySet[ImportRun]:
    """The FAERS imports started from the page, newest first. Reads no table a FAERS
    import locks, so the page can follow one."""
    return ImportRun.objects.select_related("requested_by").order_by("-created_at", "-id")
