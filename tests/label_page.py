"""The shipped inotuzumab ozogamicin label, written out as a drug-information page in the
text format `import_label` reads, for tests that import a whole page.

The page is made from the label's own data (terms, bands, figures), so importing it must give
back the shipped table. Its structure lines (title, section headings, an organ-class
heading, a reference list, `[Ref]` markers) are ours and are there to be skipped.
"""

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

SHIPPED_LABEL = (
    Path(__file__).resolve().parent.parent
    / "reference"
    / "data"
    / "labels"
    / "inotuzumab-ozogamicin.json"
)

BAND_HEADS = {
    "very_common": "Very common (10% or more)",
    "common": "Common (1% to 10%)",
    "uncommon": "Uncommon (0.1% to 1%)",
    "rare": "Rare (0.01% to 0.1%)",
    "very_rare": "Very rare (less than 0.01%)",
    "not_reported": "Frequency not reported",
}

# Lines of the page that are structure, not reactions: the importer reports each as not read.
STRUCTURE_LINES = (
    "Inotuzumab ozogamicin side effects",
    "Applies to inotuzumab ozogamicin: intravenous powder for injection",
    "Blood and lymphatic",
    "1. Product information for the test page.",
)
HEADING_LINE = "Blood and lymphatic"


def _percent(value: Any) -> str:
    return f"{Decimal(str(value)).normalize():f}%"


def _professional_item(entry: dict[str, Any]) -> str:
    text = str(entry["verbatim"])
    if entry["covers"]:
        text += f" (e.g., {', '.join(name.lower() for name in entry['covers'])})"
    if entry["incidence_pct"] is not None:
        text += f" ({_percent(entry['incidence_pct'])})"
        grade3 = entry["grade3_pct"]
        if grade3 is not None and grade3 == entry["incidence_pct"]:
            text += " (all of which were Grade 3 or higher)"
        elif grade3 is not None:
            text += f" ({_percent(grade3)} of which were Grade 3 or higher)"
    return text


def shipped_label_page(path: Path) -> Path:
    """Write the page to path and return it."""
    label = json.loads(SHIPPED_LABEL.read_text(encoding="utf-8"))
    by_band: dict[str, list[str]] = defaultdict(list)
    bullets: list[str] = []
    for entry in label["entries"]:
        if entry["section"] == "consumer":
            bullets.append(entry["verbatim"])
        else:
            by_band[entry["band"]].append(_professional_item(entry))
    title, applies, heading, reference = STRUCTURE_LINES
    lines = [title, "", "For the Consumer", "", applies, "", "More common"]
    lines += [f"  • {bullet}" for bullet in bullets]
    lines += ["", "For Healthcare Professionals", "", applies, "", heading, ""]
    for band, head in BAND_HEADS.items():
        if by_band[band]:
            lines.append(f"{head}: {', '.join(by_band[band])}[Ref]")
    lines += ["", reference]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
