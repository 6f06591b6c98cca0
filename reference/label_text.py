"""Reads the text format of a drug-information page into label items.

The page has a consumer section (lay bullets) and a healthcare-professional
section whose lines read ``Band (range): Term (51%) (42% of which were Grade 3
or higher), term, ...``. This module only finds the items; coding the names to
terms is the importer's job. Every line that is not read as items is returned
with the reason, so that nothing is dropped silently. No Django import.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

BANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^very\s+common\b", re.I), "very_common"),
    (re.compile(r"^uncommon\b", re.I), "uncommon"),
    (re.compile(r"^common\b", re.I), "common"),
    (re.compile(r"^very\s+rare\b", re.I), "very_rare"),
    (re.compile(r"^rare\b", re.I), "rare"),
    (
        re.compile(
            r"^(frequency\s+not\s+(reported|known)|not\s+known|postmarketing(\s+reports?)?)\b",
            re.I,
        ),
        "not_reported",
    ),
]
PROFESSIONAL_HEADING = re.compile(r"^for\s+(the\s+)?health\s*care\s+professionals?\b", re.I)
CONSUMER_HEADING = re.compile(r"^for\s+the\s+consumer\b", re.I)
BULLET = re.compile(r"^\s*[•\u2022*\-]\s+(.*)$")
REF_MARK = re.compile(r"\[\s*ref\s*\]", re.I)
PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
GRADE3 = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)\s*%|(all))\s+of\s+which\s+(?:were|was)\s+grade\s*3\s+\w+\s+higher\s*$",
    re.I,
)
EXAMPLES = re.compile(r"^\s*(?:e\.?\s*g\.?|including|such\s+as)\s*,?\s*(.*)$", re.I)
SLASH_PAIR = re.compile(r"\b([A-Za-z]+)/([A-Za-z]+)\b")


@dataclass
class LabelItem:
    """One reaction named on the professional section of a page."""

    verbatim: str
    band: str
    line_no: int
    incidence_pct: Decimal | None = None
    grade3_pct: Decimal | None = None
    covers: list[str] = field(default_factory=list)


@dataclass
class LayItem:
    """One bullet of the consumer section."""

    verbatim: str
    line_no: int


@dataclass
class UnreadLine:
    line_no: int
    text: str
    reason: str


@dataclass
class ParsedLabel:
    professional: list[LabelItem] = field(default_factory=list)
    consumer: list[LayItem] = field(default_factory=list)
    unread: list[UnreadLine] = field(default_factory=list)


def parse_label_text(text: str) -> ParsedLabel:
    parsed = ParsedLabel()
    section: str | None = None
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if CONSUMER_HEADING.match(line):
            section = "consumer"
            continue
        if PROFESSIONAL_HEADING.match(line):
            section = "professional"
            continue
        if section == "consumer":
            bullet = BULLET.match(raw)
            if bullet:
                parsed.consumer.append(LayItem(bullet.group(1).strip(), line_no))
            else:
                parsed.unread.append(UnreadLine(line_no, line, _kind_of_line(line)))
        elif section == "professional":
            _read_professional_line(line, line_no, parsed)
        else:
            parsed.unread.append(UnreadLine(line_no, line, "outside the label sections"))
    return parsed


def _read_professional_line(line: str, line_no: int, parsed: ParsedLabel) -> None:
    band = next((b for pattern, b in BANDS if pattern.match(line)), None)
    _, colon, body = line.partition(":")
    if band is None or not colon:
        parsed.unread.append(UnreadLine(line_no, line, _kind_of_line(line)))
        return
    body = REF_MARK.sub("", body).strip().rstrip(".;").strip()
    if not body:
        parsed.unread.append(UnreadLine(line_no, line, "frequency line without terms"))
        return
    for chunk in split_top_level(body, ","):
        item, problem = _read_item(chunk, band, line_no)
        if problem:
            parsed.unread.append(UnreadLine(line_no, chunk.strip(), problem))
        if item is None:
            continue
        for name in expand_slash(item.verbatim):
            parsed.professional.append(
                LabelItem(name, band, line_no, item.incidence_pct, item.grade3_pct, item.covers)
            )


def _read_item(chunk: str, band: str, line_no: int) -> tuple[LabelItem | None, str]:
    chunk = chunk.strip()
    name_end = chunk.find("(")
    name = (chunk if name_end < 0 else chunk[:name_end]).strip()
    if not name:
        return None, "item without a term name"
    item = LabelItem(verbatim=name, band=band, line_no=line_no)
    problems: list[str] = []
    for inner in parentheticals(chunk[len(name) :] if name_end >= 0 else ""):
        pct = PERCENT.match(inner)
        grade = GRADE3.match(inner)
        examples = EXAMPLES.match(inner)
        if pct:
            item.incidence_pct = _decimal(pct.group(1))
        elif grade:
            item.grade3_pct = item.incidence_pct if grade.group(2) else _decimal(grade.group(1))
        elif examples:
            item.covers = [c.strip() for c in split_top_level(examples.group(1), ",") if c.strip()]
        else:
            problems.append(f"qualifier not understood: ({inner})")
    return item, "; ".join(problems)


REFERENCE = re.compile(r"^\d+\.\s")
HEADING = re.compile(r"^[A-Za-z][A-Za-z ,&-]{0,60}$")


def _kind_of_line(line: str) -> str:
    if REFERENCE.match(line):
        return "reference"
    if HEADING.match(line):
        return "heading"
    return "prose, not a frequency line"


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on a separator outside parentheses."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def parentheticals(text: str) -> list[str]:
    """The contents of the top-level parentheses of a text, in order."""
    found: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                found.append(text[start:i].strip())
    return found


def expand_slash(name: str) -> list[str]:
    """ "upper/lower GI hemorrhage" names two reactions: upper and lower GI hemorrhage."""
    match = SLASH_PAIR.search(name)
    if not match:
        return [name]
    before, after = name[: match.start()], name[match.end() :]
    return [f"{before}{match.group(1)}{after}", f"{before}{match.group(2)}{after}"]


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except InvalidOperation:
        return None
