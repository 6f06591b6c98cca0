"""Importing spontaneous reports: a CSV of (report id, drug, event[, sex]) rows, all or
nothing, into a source of its own. Drugs and events are kept as the source names them
(products and events of the source), never added to the formulary or the terminology; each
is linked to the formulary drug or term it names, refreshed for the whole source at each
import (and when the reference data changes, spontaneous.links)."""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from reference.normalize import keyless_message, name_key
from reports.choices import Sex

from .links import LinkCounts, source_links_refresh
from .models import CaseReport, CaseReportPair, Event, ImportKind, Product, ReportImport, Source

# The accepted names of each column (case and spacing ignored).
COLUMNS: dict[str, tuple[str, ...]] = {
    "report": ("report_id", "report id", "id", "report", "case_id", "primaryid"),
    "drug": ("drug", "product", "var1", "drug_name", "drugname"),
    "event": ("event", "reaction", "term", "var2", "pt", "event_name"),
    "sex": ("sex", "gender", "strat1"),
}
# The spellings of sex the import accepts (case ignored), as the product records it.
SEXES = {
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
    "m": Sex.MALE,
    "male": Sex.MALE,
    "": Sex.UNKNOWN,
    "u": Sex.UNKNOWN,
    "unknown": Sex.UNKNOWN,
    "na": Sex.UNKNOWN,
    "not reported": Sex.UNKNOWN,
    "not available": Sex.UNKNOWN,
    "not specified": Sex.UNKNOWN,
    "unk": Sex.UNKNOWN,
}
MAX_ID: int = CaseReport._meta.get_field("case_key").max_length or 64
MAX_SOURCE: int = Source._meta.get_field("name").max_length or 100
MAX_NAME: int = Product._meta.get_field("name").max_length or 300
BATCH = 5000
NamedT = TypeVar("NamedT", Product, Event)


class ReportImportError(Exception):
    """The file was not imported; ``problems`` names every bad row."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"nothing imported: {count} problem{'s' if count != 1 else ''}")


@dataclass
class ReportImportResult:
    batch: ReportImport
    unchanged: bool = False
    new_products: int = 0
    new_events: int = 0
    links: LinkCounts | None = None


def product_key(name: str) -> str:
    """What makes two names one product of a CSV source: case aside, as the source wrote
    it ("5 HOUR ENERGY" and "5-HOUR ENERGY", or names that differ in inner spacing, stay
    two products, as the published figures of such databases count them)."""
    return name.strip().casefold()


def source_get_or_create(name: str) -> Source:
    """The source of this name (case aside), created with a slug of its own if new."""
    name = " ".join(name.split())
    found = Source.objects.filter(name__iexact=name).first()
    if found is not None:
        return found
    taken = set(Source.objects.values_list("slug", flat=True))
    base = slugify(name)[:60].strip("-") or "source"
    slug, number = base, 1
    while slug in taken:
        number += 1
        suffix = f"-{number}"
        slug = base[: 60 - len(suffix)] + suffix
    return Source.objects.create(name=name, slug=slug)


def file_digest(chunks: Iterable[bytes]) -> tuple[str, int]:
    """The SHA-256 of a file read in chunks, and its number of lines (for a progress bar)."""
    digest = hashlib.sha256()
    lines = 0
    for chunk in chunks:
        digest.update(chunk)
        lines += chunk.count(b"\n")
    return digest.hexdigest(), lines


def columns_find(fieldnames: Sequence[str]) -> dict[str, int]:
    """The position of each column in the header; raises when a required one is missing."""
    keys = [" ".join(name.strip().lower().replace("-", "_").split()) for name in fieldnames]
    found: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for i, key in enumerate(keys):
            if key in names or key.replace(" ", "_") in names:
                found[column] = i
                break
    missing = [c for c in ("report", "drug", "event") if c not in found]
    if missing:
        expected = "; ".join(f"{c}: one of {', '.join(COLUMNS[c][:3])}" for c in missing)
        raise ReportImportError(
            [f"header: missing column{'s' if len(missing) > 1 else ''} ({expected})"]
        )
    return found


@transaction.atomic
def reports_import(
    *,
    rows: Iterable[Sequence[str]],
    header: Sequence[str],
    source: str,
    file_name: str,
    sha256: str,
    imported_by: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReportImportResult:
    """Read every row and write the reports, or write nothing and raise ReportImportError
    naming every bad row (line numbers count the header as line 1).

    Each drug name is a product of the source and each event an event of it (names that
    differ in case are one; events also in spacing, spelling and punctuation); a name
    met for the first time is added to the source. Then the source's products and events
    are linked to the drugs and terms they name.
    """
    previous = ReportImport.objects.filter(sha256=sha256).first()
    if previous is not None:
        return ReportImportResult(batch=previous, unchanged=True)
    source = " ".join(source.split())
    if not source:
        raise ReportImportError(["the source (the database the reports come from) is empty"])
    if len(source) > MAX_SOURCE:
        raise ReportImportError([f"the source is longer than {MAX_SOURCE} characters"])
    if "\x00" in source:
        raise ReportImportError(["the source holds a NUL character"])
    at = columns_find(header)
    problems: list[str] = []
    records: list[tuple[int, str, str, str, str]] = []  # line, report id, drug, event, sex
    sex_of: dict[str, tuple[str, int]] = {}
    width = len(header)
    for line_no, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            problems.append(f"line {line_no}: {len(row)} fields where the header has {width}")
            continue
        if any("\x00" in cell for cell in row):
            problems.append(f"line {line_no}: a cell holds a NUL character")
            continue
        report_id, event = (" ".join(row[at[c]].split()) for c in ("report", "event"))
        drug = row[at["drug"]].strip()
        missing = [
            c for c, v in (("report id", report_id), ("drug", drug), ("event", event)) if not v
        ]
        if missing:
            problems.append(f"line {line_no}: no {', '.join(missing)}")
            continue
        if len(report_id) > MAX_ID:
            problems.append(f"line {line_no}: the report id is longer than {MAX_ID} characters")
            continue
        sex_text = row[at["sex"]].strip().lower() if "sex" in at else ""
        sex = SEXES.get(sex_text)
        if sex is None:
            problems.append(f"line {line_no}: sex {row[at['sex']]!r} is not female, male or empty")
            continue
        first = sex_of.setdefault(report_id, (sex, line_no))
        if first[0] != sex:
            problems.append(
                f"line {line_no}: report {report_id} has another sex than on line {first[1]}"
            )
            continue
        records.append((line_no, report_id, drug, event, sex))
    if not records and not problems:
        problems.append("the file holds no report")

    products = _names(records, 2, product_key, "drug name", problems)
    events = _names(records, 3, name_key, "event", problems)
    found = Source.objects.filter(name__iexact=source).first()
    if found is not None:
        _already_imported(found, sex_of, problems)
    if problems:
        raise ReportImportError(problems)

    the_source = found or source_get_or_create(source)
    batch = ReportImport.objects.create(
        source=the_source,
        kind=ImportKind.CSV,
        file_name=file_name[:300],
        sha256=sha256,
        rows=len(records),
        reports=len(sex_of),
        pairs=0,
        imported_by=imported_by,
    )
    product_ids, new_products = _ids(Product, the_source, products)
    event_ids, new_events = _ids(Event, the_source, events)

    report_ids: dict[str, int] = {}
    new_reports = [
        CaseReport(batch=batch, source=the_source, case_key=rid, sex=sex)
        for rid, (sex, _) in sex_of.items()
    ]
    for start in range(0, len(new_reports), BATCH):
        made = CaseReport.objects.bulk_create(new_reports[start : start + BATCH])
        report_ids.update((r.case_key, r.pk) for r in made)
    pairs = {
        (report_ids[rid], product_ids[product_key(drug)], event_ids[name_key(event)])
        for _, rid, drug, event, _ in records
    }
    written = 0
    ordered = sorted(pairs)
    for start in range(0, len(ordered), BATCH):
        chunk = ordered[start : start + BATCH]
        CaseReportPair.objects.bulk_create(
            [CaseReportPair(report_id=r, product_id=p, event_id=e) for r, p, e in chunk]
        )
        written += len(chunk)
        if progress is not None:
            progress(len(chunk))
    ReportImport.objects.filter(pk=batch.pk).update(pairs=written)
    batch.pairs = written
    return ReportImportResult(
        batch=batch,
        new_products=new_products,
        new_events=new_events,
        links=source_links_refresh(the_source),
    )


def _line_list(lines: list[int]) -> str:
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {', '.join(map(str, lines))}"


def _names(
    records: list[tuple[int, str, str, str, str]],
    index: int,
    key_of: Callable[[str], str],
    what: str,
    problems: list[str],
) -> dict[str, str]:
    """The distinct names of a column by key, each as first written; a name without a
    letter or digit, or too long, is a problem."""
    names: dict[str, str] = {}
    bad: dict[str, list[int]] = {}
    for record in records:
        name = str(record[index])
        key = key_of(name)
        if not name_key(name) or len(name) > MAX_NAME:
            bad.setdefault(name, []).append(record[0])
        else:
            names.setdefault(key, name)
    for name, lines in bad.items():
        if not name_key(name):
            problems.append(f"{_line_list(lines)}: {what} {keyless_message(name)}")
        else:
            problems.append(f"{_line_list(lines)}: the {what} is longer than {MAX_NAME} characters")
    return names


def _ids(model: type[NamedT], source: Source, names: dict[str, str]) -> tuple[dict[str, int], int]:
    """The id of each product or event of the source by key, created when new; and how many
    were new."""
    keys = list(names)
    ids: dict[str, int] = {}
    for start in range(0, len(keys), BATCH):
        ids.update(
            model.objects.filter(source=source, key__in=keys[start : start + BATCH]).values_list(
                "key", "pk"
            )
        )
    new = [model(source=source, name=names[k], key=k) for k in keys if k not in ids]
    for start in range(0, len(new), BATCH):
        made = model.objects.bulk_create(new[start : start + BATCH])
        ids.update((m.key, m.pk) for m in made)
    return ids, len(new)


def _already_imported(
    source: Source, sex_of: dict[str, tuple[str, int]], problems: list[str]
) -> None:
    ids = list(sex_of)
    taken: list[str] = []
    for start in range(0, len(ids), BATCH):
        taken += CaseReport.objects.filter(
            source=source, case_key__in=ids[start : start + BATCH]
        ).values_list("case_key", flat=True)
    for rid in sorted(taken):
        problems.append(
            f"line {sex_of[rid][1]}: report {rid} of {source} was imported before "
            "(follow-ups of an imported report are not supported; nothing was changed)"
        )
