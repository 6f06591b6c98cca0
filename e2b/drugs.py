"""The drugs of a report as an ICSR names them (G.k): the one place that reads them."""

from dataclasses import dataclass
from datetime import date

from reports.choices import DrugRole
from reports.models import Report

from . import codes

# G.k.1 of each role a drug of a case can have, and the role of each G.k.1 read back.
ROLE_CODES: dict[str, str] = {
    DrugRole.SUSPECT: codes.ROLE_SUSPECT,
    DrugRole.CONCOMITANT: codes.ROLE_CONCOMITANT,
    DrugRole.INTERACTING: codes.ROLE_INTERACTING,
    DrugRole.NOT_ADMINISTERED: codes.ROLE_NOT_GIVEN,
}
ROLES = {code: role for role, code in ROLE_CODES.items()}


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
    """Every drug of a report in the case's order: the first suspect with its therapy (the
    drug the reactions' causality was assessed for), then the further suspects and the other
    drugs as the report lists them (suspects first, then concomitant drugs)."""
    first = DrugUse(
        role=codes.ROLE_SUSPECT,
        name=report.drug.name,
        dose=report.dose,
        route=report.route,
        start=report.therapy_start,
        end=report.therapy_end,
        lot_number=report.lot_number,
        assessed=True,
    )
    others = [
        DrugUse(
            role=ROLE_CODES.get(other.role, codes.ROLE_CONCOMITANT),
            name=other.name,
            dose=other.dose,
            route=other.route,
            start=other.therapy_start,
            end=other.therapy_end,
            lot_number=other.lot_number,
        )
        for other in report.other_drugs.all()
    ]
    return [first, *others]
