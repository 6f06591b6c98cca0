"""CSV exports open in a spreadsheet as text, never as formulas, whatever separator it uses."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.models import Reaction
from surveillance.exports import csv_text, safe_cell
from surveillance.models import Signal
from surveillance.services import run_create, run_execute

from .cohort import worked_scenario

SEPARATORS = [",", ";", "\t"]


def cells_as_a_spreadsheet_reads_them(text: str, separator: str) -> list[str]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    return [cell for row in rows for cell in row]


def opens_as_a_formula(cell: str) -> bool:
    # Leading tabs and line breaks are dropped by some spreadsheets before they look.
    return cell.lstrip("\t\r\n").startswith(("=", "+", "-", "@"))


def formulas(text: str) -> list[tuple[str, str]]:
    return [
        (separator, cell)
        for separator in SEPARATORS
        for cell in cells_as_a_spreadsheet_reads_them(text, separator)
        if opens_as_a_formula(cell)
    ]


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("bleed;=2+5;x", "bleed;'=2+5;x"),
        ("bleed,+1", "bleed,'+1"),
        ("a\t@SUM(A1)", "a\t'@SUM(A1)"),
        ("line\n-1", "line\n'-1"),
        ('said ;"=1', "said ;\"'=1"),
        ("=1+1", "'=1+1"),
        ("\t=1", "'\t'=1"),
        ("Nausea; vomiting - severe", "Nausea; vomiting - severe"),
        ("2026-10-09", "2026-10-09"),
    ],
)
def test_every_part_that_starts_like_a_formula_is_neutralised(value, safe):
    assert safe_cell(value) == safe


def test_numbers_stay_numbers():
    assert safe_cell(-1.5) == "-1.5"
    assert safe_cell(3) == "3"
    assert safe_cell(None) == ""


def test_a_semicolon_spreadsheet_sees_no_formula_in_a_verbatim():
    text = csv_text(["report", "verbatim"], [["AE-1", "bleed;=2+5;x"]])
    assert formulas(text) == []
    assert "'=2+5" in cells_as_a_spreadsheet_reads_them(text, ";")


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_no_cell_opens_as_a_formula_under_any_separator(values):
    assert formulas(csv_text(["a"] * len(values), [["AE-1", *values]])) == []


@pytest.mark.django_db
def test_the_signal_line_listing_neutralises_a_formula_after_a_semicolon(
    client, officer, nurse, inotuzumab
):
    worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    Reaction.objects.filter(term=signal.term).update(verbatim="bleed;=2+5;x")
    client.force_login(officer)
    text = client.get(f"/surveillance/signals/{signal.pk}/cases.csv").content.decode()
    assert "bleed;'=2+5;x" in text
    assert formulas(text) == []
