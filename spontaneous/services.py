"""Importing spontaneous reports: a CSV of (report id, drug, event[, sex]) rows, coded to the
product's drugs and terms, all or nothing."""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from reference.choices import NameKind, TermSource
from reference.models import Drug, Term, TermName
from reference.normalize import keyless_message, name_key
from reference.revision import reference_revision_bump
from reference.selectors import DrugNames, term_code, term_suggest
from reports.choices import Sex

from .models import CaseReport, CaseReportPair, ReportImport

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
NEW_TERM_SOC = "Not yet classified"
MAX_ID: int = CaseReport._meta.get_field("source_id").max_length or 64
MAX_SOURCE: int = ReportImport._meta.get_field("source").max_length or 100
BATCH = 5000


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
    new_drugs: list[str] = field(default_factory=list)
    new_terms: list[str] = field(default_factory=list)


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


def _sentence_case(name: str) -> str:
    return name[:1].upper() + name[1:].lower() if name.isupper() else name


@transaction.atomic
def reports_import(
    *,
    rows: Iterable[Sequence[str]],
    header: Sequence[str],
    source: str,
    file_name: str,
    sha256: str,
    new_drugs: bool = False,
    new_terms: bool = False,
    imported_by: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReportImportResult:
    """Code every row and write the reports, or write nothing and raise ReportImportError
    naming every bad row (line numbers count the header as line 1).

    Drugs are found by name, slug or brand name, events by the terminology's names,
    synonyms and spelling variants. Names that code to nothing are errors, unless
    ``new_drugs`` / ``new_terms`` add them to the product (new terms under
    "Not yet classified", for the terminology's curators).
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
        report_id, drug, event = (" ".join(row[at[c]].split()) for c in ("report", "drug", "event"))
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

    drugs, created_drugs = _code_drugs(records, new_drugs, problems)
    terms, created_terms = _code_terms(records, new_terms, problems)
    _already_imported(source, sex_of, problems)
    if problems:
        raise ReportImportError(problems)

    batch = ReportImport.objects.create(
        source=source,
        file_name=file_name[:300],
        sha256=sha256,
        rows=len(records),
        reports=len(sex_of),
        pairs=0,
        imported_by=imported_by,
    )
    drug_ids = {name: d.pk for name, d in drugs.items()}
    drug_ids.update(_create_drugs(created_drugs))
    term_ids = {name: t.pk for name, t in terms.items()}
    term_ids.update(_create_terms(created_terms))

    report_ids: dict[str, int] = {}
    new_reports = [
        CaseReport(batch=batch, source=source, source_id=rid, sex=sex)
        for rid, (sex, _) in sex_of.items()
    ]
    for start in range(0, len(new_reports), BATCH):
        made = CaseReport.objects.bulk_create(new_reports[start : start + BATCH])
        report_ids.update((r.source_id, r.pk) for r in made)
    pairs = {
        (report_ids[rid], drug_ids[drug.casefold()], term_ids[event.casefold()])
        for _, rid, drug, event, _ in records
    }
    written = 0
    ordered = sorted(pairs)
    for start in range(0, len(ordered), BATCH):
        chunk = ordered[start : start + BATCH]
        CaseReportPair.objects.bulk_create(
            [CaseReportPair(report_id=r, batch=batch, drug_id=d, term_id=t) for r, d, t in chunk]
        )
        written += len(chunk)
        if progress is not None:
            progress(len(chunk))
    ReportImport.objects.filter(pk=batch.pk).update(
        pairs=written,
        drugs_created=len(created_drugs),
        terms_created=len(set(created_terms.values())),
    )
    batch.refresh_from_db()
    return ReportImportResult(
        batch=batch,
        new_drugs=sorted(created_drugs.values()),
        new_terms=sorted(set(created_terms.values())),
    )


def _lines(records: list[tuple[int, str, str, str, str]], index: int) -> dict[str, list[int]]:
    """The lines on which each distinct name (case folded) of a column appears."""
    lines: dict[str, list[int]] = {}
    for record in records:
        lines.setdefault(str(record[index]).casefold(), []).append(record[0])
    return lines


def _line_list(lines: list[int]) -> str:
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {', '.join(map(str, lines))}"


def _code_drugs(
    records: list[tuple[int, str, str, str, str]], create: bool, problems: list[str]
) -> tuple[dict[str, Drug], dict[str, str]]:
    """The drug of each name; names to create (folded name -> name as written).

    Names that differ only in punctuation ("5 HOUR ENERGY", "5-HOUR ENERGY") stay
    separate products, as in their source: the second gets a numbered slug.
    """
    found: dict[str, Drug] = {}
    to_create: dict[str, str] = {}
    spelling = {r[2].casefold(): r[2] for r in records}
    known = DrugNames(Drug.objects.all())
    max_name: int = Drug._meta.get_field("name").max_length or 200
    for folded, lines in _lines(records, 2).items():
        name = spelling[folded]
        match = known.find(name)
        if match is not None:
            found[folded] = match
        elif not create:
            problems.append(
                f"{_line_list(lines)}: unknown drug {name!r} "
                "(register it, or import with new drugs allowed)"
            )
        elif not name_key(name):
            problems.append(f"{_line_list(lines)}: the drug name {name!r} has no letter or digit")
        elif len(name) > max_name:
            problems.append(f"{_line_list(lines)}: the drug name is longer than {max_name}")
        else:
            to_create[folded] = name
    return found, to_create


def _create_drugs(names: dict[str, str]) -> dict[str, int]:
    """New drugs for the names no drug has; their ids by folded name. Names that differ
    only in punctuation get numbered slugs."""
    taken = set(Drug.objects.values_list("slug", flat=True))
    new: list[Drug] = []
    for name in names.values():
        # A name with no Latin letter (Тошнотин) gets a numbered "drug" slug for its URLs.
        base = slugify(name)[:90].strip("-") or "drug"
        slug, number = base, 1
        while slug in taken:
            number += 1
            slug = f"{base}-{number}"
        taken.add(slug)
        new.append(Drug(name=" ".join(name.split()), slug=slug))
    Drug.objects.bulk_create(new)
    reference_revision_bump()
    ids = dict(Drug.objects.filter(name__in=[d.name for d in new]).values_list("name", "pk"))
    return {folded: ids[" ".join(name.split())] for folded, name in names.items()}


def _code_terms(
    records: list[tuple[int, str, str, str, str]], create: bool, problems: list[str]
) -> tuple[dict[str, Term], dict[str, str]]:
    """The term of each event (by folded name); events to create (folded name -> the name of
    the new term). Events that differ only in case, spacing or punctuation ("Foo bar baz",
    "FOO-BAR-BAZ") are one new term, named as first written."""
    found: dict[str, Term] = {}
    to_create: dict[str, str] = {}
    new_names: dict[str, str] = {}  # key -> name
    spelling = {r[3].casefold(): r[3] for r in records}
    max_name = Term._meta.get_field("name").max_length
    for folded, lines in _lines(records, 3).items():
        name = spelling[folded]
        key = name_key(name)
        if not key:
            problems.append(f"{_line_list(lines)}: event {keyless_message(name)}")
            continue
        terms = term_code(name)
        if terms:
            found[folded] = terms[0]
        elif not create:
            close = term_suggest(name, limit=3)
            hint = f"; closest: {', '.join(close)}" if close else ""
            problems.append(f"{_line_list(lines)}: event {name!r} codes to no term{hint}")
        elif len(name) > max_name:  # type: ignore[operator]
            problems.append(f"{_line_list(lines)}: the event name is longer than {max_name}")
        else:
            to_create[folded] = new_names.setdefault(key, _sentence_case(name))
    return found, to_create


def _create_terms(names: dict[str, str]) -> dict[str, int]:
    """New local terms for the events no term names; their ids by folded name."""
    if not names:
        return {}
    existing = {t.name.casefold(): t for t in Term.objects.filter(name__in=names.values())}
    new = [
        Term(name=name, soc=NEW_TERM_SOC, source=TermSource.LOCAL)
        for name in dict.fromkeys(names.values())
        if name.casefold() not in existing
    ]
    Term.objects.bulk_create(new)
    terms = {t.name.casefold(): t for t in Term.objects.filter(name__in=names.values())}
    TermName.objects.bulk_create(
        [
            TermName(term=t, text=t.name, key=name_key(t.name), kind=NameKind.NAME)
            for t in terms.values()
        ],
        ignore_conflicts=True,
    )
    reference_revision_bump()
    return {folded: terms[name.casefold()].pk for folded, name in names.items()}


def _already_imported(source: str, sex_of: dict[str, tuple[str, int]], problems: list[str]) -> None:
    ids = list(sex_of)
    taken: list[str] = []
    for start in range(0, len(ids), BATCH):
        taken += CaseReport.objects.filter(
            source=source, source_id__in=ids[start : start + BATCH]
        ).values_list("source_id", flat=True)
    for rid in sorted(taken):
        problems.append(
            f"line {sex_of[rid][1]}: report {rid} of {source} was imported before "
            "(follow-ups of an imported report are not supported; nothing was changed)"
        )
