"""Spontaneous-report files for the tests: writing them, importing them, and a generated
database with one disproportionate pair."""

import csv
import io
import random
from collections.abc import Sequence
from pathlib import Path

from django.core.management import CommandError, call_command


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
