"""Reading FDA's quarterly FAERS extracts as FDA publishes them: a zip file or a folder of
`$`-separated latin-1 text files with a header line, in the current layout (2012Q4 on:
primaryid, caseid, caseversion, prod_ai) or the legacy AERS layout (2004Q1 to 2012Q3: isr,
case, foll_seq, gndr_cod; every line ends with `$`).

File names are matched whatever their case and folder (``ascii/DEMO17Q2.txt``,
``ASCII/DEMO24Q1.TXT``), lines may end in CRLF or LF, and the quarter's list of deleted
cases (``Deleted/DELETE19Q1.txt``, one caseid a line, no header; from 2019Q1) is found
wherever it is. Tables are read as streams, one line at a time, never whole.

No Django import: the benchmark reads quarters with it alone.
"""

import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import IO

CURRENT = "current"
LEGACY = "legacy"
# The tables a quarter must have to be imported (the others are not read).
TABLES = ("DEMO", "DRUG", "REAC", "OUTC")
_TABLE_FILE = re.compile(r"^(DEMO|DRUG|REAC|OUTC|RPSR|THER|INDI)(\d\d)Q([1-4])(?:_?NEW)?\.TXT$")
_DELETE_FILE = re.compile(r"^DELETED?.*\.TXT$")
# The columns read from each table, by layout: (case key, version, fda_dt, sex) for DEMO.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    CURRENT: {
        "DEMO": ("primaryid", "caseid", "caseversion", "fda_dt", "sex"),
        "DRUG": ("primaryid", "role_cod", "drugname", "prod_ai"),
        "REAC": ("primaryid", "pt"),
        "OUTC": ("primaryid", "outc_cod"),
    },
    LEGACY: {
        "DEMO": ("isr", "case", "foll_seq", "fda_dt", "gndr_cod"),
        "DRUG": ("isr", "role_cod", "drugname"),
        "REAC": ("isr", "pt"),
        "OUTC": ("isr", "outc_cod"),
    },
}
# A record broken over several lines (a line break inside a field) is joined again; more
# pieces than this and the line is counted as malformed instead.
MAX_PIECES = 5

# Told (step, done so far, total or None) as a long step advances: bytes read of a table,
# reports or pairs written.
Progress = Callable[[str, int, int | None], None]


class FaersError(Exception):
    """The path is not a FAERS quarter this reader understands; nothing was read from it."""


@dataclass(frozen=True)
class Member:
    """One file of a quarter: a member of a zip file or a file in a folder."""

    name: str  # as stored, for messages
    size: int
    archive: Path | None = None  # the zip file, or None for a plain file
    path: Path | None = None

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.archive is None:
            assert self.path is not None
            with self.path.open("rb") as handle:
                yield handle
            return
        with zipfile.ZipFile(self.archive) as archive, archive.open(self.name) as handle:
            yield handle


@dataclass(frozen=True)
class Quarter:
    """A quarterly extract found at a path: its tables, its deletions and its layout."""

    path: Path
    label: str  # "2017Q2"
    layout: str  # CURRENT or LEGACY
    tables: dict[str, Member]
    deletes: tuple[Member, ...]
    headers: dict[str, list[str]] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """The digest of the zip file, or of a folder's quarter files (names and contents)."""
        digest = hashlib.sha256()
        if self.path.is_file():
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            return digest.hexdigest()
        for member in sorted((*self.tables.values(), *self.deletes), key=lambda m: m.name):
            digest.update(Path(member.name).name.upper().encode() + b"\0")
            with member.open() as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            digest.update(b"\0")
        return digest.hexdigest()


def _members(path: Path) -> list[Member]:
    if path.is_dir():
        return [
            Member(name=str(p.relative_to(path)), size=p.stat().st_size, path=p)
            for p in sorted(path.rglob("*"))
            if p.is_file()
        ]
    if not path.exists():
        raise FaersError(f"{path}: no such file or folder")
    try:
        with zipfile.ZipFile(path) as archive:
            return [
                Member(name=info.filename, size=info.file_size, archive=path)
                for info in archive.infolist()
                if not info.is_dir()
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise FaersError(f"{path}: not a zip file or a folder of FAERS tables ({exc})") from exc


def _ignored(name: str) -> bool:
    parts = Path(name).parts
    return any(p == "__MACOSX" or p.startswith(".") for p in parts)


def quarter_open(path: Path) -> Quarter:
    """The quarter at a path, its tables found and their headers checked; raises FaersError
    naming what is missing or not understood."""
    tables: dict[str, Member] = {}
    quarters: set[str] = set()
    deletes: list[Member] = []
    for member in _members(path):
        if _ignored(member.name):
            continue
        base = Path(member.name).name.upper()
        match = _TABLE_FILE.match(base)
        if match:
            table, year, quarter = match.groups()
            if table not in TABLES:
                continue
            if table in tables:
                raise FaersError(
                    f"{path}: two {table} tables ({tables[table].name} and {member.name}); "
                    "give one quarter a path"
                )
            tables[table] = member
            quarters.add(f"20{year}Q{quarter}")
        elif _DELETE_FILE.match(base):
            deletes.append(member)
    missing = [t for t in TABLES if t not in tables]
    if len(missing) == len(TABLES):
        raise FaersError(
            f"{path}: no FAERS tables found (DEMOyyQq.txt, DRUGyyQq.txt, REACyyQq.txt, "
            "OUTCyyQq.txt)"
        )
    if missing:
        raise FaersError(f"{path}: no {', '.join(missing)} table")
    if len(quarters) > 1:
        raise FaersError(f"{path}: tables of several quarters ({', '.join(sorted(quarters))})")
    headers = {table: _header(member) for table, member in tables.items()}
    demo = headers["DEMO"]
    if "primaryid" in demo:
        layout = CURRENT
    elif "isr" in demo:
        layout = LEGACY
    else:
        raise FaersError(
            f"{path}: {tables['DEMO'].name} has neither primaryid (FAERS) nor isr (legacy AERS) "
            f"in its header: {'$'.join(demo[:6])}..."
        )
    for table, columns in COLUMNS[layout].items():
        absent = [c for c in columns if c not in headers[table]]
        if absent:
            raise FaersError(
                f"{path}: {tables[table].name} lacks the column{'s' if len(absent) > 1 else ''} "
                f"{', '.join(absent)} of the {layout} layout"
            )
    return Quarter(
        path=path,
        label=quarters.pop(),
        layout=layout,
        tables=tables,
        deletes=tuple(sorted(deletes, key=lambda m: m.name)),
        headers=headers,
    )


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r\n").decode("latin-1")


def _header(member: Member) -> list[str]:
    try:
        with member.open() as handle:
            first = handle.readline(1 << 16)
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, RuntimeError) as exc:
        raise FaersError(f"cannot read {member.name}: {exc}") from exc
    names = [n.strip().lower() for n in _decode(first).lstrip("\ufeffï»¿").split("$")]
    while names and not names[-1]:
        names.pop()
    return names


@dataclass
class TableStats:
    """What reading one table met."""

    rows: int = 0
    malformed: int = 0
    joined: int = 0


CHUNK = 1 << 22  # characters decoded at a time


def table_batches(
    quarter: Quarter,
    table: str,
    stats: TableStats | None = None,
    progress: Progress | None = None,
) -> Iterator[list[tuple[str, ...]]]:
    """The rows of a table in batches, each row the values of its layout's columns (COLUMNS)
    in that order, as written. A record split over lines by a line break inside a field is
    joined again; a line with too few fields that the next line does not complete is skipped
    and counted as malformed. The file is read a few megabytes at a time."""
    member = quarter.tables[table]
    header = quarter.headers[table]
    wanted = [header.index(c) for c in COLUMNS[quarter.layout][table]]
    pick = itemgetter(*wanted)
    width = len(header)
    stats = stats if stats is not None else TableStats()
    step = f"reading {table}"
    done = 0
    try:
        with member.open() as raw:
            # Universal newlines: CRLF and LF lines alike; latin-1 decodes any byte.
            text = io.TextIOWrapper(raw, encoding="latin-1", newline=None)
            done += len(text.readline())  # the header
            rest = ""
            pending: list[str] = []
            while True:
                chunk = text.read(CHUNK)
                done += len(chunk)
                lines = (rest + chunk).split("\n")
                rest = lines.pop() if chunk else ""
                batch: list[tuple[str, ...]] = []
                for line in lines:
                    fields = line.split("$")
                    if len(fields) >= width and not pending:
                        batch.append(pick(fields))
                        continue
                    fields, pending = _mend(fields, pending, width, stats)
                    if fields:
                        batch.append(pick(fields))
                stats.rows += len(batch)
                if batch:
                    yield batch
                if progress is not None:
                    progress(step, min(done, member.size), member.size)
                if not chunk:
                    break
            if pending:
                stats.malformed += 1
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, RuntimeError) as exc:
        raise FaersError(f"cannot read {member.name} of {quarter.path}: {exc}") from exc
    if progress is not None and done < member.size:
        progress(step, member.size, member.size)  # CRLF was counted as one character


def _mend(
    fields: list[str], pending: list[str], width: int, stats: TableStats
) -> tuple[list[str], list[str]]:
    """A line that is not a whole record: joined to the short line before it, or kept to be
    joined to the next. Returns (a whole record or [], what is pending)."""
    if pending:
        joined = [*pending[:-1], pending[-1] + "\n" + fields[0], *fields[1:]]
        if len(joined) <= width:
            fields = joined
            stats.joined += 1
        else:
            stats.malformed += 1  # the short line was truncated; this one stands alone
    if len(fields) >= width:
        return fields, []
    if len(fields) == 1 and not fields[0].strip():
        return [], []
    if _pieces(fields) < MAX_PIECES:
        return [], fields
    stats.malformed += 1
    return [], []


def table_rows(
    quarter: Quarter,
    table: str,
    stats: TableStats | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[str, ...]]:
    """The rows of a table one by one (see table_batches)."""
    for batch in table_batches(quarter, table, stats, progress):
        yield from batch


def _pieces(fields: list[str]) -> int:
    return sum(f.count("\n") for f in fields) + 1


def deleted_cases(quarter: Quarter) -> set[str]:
    """The caseids a quarter's DELETE lists name (current layout key space)."""
    cases: set[str] = set()
    for member in quarter.deletes:
        try:
            with member.open() as handle:
                for line in handle:
                    value = _decode(line).strip().strip("$").strip()
                    if value.isdigit():
                        cases.add(value)
        except (OSError, zipfile.BadZipFile, EOFError, zlib.error, RuntimeError) as exc:
            raise FaersError(f"cannot read {member.name} of {quarter.path}: {exc}") from exc
    return cases


def fda_date(text: str) -> date | None:
    """A FAERS date (yyyymmdd); None when partial or not a date."""
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
