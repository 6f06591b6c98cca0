"""Reports to export as ICSRs, filed through the report services."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from lxml import etree

from reports.inputs import PatientInput, ReactionInput, ReportInput
from reports.services import report_submit

NS = {"h": "urn:hl7-org:v3"}


def file_report(nurse, *reactions: ReactionInput, reference: str = "P-100", **fields):
    onset = timezone.localdate() - timedelta(days=3)
    data = ReportInput(
        patient=PatientInput(reference=reference, age=54, sex="female"),
        drug="inotuzumab ozogamicin",
        therapy_start=onset - timedelta(days=7),
        dose=fields.pop("dose", "0.8 mg/m2"),
        route="intravenous",
        lot_number="LOT-42",
        narrative=fields.pop("narrative", "Seen on the ward after the second infusion."),
        reactions=list(reactions)
        or [
            ReactionInput(
                term="Vitreous haemorrhage",
                verbatim="bleeding into the eye",
                onset_date=onset,
                grade=3,
                seriousness=["hospitalization"],
                outcome="recovering",
                causality="probable",
            )
        ],
        **fields,
    )
    report, _ = report_submit(reporter=nurse, data=data)
    return report


def reaction(term: str = "", verbatim: str = "", grade: int = 1, **kw) -> ReactionInput:
    return ReactionInput(
        term=term,
        verbatim=verbatim,
        grade=grade,
        onset_date=kw.pop("onset_date", date.today() - timedelta(days=2)),
        **kw,
    )


def xml(content: bytes):
    return etree.fromstring(content)


def first(root, path: str) -> str:
    found = root.xpath(path, namespaces=NS)
    return str(found[0]) if found else ""


@pytest.fixture(autouse=True)
def meddra_version(settings: Any) -> None:
    """The MedDRA version the tests' codes are said to be in (no release is imported)."""
    settings.E2B_MEDDRA_VERSION = "27.0"
