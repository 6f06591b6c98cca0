"""Loading FAERS quarters into a spontaneous source, de-duplicated as FAERS users do it.

Across every quarter loaded, a case (``caseid``; legacy AERS cases ``"L" + case``, a key space
of their own) is kept in its highest ``caseversion``, ties going to the latest ``fda_dt``;
the same rule picks between two versions of a case within one quarter. A case a quarter's
DELETE list names loses its pairs and stays deleted: no quarter loaded later, older or newer,
brings it back. Loading a quarter again changes nothing.

A kept case is its suspect products (roles PS and SS unless told otherwise; the product named
by its active ingredient where FAERS gives one, else by the reported drug name) crossed with
its events (MedDRA preferred terms by name), each pair once, and its outcome codes.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from django.db import connection, models, transaction

from accounts.models import User
from core.db import statement_timeout
from reference.normalize import name_key

from .faers import CURRENT, Progress, Quarter, TableStats, deleted_cases, fda_date, table_batches
from .links import links_refresh
from .models import CaseReport, CaseReportPair, Event, ImportKind, Product, ReportImport, Source
from .names import product_key

DEFAULT_ROLES = ("PS", "SS")
ROLES = ("PS", "SS", "C", "I")
SEXES = {"F": "female", "M": "male"}
MAX_NAME = 300
MAX_OUTCOMES = 40
FAERS_SLUG = "faers"
FAERS_NAME = "FAERS"
BATCH = 5000
SQLITE_BATCH = 500  # ids in one IN (...) list
COPY_CHUNK = 100_000
# Rows (cases and pairs) from which PostgreSQL writes with foreign keys set aside.
FOREIGN_KEYS_ASIDE_FROM = 200_000
# A case's columns as written: by field name, in the order _case_row gives them.
CASE_NAMES = ("case_key", "batch", "sex", "version", "fda_dt", "outcomes", "serious", "deleted_by")
CASE_FIELDS = tuple(f"{n}_id" if n in ("batch", "deleted_by") else n for n in CASE_NAMES)


@dataclass(slots=True)
class CaseVersion:
    """The version of a case a quarter carries, with what it reports."""

    primaryid: str
    version: int
    fda_dt: date | None
    sex: str
    outcomes: list[str] = field(default_factory=list)
    products: list[int] = field(default_factory=list)  # indexes into QuarterData.products
    events: list[int] = field(default_factory=list)  # indexes into QuarterData.events

    def rank(self) -> tuple[int, date, int]:
        """Higher is kept: the version, then the FDA date, then the later report."""
        return (
            self.version,
            self.fda_dt or date.min,
            int(self.primaryid) if self.primaryid.isdigit() else 0,
        )


@dataclass
class QuarterData:
    """A quarter read whole into compact form, ready to be written."""

    quarter: Quarter
    roles: tuple[str, ...]
    cases: dict[str, CaseVersion] = field(default_factory=dict)
    products: list[tuple[str, str]] = field(default_factory=list)  # (key, name as reported)
    events: list[tuple[str, str]] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


def roles_parse(text: str) -> tuple[str, ...]:
    """The drug roles given as "PS,SS"; raises ValueError naming an unknown role."""
    roles = tuple(dict.fromkeys(r.strip().upper() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(
            f"unknown drug role {', '.join(unknown) or '(none given)'}: the roles are "
            "PS (primary suspect), SS (secondary suspect), C (concomitant), I (interacting)"
        )
    return roles


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_NAME]


class _Names:
    """Names interned by key: the first spelling met names the product or event."""

    def __init__(self, key: Callable[[str], str]) -> None:
        self.key = key
        self.items: list[tuple[str, str]] = []
        self.by_key: dict[str, int] = {}
        self.by_text: dict[str, int | None] = {}

    def index(self, text: str) -> int | None:
        found = self.by_text.get(text, -1)
        if found != -1:
            return found
        key = self.key(text)[:MAX_NAME]
        index: int | None = None
        if key:
            index = self.by_key.get(key)
            if index is None:
                index = self.by_key[key] = len(self.items)
                self.items.append((key, _clean(text)))
        self.by_text[text] = index
        return index


def quarter_read(
    quarter: Quarter,
    *,
    roles: Iterable[str] = DEFAULT_ROLES,
    progress: Progress | None = None,
) -> QuarterData:
    """Read a quarter's cases, keeping the best version of each case it carries."""
    roles = tuple(roles)
    wanted_roles = frozenset(roles)
    data = QuarterData(quarter=quarter, roles=roles)
    counts = data.counts
    cases = data.cases
    by_primaryid: dict[str, CaseVersion] = {}
    stats = {t: TableStats() for t in ("DEMO", "DRUG", "REAC", "OUTC")}
    legacy = quarter.layout != CURRENT
    dates: dict[str, date | None] = {}

    duplicates = 0
    for batch in table_batches(quarter, "DEMO", stats["DEMO"], progress):
        for primaryid, case_id, version, fda_dt, sex in batch:
            primaryid, case_id = primaryid.strip(), case_id.strip()
            if not primaryid or not case_id:
                continue
            day = dates.get(fda_dt, date.max)
            if day is date.max:
                day = dates[fda_dt] = fda_date(fda_dt)
            case = CaseVersion(
                primaryid=primaryid,
                version=int(version) if version.isdigit() else 0,
                fda_dt=day,
                sex=SEXES.get(sex.strip().upper(), "unknown"),
            )
            key = f"L{case_id}" if legacy else case_id
            other = cases.get(key)
            if other is not None:
                duplicates += 1
                if other.rank() >= case.rank():
                    continue
                del by_primaryid[other.primaryid]
            cases[key] = case
            by_primaryid[primaryid] = case
    counts["read"] = len(cases) + duplicates
    counts["duplicates"] = duplicates

    for batch in table_batches(quarter, "OUTC", stats["OUTC"], progress):
        for primaryid, code in batch:
            found = by_primaryid.get(primaryid)
            if found is not None:
                code = code.strip().upper()
                if code and code not in found.outcomes:
                    found.outcomes.append(code)

    products = _Names(product_key)
    product_of = products.by_text
    suspects = 0
    for batch in table_batches(quarter, "DRUG", stats["DRUG"], progress):
        for values in batch:
            role = values[1]
            if role not in wanted_roles and role.strip().upper() not in wanted_roles:
                continue
            found = by_primaryid.get(values[0])
            if found is None:
                continue
            # The active ingredient where FAERS gives one, else the drug name as reported.
            name = values[2] if legacy or not values[3] else values[3]
            index = product_of[name] if name in product_of else products.index(name)
            if index is None and name is not values[2]:
                index = products.index(values[2])
            if index is None:
                continue
            suspects += 1
            if index not in found.products:
                found.products.append(index)
    counts["suspect_rows"] = suspects

    events = _Names(name_key)
    event_of = events.by_text
    for batch in table_batches(quarter, "REAC", stats["REAC"], progress):
        for primaryid, pt in batch:
            found = by_primaryid.get(primaryid)
            if found is None:
                continue
            index = event_of[pt] if pt in event_of else events.index(pt)
            if index is not None and index not in found.events:
                found.events.append(index)

    data.products = products.items
    data.events = events.items
    data.deleted = deleted_cases(quarter)
    for table, stat in stats.items():
        counts[f"{table.lower()}_rows"] = stat.rows
    counts["malformed"] = sum(s.malformed for s in stats.values())
    return data


# Writing ---------------------------------------------------------------------------------


@dataclass
class FaersImportResult:
    """One quarter's import: its record (counts in ``batch.summary``), or the earlier record
    of the same file when it was imported before and nothing changed."""

    batch: ReportImport
    unchanged: bool = False

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.batch.summary)


def faers_source() -> Source:
    source, _ = Source.objects.get_or_create(slug=FAERS_SLUG, defaults={"name": FAERS_NAME})
    return source


def faers_import(
    *,
    quarter: Quarter,
    roles: Iterable[str] = DEFAULT_ROLES,
    imported_by: User | None = None,
    progress: Progress | None = None,
) -> FaersImportResult:
    """Import one quarter into the FAERS source, all or nothing, de-duplicated against every
    quarter loaded before (see the module's rules). A file imported before changes nothing."""
    sha256 = quarter.sha256
    previous = ReportImport.objects.filter(sha256=sha256).first()
    if previous is not None:
        return FaersImportResult(batch=previous, unchanged=True)
    data = quarter_read(quarter, roles=roles, progress=progress)
    # A quarter's statements (a COPY of millions of pairs) outlast the limit sized for web
    # requests; the import is bounded by its own size instead.
    with statement_timeout(0):
        return _quarter_write(data, sha256=sha256, imported_by=imported_by, progress=progress)


@transaction.atomic
def _quarter_write(
    data: QuarterData, *, sha256: str, imported_by: User | None, progress: Progress | None
) -> FaersImportResult:
    source = faers_source()
    # One import of a source at a time: the second waits, then finds what the first wrote.
    Source.objects.select_for_update().filter(pk=source.pk).get()
    previous = ReportImport.objects.filter(sha256=sha256).first()
    if previous is not None:
        return FaersImportResult(batch=previous, unchanged=True)
    quarter = data.quarter
    counts = data.counts
    batch = ReportImport.objects.create(
        source=source,
        kind=ImportKind.FAERS,
        file_name=quarter.path.name[:300],
        sha256=sha256,
        rows=sum(counts[f"{t}_rows"] for t in ("demo", "drug", "reac", "outc")),
        reports=0,
        pairs=0,
        imported_by=imported_by,
    )
    store: _Store = _PostgresStore() if connection.vendor == "postgresql" else _Store()

    product_ids, products_created = _intern(Product, source, data.products)
    event_ids, events_created = _intern(Event, source, data.events, recase=True)

    existing = store.existing(source.pk, [*data.cases, *(data.deleted - data.cases.keys())])
    new: list[tuple[str, CaseVersion]] = []
    replace: list[tuple[int, CaseVersion]] = []
    older = deleted_before = 0
    for key, case in data.cases.items():
        if key in data.deleted:
            continue
        found = existing.get(key)
        if found is None:
            new.append((key, case))
        elif found.deleted_by_id is not None:
            deleted_before += 1
        elif (case.version, case.fda_dt or date.min) > (found.version, found.fda_dt or date.min):
            replace.append((found.id, case))
        else:
            older += 1
    removed: list[int] = []  # loaded cases the DELETE list names
    recorded: list[tuple[str, CaseVersion | None]] = []  # named before being loaded
    for key in sorted(data.deleted):
        found = existing.get(key)
        if found is None:
            recorded.append((key, data.cases.get(key)))
        elif found.deleted_by_id is None:
            removed.append(found.id)

    total = len(new) + len(recorded) + len(replace)
    pair_total = sum(len(c.products) * len(c.events) for _, c in (*new, *replace))
    written = 0

    def advance(count: int) -> None:
        nonlocal written
        written += count
        if progress is not None:
            progress("writing reports", written, total)

    with store.bulk(total + pair_total, progress):
        rows = [_case_row(key, case, batch.pk, None) for key, case in new]
        rows += [_case_row(key, case, batch.pk, batch.pk) for key, case in recorded]
        new_ids = store.insert_cases(source.pk, rows, advance)
        store.update_cases([(pk, *_case_row("", case, batch.pk, None)[1:]) for pk, case in replace])
        store.mark_deleted(removed, batch.pk)
        store.delete_pairs([pk for pk, _ in replace] + removed)
        advance(len(replace))

        # The ids of the new cases come first, before those of the deletions recorded.
        kept = [(pk, case) for pk, (_, case) in zip(new_ids[: len(new)], new, strict=True)]
        kept += replace

        def pairs() -> Iterator[tuple[int, int, int]]:
            for pk, case in kept:
                events = [event_ids[e] for e in case.events]
                for p in case.products:
                    product = product_ids[p]
                    for event in events:
                        yield pk, product, event

        store.insert_pairs(pairs(), pair_total, progress)
    linked = links_refresh(source, progress=progress)

    summary = {
        "quarter": quarter.label,
        "layout": quarter.layout,
        "roles": list(data.roles),
        "read": counts["read"],
        "duplicates": counts["duplicates"],
        "kept": len(kept),
        "new": len(new),
        "superseded": len(replace),
        "older": older,
        "deleted": len(removed) + sum(1 for _, case in recorded if case is not None),
        "deleted_ahead": sum(1 for _, case in recorded if case is None),
        "deleted_before": deleted_before,
        "deleted_listed": len(data.deleted),
        "pairs": pair_total,
        "products_created": products_created,
        "events_created": events_created,
        "products_linked": linked[0],
        "events_linked": linked[1],
        **{k: counts[k] for k in ("demo_rows", "drug_rows", "reac_rows", "outc_rows")},
        "suspect_rows": counts["suspect_rows"],
        "malformed": counts["malformed"],
    }
    ReportImport.objects.filter(pk=batch.pk).update(
        reports=len(kept), pairs=pair_total, summary=summary
    )
    batch.refresh_from_db()
    return FaersImportResult(batch=batch)


def _case_row(
    key: str, case: CaseVersion | None, batch_id: int, deleted_by_id: int | None
) -> tuple[Any, ...]:
    """(case key, batch, sex, version, fda_dt, outcomes, serious, deleted_by) of a case."""
    if case is None:
        return (key, batch_id, "unknown", 0, None, "", False, deleted_by_id)
    outcomes = " ".join(case.outcomes)[:MAX_OUTCOMES]
    return (
        key,
        batch_id,
        case.sex,
        case.version,
        case.fda_dt,
        outcomes,
        bool(outcomes),
        deleted_by_id,
    )


def _intern(
    model: Any, source: Source, items: list[tuple[str, str]], *, recase: bool = False
) -> tuple[list[int], int]:
    """The ids of a quarter's products (or events, by ``model``) in its order, creating those
    the source does not have yet; and how many were created. With ``recase``, a name stored
    in capitals (legacy AERS writes events so) takes the quarter's mixed-case spelling."""
    known: dict[str, int] = {}
    shouting: dict[str, int] = {}
    for key, pk, name in model.objects.filter(source=source).values_list("key", "pk", "name"):
        known[key] = pk
        if recase and name.isupper():
            shouting[key] = pk
    missing = [(key, name) for key, name in items if key not in known]
    for start in range(0, len(missing), BATCH):
        made = model.objects.bulk_create(
            [model(source=source, key=k, name=n) for k, n in missing[start : start + BATCH]]
        )
        known.update((m.key, m.pk) for m in made)
    if shouting:
        renamed = [
            model(pk=shouting[key], name=name)
            for key, name in items
            if key in shouting and not name.isupper()
        ]
        model.objects.bulk_update(renamed, ["name"], batch_size=BATCH)
    return [known[key] for key, _ in items], len(missing)


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return field.column


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    version: int
    fda_dt: date | None
    deleted_by_id: int | None


class _Store:
    """Bulk reads and writes of cases and pairs through the ORM, in batches (SQLite)."""

    @contextmanager
    def bulk(self, rows: int, progress: Progress | None) -> Iterator[None]:
        """Around the writing of this many rows."""
        yield

    def existing(self, source_id: int, keys: list[str]) -> dict[str, _Existing]:
        found: dict[str, _Existing] = {}
        for start in range(0, len(keys), SQLITE_BATCH):
            rows = CaseReport.objects.filter(
                source_id=source_id, case_key__in=keys[start : start + SQLITE_BATCH]
            ).values_list("case_key", "pk", "version", "fda_dt", "deleted_by_id")
            found.update((key, _Existing(pk, v, day, gone)) for key, pk, v, day, gone in rows)
        return found

    def insert_cases(
        self, source_id: int, rows: list[tuple[Any, ...]], advance: Callable[[int], None]
    ) -> list[int]:
        """New cases from rows in _case_row's order; their ids in the same order."""
        ids: list[int] = []
        for start in range(0, len(rows), BATCH):
            made = CaseReport.objects.bulk_create(
                [
                    CaseReport(source_id=source_id, **dict(zip(CASE_FIELDS, row, strict=True)))
                    for row in rows[start : start + BATCH]
                ]
            )
            ids += [m.pk for m in made]
            advance(len(made))
        return ids

    def update_cases(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows of (id, batch, sex, version, fda_dt, outcomes, serious)."""
        reports = [
            CaseReport(pk=row[0], **dict(zip(CASE_FIELDS[1:-1], row[1:7], strict=True)))
            for row in rows
        ]
        CaseReport.objects.bulk_update(reports, list(CASE_NAMES[1:-1]), batch_size=BATCH)

    def mark_deleted(self, ids: list[int], batch_id: int) -> None:
        for start in range(0, len(ids), SQLITE_BATCH):
            CaseReport.objects.filter(pk__in=ids[start : start + SQLITE_BATCH]).update(
                deleted_by_id=batch_id
            )

    def delete_pairs(self, report_ids: list[int]) -> None:
        for start in range(0, len(report_ids), SQLITE_BATCH):
            CaseReportPair.objects.filter(
                report_id__in=report_ids[start : start + SQLITE_BATCH]
            )._raw_delete(CaseReportPair.objects.db)

    def insert_pairs(
        self, pairs: Iterator[tuple[int, int, int]], total: int, progress: Progress | None
    ) -> None:
        done = 0
        while chunk := list(islice(pairs, BATCH)):
            CaseReportPair.objects.bulk_create(
                [CaseReportPair(report_id=r, product_id=p, event_id=e) for r, p, e in chunk]
            )
            done += len(chunk)
            if progress is not None:
                progress("writing pairs", done, total)
        if progress is not None and not done:
            progress("writing pairs", 0, total)


class _PostgresStore(_Store):
    """The same through COPY and set-based statements (PostgreSQL)."""

    def __init__(self) -> None:
        self.cases = CaseReport._meta.db_table
        self.pairs = CaseReportPair._meta.db_table
        self.column = {f: _column(CaseReport, f) for f in ("source", *CASE_NAMES)}

    @contextmanager
    def bulk(self, rows: int, progress: Progress | None) -> Iterator[None]:
        """A quarter's rows are written with the foreign keys of the cases and pairs set
        aside and put back after, each checked once over the whole table in one join
        (PostgreSQL's advice for populating a database) instead of once a row. The tables
        are locked meanwhile; a smaller write keeps them."""
        if rows < FOREIGN_KEYS_ASIDE_FROM:
            yield
            return
        tables = [self.cases, self.pairs]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) "
                "ORDER BY conrelid::regclass::text, conname",
                [tables],
            )
            keys = cursor.fetchall()
            # Checks already queued in this transaction (the import's own record) run now:
            # a table with checks pending cannot be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table, name, _ in keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        yield
        with connection.cursor() as cursor:
            for done, (table, name, definition) in enumerate(keys, start=1):
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                if progress is not None:
                    progress("checking references", done, len(keys))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def existing(self, source_id: int, keys: list[str]) -> dict[str, _Existing]:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE faers_keys (key text) ON COMMIT DROP")
            with cursor.connection.cursor().copy("COPY faers_keys (key) FROM STDIN") as copy:
                for key in keys:
                    copy.write_row((key,))
            c = self.column
            cursor.execute(
                f"SELECT r.{c['case_key']}, r.id, r.{c['version']}, r.{c['fda_dt']}, "  # noqa: S608
                f"r.{c['deleted_by']} FROM {self.cases} r JOIN faers_keys k "
                f"ON r.{c['case_key']} = k.key WHERE r.{c['source']} = %s",
                [source_id],
            )
            found = {
                key: _Existing(pk, v, day, gone) for key, pk, v, day, gone in cursor.fetchall()
            }
            cursor.execute("DROP TABLE faers_keys")
        return found

    def insert_cases(
        self, source_id: int, rows: list[tuple[Any, ...]], advance: Callable[[int], None]
    ) -> list[int]:
        if not rows:
            return []
        with connection.cursor() as cursor:
            # Ids drawn from the table's own sequence, so the pairs can name them at once.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [self.cases, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            columns = ", ".join(self.column[f] for f in ("source", *CASE_NAMES))
            raw = cursor.connection.cursor()
            with raw.copy(f"COPY {self.cases} (id, {columns}) FROM STDIN") as copy:
                for start in range(0, len(rows), COPY_CHUNK):
                    chunk = rows[start : start + COPY_CHUNK]
                    for pk, row in zip(ids[start : start + COPY_CHUNK], chunk, strict=True):
                        copy.write_row((pk, source_id, *row))
                    advance(len(chunk))
        return ids

    def update_cases(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        c = self.column
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE faers_cases (id bigint, batch bigint, sex text, "
                "version integer, fda_dt date, outcomes text, serious boolean) ON COMMIT DROP"
            )
            raw = cursor.connection.cursor()
            with raw.copy("COPY faers_cases FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row[:7])
            cursor.execute(
                f"UPDATE {self.cases} r SET {c['batch']} = s.batch, {c['sex']} = s.sex, "  # noqa: S608
                f"{c['version']} = s.version, {c['fda_dt']} = s.fda_dt, "
                f"{c['outcomes']} = s.outcomes, {c['serious']} = s.serious "
                "FROM faers_cases s WHERE r.id = s.id"
            )
            cursor.execute("DROP TABLE faers_cases")

    def mark_deleted(self, ids: list[int], batch_id: int) -> None:
        if ids:
            CaseReport.objects.filter(pk__in=ids).update(deleted_by_id=batch_id)

    def delete_pairs(self, report_ids: list[int]) -> None:
        if report_ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {self.pairs} WHERE report_id = ANY(%s)",  # noqa: S608
                    [report_ids],
                )

    def insert_pairs(
        self, pairs: Iterator[tuple[int, int, int]], total: int, progress: Progress | None
    ) -> None:
        done = 0
        columns = ", ".join(_column(CaseReportPair, f) for f in ("report", "product", "event"))
        with connection.cursor() as cursor:
            raw = cursor.connection.cursor()
            with raw.copy(f"COPY {self.pairs} ({columns}) FROM STDIN") as copy:
                while chunk := list(islice(pairs, COPY_CHUNK)):
                    copy.write("".join(f"{r}\t{p}\t{e}\n" for r, p, e in chunk).encode())
                    done += len(chunk)
                    if progress is not None:
                        progress("writing pairs", done, total)
        if progress is not None and not done:
            progress("writing pairs", 0, total)
