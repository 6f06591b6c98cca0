"""Reading a MedDRA ASCII release (the MedAscii folder a licensed site receives from MSSO).

Every file is a list of records, one a line, each field followed by ``$`` (so a line ends
with ``$``); there is no header and no quoting. Lines end in CRLF or LF. English and
Western European releases are written in a Windows code page, others in UTF-8: a file
that is not UTF-8 is read as cp1252. No Django import, so the benchmark can read a
release alone.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Field count of each file the importer reads; fields past those it uses are the legacy
# cross-references to other dictionaries, empty since MedDRA 15.0.
LAYOUT = {
    "meddra_release.asc": 5,
    "soc.asc": 10,
    "hlgt.asc": 9,
    "hlt.asc": 9,
    "pt.asc": 11,
    "llt.asc": 11,
    "soc_hlgt.asc": 2,
    "hlgt_hlt.asc": 2,
    "hlt_pt.asc": 2,
    "mdhier.asc": 12,
    "smq_list.asc": 9,
    "smq_content.asc": 9,
}
REQUIRED = [name for name in LAYOUT if not name.startswith("smq_")]
# Files that may hold fewer fields than their layout: the release file has been seen
# with three, and old SMQ lists without their last fields.
SHORT_ALLOWED = {"meddra_release.asc", "smq_list.asc"}

SMQ_LEVEL = 0
PT_LEVEL = 4
LLT_LEVEL = 5
NARROW = 2


class MeddraFormatError(Exception):
    """A release file that is missing or does not have the MedDRA layout."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Llt:
    code: str
    name: str
    pt_code: str
    current: bool


@dataclass(frozen=True)
class Pt:
    code: str
    name: str
    soc_code: str


@dataclass(frozen=True)
class SmqTerm:
    code: str
    level: int
    scope: int
    active: bool


@dataclass(frozen=True)
class Smq:
    code: str
    name: str
    level: int
    active: bool
    terms: list[SmqTerm] = field(default_factory=list)


@dataclass
class Release:
    """What the importer needs of a release: its version, the PTs with their primary SOC,
    the LLTs, the SOC names and (when the release has them) the SMQs."""

    version: str
    language: str
    socs: dict[str, str]
    pts: dict[str, Pt]
    llts: dict[str, Llt]
    hlt_count: int
    hlgt_count: int
    smqs: dict[str, Smq] | None

    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version)

    def smq_find(self, name: str) -> Smq | None:
        """An SMQ by its name, with or without the "(SMQ)" it ends with, any case."""
        wanted = _smq_key(name)
        for smq in (self.smqs or {}).values():
            if _smq_key(smq.name) == wanted:
                return smq
        return None

    def smq_members(self, smq: Smq) -> tuple[set[str], set[str]]:
        """The PT and LLT codes of an SMQ's active narrow-scope terms, its sub-SMQs
        followed (each once, so a loop in the file cannot hang the import)."""
        pts: set[str] = set()
        llts: set[str] = set()
        seen: set[str] = set()
        todo = [smq.code]
        while todo:
            code = todo.pop()
            if code in seen or self.smqs is None or code not in self.smqs:
                continue
            seen.add(code)
            for term in self.smqs[code].terms:
                if term.level == SMQ_LEVEL:
                    todo.append(term.code)
                elif term.active and term.scope == NARROW and term.level == PT_LEVEL:
                    pts.add(term.code)
                elif term.active and term.scope == NARROW and term.level == LLT_LEVEL:
                    llts.add(term.code)
        return pts, llts


def _smq_key(name: str) -> str:
    text = " ".join(name.lower().split())
    return text.removesuffix("(smq)").strip()


def version_key(version: str) -> tuple[int, ...]:
    """ "26.1" -> (26, 1), for ordering releases; a part that is not a number counts 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.strip().split("."))


def release_folder(path: Path) -> dict[str, Path]:
    """The release's files by lower-case name, from the release folder or its MedAscii."""
    if not path.is_dir():
        raise MeddraFormatError(str(path), "not a folder")
    folders = [path] + [p for p in path.iterdir() if p.is_dir() and p.name.lower() == "medascii"]
    for folder in folders:
        files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
        if "llt.asc" in files or "meddra_release.asc" in files:
            return files
    raise MeddraFormatError(str(path), "no MedDRA release here (no llt.asc, here or in MedAscii/)")


def _text(path: Path, encoding: str | None) -> str:
    data = path.read_bytes()
    if encoding:
        return data.decode(encoding)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def records(
    path: Path, fields: int, encoding: str | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each record of a release file, each padded to ``fields``."""
    name = path.name.lower()
    try:
        text = _text(path, encoding)
    except (OSError, LookupError, UnicodeDecodeError) as exc:
        raise MeddraFormatError(path.name, f"cannot be read ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        parts = line.split("$")
        if parts[-1] == "":
            parts.pop()
        if len(parts) > fields or (len(parts) < fields and name not in SHORT_ALLOWED):
            raise MeddraFormatError(
                path.name, f"{len(parts)} fields where the layout has {fields}", number
            )
        yield number, parts + [""] * (fields - len(parts))


def _code(value: str, file: str, line: int, what: str) -> str:
    value = value.strip()
    if len(value) != 8 or not value.isdigit():
        raise MeddraFormatError(file, f"{what} {value!r} is not an 8-digit code", line)
    return value


def _name(value: str, file: str, line: int) -> str:
    value = value.strip()
    if not value:
        raise MeddraFormatError(file, "a term without a name", line)
    return value


def release_read(path: Path, encoding: str | None = None) -> Release:
    """Read and check a whole release; the first problem met is raised, naming file and line."""
    files = release_folder(path)
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise MeddraFormatError(", ".join(missing), f"missing from {path}")

    def read(name: str) -> Iterator[tuple[int, list[str]]]:
        return records(files[name], LAYOUT[name], encoding)

    version = language = ""
    for line, row in read("meddra_release.asc"):
        version, language = row[0].strip(), row[1].strip()
        if not version or not version.replace(".", "").isdigit():
            raise MeddraFormatError("meddra_release.asc", f"{version!r} is not a version", line)
        break
    if not version:
        raise MeddraFormatError("meddra_release.asc", "empty: no version")

    socs = {
        _code(r[0], "soc.asc", n, "SOC code"): _name(r[1], "soc.asc", n) for n, r in read("soc.asc")
    }
    hlgts = {_code(r[0], "hlgt.asc", n, "HLGT code") for n, r in read("hlgt.asc")}
    hlts = {_code(r[0], "hlt.asc", n, "HLT code") for n, r in read("hlt.asc")}
    pts: dict[str, Pt] = {}
    for n, r in read("pt.asc"):
        code = _code(r[0], "pt.asc", n, "PT code")
        soc = r[3].strip()
        if soc:
            soc = _code(soc, "pt.asc", n, "primary SOC code")
        pts[code] = Pt(code, _name(r[1], "pt.asc", n), soc)
    llts: dict[str, Llt] = {}
    for n, r in read("llt.asc"):
        code = _code(r[0], "llt.asc", n, "LLT code")
        pt = _code(r[2], "llt.asc", n, "PT code")
        if pt not in pts:
            raise MeddraFormatError("llt.asc", f"PT {pt} of LLT {code} is not in pt.asc", n)
        currency = r[9].strip().upper()
        if currency not in {"Y", "N"}:
            raise MeddraFormatError("llt.asc", f"currency {currency!r} is neither Y nor N", n)
        llts[code] = Llt(code, _name(r[1], "llt.asc", n), pt, currency == "Y")
    for name in ("soc_hlgt.asc", "hlgt_hlt.asc", "hlt_pt.asc"):
        for n, r in read(name):
            _code(r[0], name, n, "code")
            _code(r[1], name, n, "code")
    # The primary SOC: mdhier's path flagged Y; pt.asc gives it too and fills a gap.
    primary: dict[str, str] = {}
    for n, r in read("mdhier.asc"):
        pt = _code(r[0], "mdhier.asc", n, "PT code")
        soc = _code(r[3], "mdhier.asc", n, "SOC code")
        if r[11].strip().upper() == "Y":
            primary[pt] = soc
    for code, pt_row in list(pts.items()):
        soc = primary.get(code) or pt_row.soc_code
        if soc != pt_row.soc_code:
            pts[code] = Pt(pt_row.code, pt_row.name, soc)

    smqs: dict[str, Smq] | None = None
    if "smq_list.asc" in files and "smq_content.asc" in files:
        smqs = {}
        for n, r in read("smq_list.asc"):
            code = _code(r[0], "smq_list.asc", n, "SMQ code")
            smqs[code] = Smq(
                code,
                _name(r[1], "smq_list.asc", n),
                _int(r[2], "smq_list.asc", n),
                r[7].strip().upper() != "I",
            )
        for n, r in read("smq_content.asc"):
            code = _code(r[0], "smq_content.asc", n, "SMQ code")
            if code not in smqs:
                raise MeddraFormatError("smq_content.asc", f"SMQ {code} is not in smq_list", n)
            smqs[code].terms.append(
                SmqTerm(
                    _code(r[1], "smq_content.asc", n, "term code"),
                    _int(r[2], "smq_content.asc", n),
                    _int(r[3], "smq_content.asc", n),
                    r[6].strip().upper() != "I",
                )
            )
    return Release(
        version=version,
        language=language,
        socs=socs,
        pts=pts,
        llts=llts,
        hlt_count=len(hlts),
        hlgt_count=len(hlgts),
        smqs=smqs,
    )


def _int(value: str, file: str, line: int) -> int:
    try:
        return int(value.strip() or "0")
    except ValueError:
        raise MeddraFormatError(file, f"{value!r} is not a number", line) from None
