"""Spontaneous-report files for the tests: writing them, importing them, the formulary
drugs they are read for, and a generated database with one disproportionate pair."""

import csv
import io
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.core.management import CommandError, call_command
from django.utils.text import slugify

from reference.models import Drug
from spontaneous import baseline as spontaneous_baseline
from spontaneous.baseline import baseline_method
from spontaneous.models import CaseReport, DisproportionalityBaseline, Source


def write_csv(path: Path, rows: Sequence[tuple[str, ...]], header=("report_id", "drug", "event")):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(path: Path, *args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_reports", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue()


EVENTS = [
    "Headache", "Fatigue", "Vomiting", "Diarrhoea", "Pyrexia", "Cough", "Dizziness", "Anaemia",
    "Insomnia", "Constipation", "Back pain", "Arthralgia", "Nausea", "Myalgia", "Epistaxis",
    "Dyspnoea", "Pruritus", "Alopecia", "Hypertension", "Abdominal pain", "Chills", "Dry mouth",
]  # fmt: skip


def database_rows() -> list[tuple[str, ...]]:
    """3,000 reports over 31 drugs and 22 events, events drawn at the same rates for every
    drug except Nausea, reported with half of Examplumab's reports."""
    rng = random.Random(7)
    weights = [1 / (k + 1) for k in range(len(EVENTS))]
    rows: list[tuple[str, ...]] = []
    for i in range(3000):
        drug = "Examplumab" if i < 150 else f"Comparol {i % 30}"
        events = set(rng.choices(EVENTS, weights, k=rng.randint(1, 3)))
        if drug == "Examplumab" and rng.random() < 0.5:
            events.add("Nausea")
        rows += [(f"R{i}", drug, event) for event in sorted(events)]
    return rows


PVDA_TABLES = Path(__file__).resolve().parent / "data" / "pvda_drug_z_tables.csv"


def pvda_tables() -> dict[str, dict[str, str]]:
    """The published pvda figures of Drug_Z by event, with the 2x2 cells they come from."""
    with PVDA_TABLES.open(newline="", encoding="utf-8") as handle:
        return {row["event"]: row for row in csv.DictReader(handle)}


def pvda_rows() -> list[tuple[str, ...]]:
    """Reports whose Drug_Z tables for Event_1 and Event_2 are pvda's: Drug_Z's reports carry
    Event_1, Event_2 or both; the other drug's carry one of them or Event_3."""
    tables = pvda_tables()
    cells = {event: [int(tables[event][k]) for k in "abcd"] for event in ("Event_1", "Event_2")}
    (a1, b1, c1, d1), (a2, b2, c2, _) = cells["Event_1"], cells["Event_2"]
    drug_reports, total = a1 + b1, a1 + b1 + c1 + d1
    both = a1 + a2 - drug_reports  # Drug_Z reports naming both events
    assert a2 + b2 == drug_reports and both >= 0 and c1 + c2 <= total - drug_reports
    plan = (
        [("Drug_Z", ("Event_1", "Event_2"))] * both
        + [("Drug_Z", ("Event_1",))] * (a1 - both)
        + [("Drug_Z", ("Event_2",))] * (a2 - both)
        + [("Drug_Y", ("Event_1",))] * c1
        + [("Drug_Y", ("Event_2",))] * c2
    )
    plan += [("Drug_Y", ("Event_3",))] * (total - len(plan))
    return [(f"R{i}", drug, event) for i, (drug, events) in enumerate(plan, 1) for event in events]


def formulary(*names: str) -> list[Drug]:
    """Drugs of the hospital formulary (registered by hand, as a site does), for the
    spontaneous reports that name them to be read as theirs."""
    return [Drug.objects.create(name=name, slug=slugify(name)) for name in names]


def mark_serious(source: Source, case_keys: Iterable[str]) -> None:
    """Mark cases of a CSV source serious, as FAERS outcomes would (a CSV carries none). No
    import changes outcomes after the fact, so the source's serious baseline, computed at
    its import, is dropped here to be computed again."""
    CaseReport.objects.filter(source=source, case_key__in=list(case_keys)).update(serious=True)
    DisproportionalityBaseline.objects.filter(
        source=source, method=baseline_method(serious=True)
    ).delete()
    spontaneous_baseline._baselines.clear()
