"""The drugs of a report as an ICSR names them (G.k): the one place that reads them."""

from dataclasses import dataclass
from datetime import date

from reports.models import Report

from . import codes


@dataclass(frozen=True)
class DrugUse:
    """One drug of a case: its role (G.k.1), name (G.k.2.2), and how it was given (G.k.4)."""

    role: str
    name: str
    dose: str = ""
    route: str = ""
    start: date | None = None
    end: date | None = None
    lot_number: str = ""
    # Whether the reactions' causality (one per reaction in the product) is this drug's.
    assessed: bool = False


def report_drugs(report: Report) -> list[DrugUse]:
    """The drugs of a report, suspects first: the report's suspect drug with its therapy."""
    return [
        DrugUse(
            role=codes.ROLE_SUSPECT,
            name=report.drug.name,
            dose=report.dose,
            route=report.route,
            start=report.therapy_start,
            end=report.therapy_end,
            lot_number=report.lot_number,
            assessed=True,
        )
    ]
