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

# The head of a frequency line (the text before its colon): exactly a band name,
# optionally followed by a parenthesised range ("Common (1% to 10%)").
BAND_HEAD = re.compile(
    r"^(?P<name>very\s+common|uncommon|common|very\s+rare|rare"
    r"|frequency\s+not\s+(?:reported|known)|not\s+known|postmarketing(?:\s+reports?)?)"
    r"\s*(?:\((?P<range>[^()]*\d[^()]*)\))?$",
    re.I,
)
BAND_NAMES: dict[str, str] = {
    "very common": "very_common",
    "common": "common",
    "uncommon": "uncommon",
    "rare": "rare",
    "very rare": "very_rare",
}
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
    # Items read only in part (a figure that cannot be read, an unbalanced bracket,
    # trailing text): an import of the page must fail, listing each of them.
    problems: list[UnreadLine] = field(default_factory=list)


def parse_label_text(text: str) -> ParsedLabel:
    parsed = ParsedLabel()
    section: str | None = None
    for line_no, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
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


def band_of_head(head: str) -> str | None:
    """The band a frequency line's head names, or None when the head is not a band heading."""
    match = BAND_HEAD.match(" ".join(REF_MARK.sub("", head).split()))
    if match is None:
        return None
    name = " ".join(match.group("name").lower().split())
    return BAND_NAMES.get(name, "not_reported")


def _read_professional_line(line: str, line_no: int, parsed: ParsedLabel) -> None:
    head, colon, body = line.partition(":")
    band = band_of_head(head) if colon else None
    if band is None:
        parsed.unread.append(UnreadLine(line_no, line, _kind_of_line(line)))
        return
    body = REF_MARK.sub("", body).strip().rstrip(".;").strip()
    if not body:
        parsed.unread.append(UnreadLine(line_no, line, "frequency line without terms"))
        return
    for chunk in split_top_level(body, ","):
        item, problem, unsure = _read_item(chunk, band, line_no)
        if problem:
            parsed.problems.append(UnreadLine(line_no, chunk.strip(), problem))
        if unsure:
            parsed.unread.append(UnreadLine(line_no, chunk.strip(), unsure))
        if item is None:
            continue
        for name in expand_slash(item.verbatim):
            parsed.professional.append(
                LabelItem(name, band, line_no, item.incidence_pct, item.grade3_pct, item.covers)
            )


# A qualifier that looks like a figure: it must be read as one, or the import fails.
FIGURE_LIKE = re.compile(r"%|^\s*[~<>≈≤≥]?\s*\d[\d.,\s]*$")


def _read_item(chunk: str, band: str, line_no: int) -> tuple[LabelItem | None, str, str]:
    """An item, the problems that fail the import, and the qualifiers left unread."""
    chunk = chunk.strip()
    name_end = chunk.find("(")
    name = (chunk if name_end < 0 else chunk[:name_end]).strip()
    problems: list[str] = []
    unbalanced = _unbalanced(chunk)
    if unbalanced:
        problems.append(unbalanced)
    if not name:
        return None, "; ".join(problems), "item without a term name"
    item = LabelItem(verbatim=name, band=band, line_no=line_no)
    qualifiers, rest = _qualifiers(chunk[name_end:] if name_end >= 0 else "")
    if rest and not unbalanced:
        problems.append(f"text after the figures not understood: {rest!r}")
    unsure: list[str] = []
    for inner in qualifiers:
        pct = PERCENT.match(inner)
        grade = GRADE3.match(inner)
        examples = EXAMPLES.match(inner)
        if pct:
            if item.incidence_pct is not None:
                problems.append(f"a second incidence: ({inner})")
            item.incidence_pct = _decimal(pct.group(1))
        elif grade:
            if item.incidence_pct is None:
                problems.append(f"a grade >= 3 figure without an incidence: ({inner})")
            elif grade.group(2):
                item.grade3_pct = item.incidence_pct
            else:
                item.grade3_pct = _decimal(grade.group(1))
        elif examples:
            item.covers = [c.strip() for c in split_top_level(examples.group(1), ",") if c.strip()]
        elif FIGURE_LIKE.search(inner):
            problems.append(f"figure not understood: ({inner})")
        else:
            unsure.append(f"qualifier not understood: ({inner})")
    return item, "; ".join(problems), "; ".join(unsure)


def _unbalanced(text: str) -> str:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return "a closing bracket without its opening bracket"
    return "an opening bracket that is never closed" if depth else ""


def _qualifiers(text: str) -> tuple[list[str], str]:
    """The top-level parentheticals of a text and whatever text stands outside them."""
    found: list[str] = []
    outside: list[str] = []
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
        elif depth == 0:
            outside.append(ch)
    return found, " ".join("".join(outside).split())


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
