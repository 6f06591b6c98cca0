"""CSV exports that a spreadsheet opens safely: a cell that would run as a formula is
neutralised with a leading apostrophe."""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# A spreadsheet set to split on semicolons or tabs, not commas, cuts a cell of this file into
# several at each ; , or tab (and starts a record at a line break): every such part is a cell
# of its own there, so each part that starts like a formula is neutralised, not only the first.
# Read that way, a quote the file doubled can open a part too ("a;""=1" holds a part "=1").
_FORMULA_AT_A_CELL_START = re.compile(r'(?:^|(?<=[,;\t\r\n"]))(?=[=+\-@\t\r])')


def safe_cell(value: object) -> str:
    """The value as CSV cell text that no spreadsheet reads as a formula, whichever of comma,
    semicolon or tab it splits on. Numbers are left as they are (a negative number is no
    formula)."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return str(value)
    return _FORMULA_AT_A_CELL_START.sub("'", str(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Every CSV export goes through here, so every cell passes safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
