"""What a report submission carries, independent of where it comes from (form, API, import)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


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
