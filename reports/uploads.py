"""Reading a CSV file of treated patients for the exposures page.

Every line is read and checked in one pass: what a line cannot be read as (a missing field, a
date that is not a date) and what it says that cannot be registered (an unknown drug or site,
dates out of order, no start date) are listed together, each with its line number. The
columns are validated with the API's exposure serializer, so a line gets the messages the
API gives, and checked by the service that registers them.
"""

import csv
import io
from dataclasses import dataclass, field

from accounts.models import Site

from .api.serializers import ExposureInputSerializer
from .services import ExposureRow, exposures_check
from .validation import exposure_rows_over_limit

SEPARATORS = (",", ";")
REQUIRED_COLUMNS = ("patient", "drug", "start_date")
OPTIONAL_COLUMNS = ("end_date", "dose", "route", "lot_number", "site")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


def column_key(heading: str) -> str:
    """A heading as the column it names: "  Start Date " and "start-date" are start_date."""
    return "_".join(heading.replace("-", " ").replace("_", " ").split()).casefold()


def separator_of(header: str) -> str:
    """The separator the header line uses: the one of "," and ";" it holds more of."""
    return ";" if header.count(";") > header.count(",") else ","


@dataclass
class Problem:
    line: int  # the file's line; 1 is the header
    message: str
    column: str = ""

    def __str__(self) -> str:
        column = f"{self.column}: " if self.column else ""
        where = f"Line {self.line}: " if self.line else ""
        return f"{where}{column}{self.message}"


@dataclass
class ExposureUpload:
    """A file read: a row for each line that could be checked, the line each came from, and
    what could not be read. A line with unreadable fields still has a row, made of its
    readable fields, so that its drug, site and dates are checked too."""

    rows: list[ExposureRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # The file cannot be read as lines of exposures at all (no such columns, not text).
    refused: bool = False

    def refuse(self, message: str, line: int = 0) -> "ExposureUpload":
        self.problems.append(Problem(line, message))
        self.refused = True
        return self


def exposure_upload_read(data: bytes) -> ExposureUpload:
    upload = ExposureUpload()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return upload.refuse("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it.")
    header_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator_of(header_line))
    try:
        header = next(reader, None)
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as exc:
        return upload.refuse(f"The file is not valid CSV: {exc}.", reader.line_num)
    if header is None:
        return upload.refuse("The file is empty.")
    columns = [column_key(h) for h in header]
    _check_header(header, columns, upload)
    if upload.refused:
        return upload
    records = [(n, r) for n, r in records if any(cell.strip() for cell in r)]
    if not records:
        return upload.refuse("The file has a header line but no patients.", 1)
    too_many = exposure_rows_over_limit(len(records))
    if too_many:
        return upload.refuse(too_many)
    for line, record in records:
        _read_line(line, record, columns, upload)
    return upload


def _check_header(header: list[str], columns: list[str], upload: ExposureUpload) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        upload.refuse(f"Missing column(s): {', '.join(missing)}.", 1)
    unknown = [h.strip() for h, c in zip(header, columns, strict=True) if c not in COLUMNS]
    if unknown:
        names = ", ".join(f"“{u}”" for u in unknown)
        upload.refuse(
            f"The file has column(s) this page does not read: {names}. The columns are "
            f"{', '.join(COLUMNS)}.",
            1,
        )
    twice = sorted({c for c in columns if c in COLUMNS and columns.count(c) > 1})
    if twice:
        upload.refuse(f"Column(s) named more than once: {', '.join(twice)}.", 1)


def _read_line(line: int, record: list[str], columns: list[str], upload: ExposureUpload) -> None:
    if len(record) > len(columns):
        upload.problems.append(
            Problem(
                line,
                f"More fields than the header names ({len(record)} for {len(columns)} "
                "columns): if a value holds the separator, put it in double quotes.",
            )
        )
        return
    if any("\x00" in cell for cell in record):
        upload.problems.append(Problem(line, "a cell holds a NUL character."))
        return
    cells = dict(zip(columns, (cell.strip() for cell in record), strict=False))
    # An empty optional cell is a value not given.
    data = {c: cells.get(c, "") for c in COLUMNS if cells.get(c) or c in ("patient", "drug")}
    body = ExposureInputSerializer(data=data)
    if not body.is_valid():
        for column, messages in body.errors.items():
            upload.problems += [Problem(line, str(m), column) for m in messages]
        # What could be read is checked too; what could not is left out of that check.
        fields = ExposureInputSerializer().fields
        readable = {c: fields[c].run_validation(v) for c, v in data.items() if c not in body.errors}
        upload.rows.append(
            ExposureInputSerializer.to_input({"patient": "", "drug": "", **readable})
        )
    else:
        upload.rows.append(ExposureInputSerializer.to_input(body.validated_data))
    upload.lines.append(line)


def exposure_upload_problems(upload: ExposureUpload, site: Site) -> list[str]:
    """Every problem of the file, in line order: those of reading it and those the
    registration would find. Empty when every line can be registered."""
    if upload.refused:
        return [str(p) for p in upload.problems]
    unreadable = {(p.line, p.column) for p in upload.problems}
    problems = list(upload.problems)
    found = exposures_check(site=site, rows=upload.rows, start_required=True)
    for path, messages in found.items():
        index, column = path.split(".")
        line = upload.lines[int(index)]
        if (line, column) in unreadable:
            continue  # already said: the value could not be read
        problems += [Problem(line, m) for m in messages]
    problems.sort(key=lambda p: p.line)
    return [str(p) for p in problems]
