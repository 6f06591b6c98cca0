"""What a report submission carries, independent of where it comes from (form, API, import)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass
class PatientInput:
    reference: str = ""
    age: int | None = None
    sex: str = ""
    weight_kg: Decimal | None = None


@dataclass
class ReactionInput:
    term: str = ""
    verbatim: str = ""
    onset_date: date | None = None
    end_date: date | None = None
    grade: int | None = None
    seriousness: list[str] = field(default_factory=list)
    outcome: str = ""
    causality: str = ""

    @classmethod
    def from_cleaned(cls, data: Mapping[str, Any]) -> "ReactionInput":
        """From the cleaned data of the web form or the API serializer (same field names)."""
        return cls(
            term=data.get("term") or "",
            verbatim=data.get("verbatim") or "",
            onset_date=data.get("onset_date"),
            end_date=data.get("end_date"),
            grade=data.get("grade"),
            seriousness=list(data.get("seriousness") or []),
            outcome=data.get("outcome") or "",
            causality=data.get("causality") or "",
        )


@dataclass
class DrugInput:
    """A drug of a case beside the first suspect: a further suspect or a concomitant drug,
    named as the reporter names it (a slug, name or brand of the formulary, or any name).
    ``role`` tells a drug beside the suspects apart: concomitant (the default), interacting
    or not given (an ICSR's G.k.1 = 3 or 4); suspects take none."""

    drug: str = ""
    dose: str = ""
    route: str = ""
    therapy_start: date | None = None
    therapy_end: date | None = None
    lot_number: str = ""
    role: str = ""

    @classmethod
    def from_cleaned(cls, data: Mapping[str, Any]) -> "DrugInput":
        return cls(
            drug=data.get("drug") or "",
            dose=data.get("dose") or "",
            route=data.get("route") or "",
            therapy_start=data.get("therapy_start"),
            therapy_end=data.get("therapy_end"),
            lot_number=data.get("lot_number") or "",
        )


@dataclass
class ReportInput:
    patient: PatientInput | None = None
    drug: str = ""
    therapy_start: date | None = None
    therapy_end: date | None = None
    dose: str = ""
    route: str = ""
    lot_number: str = ""
    narrative: str = ""
    reporter_qualification: str = ""
    site: str = ""
    reactions: list[ReactionInput] = field(default_factory=list)
    other_suspect_drugs: list[DrugInput] = field(default_factory=list)
    concomitant_drugs: list[DrugInput] = field(default_factory=list)


@dataclass
class ReactionUpdate:
    """A follow-up to an existing reaction: its outcome and end date."""

    reaction_id: int
    outcome: str = ""
    end_date: date | None = None


@dataclass
class FollowUpInput:
    updates: list[ReactionUpdate] = field(default_factory=list)
    new_reactions: list[ReactionInput] = field(default_factory=list)
    narrative: str = ""
    new_suspect_drugs: list[DrugInput] = field(default_factory=list)
