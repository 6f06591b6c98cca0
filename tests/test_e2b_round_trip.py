"""Our export of any report imports back to the same report: over the demo cohort, with the
site's terms given MedDRA codes by a MedDRA import, and for a case with several suspects."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from e2b.services import icsr_export, icsr_import
from reference.models import Drug, Term
from reports.inputs import DrugInput
from reports.models import Reaction, Report
from reports.services import coding_apply
from surveillance.management.commands.load_demo_cohort import DEMO_SITE

from .e2b_helpers import file_report, first, meddra_version, xml  # noqa: F401

pytestmark = pytest.mark.django_db

# The demo's words that no term codes, as an officer codes them from the queue.
OFFICER_CODES = {
    "legs felt like jelly on the stairs": "Muscle weakness lower limb",
    "funny turn after the infusion": "Infusion related reaction",
}


def _content(report: Report) -> tuple[object, ...]:
    report = Report.objects.select_related("patient").get(pk=report.pk)
    return (
        (report.patient.reference, report.patient.age, report.patient.sex),
        report.drug_id,
        (report.therapy_start, report.therapy_end, report.dose, report.route, report.lot_number),
        report.narrative,
        report.expedited,
        [
            (
                r.term_id,
                r.verbatim,
                r.grade,
                sorted(r.seriousness),
                r.outcome,
                r.onset_date,
                r.end_date,
                r.causality,
                r.listedness,
            )
            for r in report.reactions.order_by("id")
        ],
        [
            (
                d.position,
                d.role,
                d.name,
                d.drug_id,
                d.dose,
                d.route,
                d.therapy_start,
                d.therapy_end,
                d.lot_number,
            )
            for d in report.other_drugs.order_by("position")
        ],
    )


def _give_meddra_codes(tmp_path: Path) -> None:
    """Import a made-up MedDRA release that names every term the cohort's reactions use
    without a code (the site's bleeding terms): the import gives them their codes."""
    from .meddra_release import release_write

    uncoded = sorted(
        {
            name
            for name, pt, llt in Reaction.objects.values_list(
                "term__name", "term__meddra_code", "term__meddra_llt_code"
            )
            if not (pt or llt)
        }
    )
    assert uncoded, "the demo cohort has site terms that CTCAE gives no code"
    extra = {f"{93100001 + i}": name for i, name in enumerate(uncoded)}
    call_command("import_meddra", str(release_write(tmp_path, extra=extra)), stdout=None)
    for name in uncoded:
        assert Term.objects.get(name=name).e2b_llt_code


def test_every_demo_report_exported_imports_back_as_the_same_report(
    officer, nurse, inotuzumab, tmp_path
):
    call_command("load_demo_cohort", "--patients", "300", stdout=None)
    for words, term in OFFICER_CODES.items():
        coding_apply(actor=officer, verbatim=words, term=term)
    _give_meddra_codes(tmp_path)
    reports = list(Report.objects.filter(site__name=DEMO_SITE).order_by("pk"))
    assert len(reports) > 200
    # The demo's combination therapy: further suspects and concomitant drugs go too.
    assert any(r.other_drugs.filter(role="suspect").exists() for r in reports)
    assert any(r.other_drugs.filter(role="concomitant").exists() for r in reports)
    export = icsr_export(reports=reports, actor=officer)
    foreign = export.content.replace(b"US-AETRACKER-", b"GB-OTHERHOSP-")
    copies = icsr_import(data=foreign, actor=officer, site="St Elsewhere")
    assert len(copies) == len(reports)
    for report, copy in zip(reports, copies, strict=True):
        assert copy.created and copy.report.pk != report.pk
        assert copy.report.site.name == "St Elsewhere"
        assert _content(copy.report) == _content(report), report.reference
    # Read back as our own cases, the same batch changes nothing.
    again = icsr_import(data=export.content, actor=officer)
    assert {(r.report.pk, r.created) for r in again} == {(r.pk, False) for r in reports}


def test_two_suspects_and_a_concomitant_go_out_and_come_back(
    nurse, other_site_nurse, officer, inotuzumab
):
    second = Drug.objects.create(slug="combimab", name="Combimab", brand_names=["Combix"])
    start = timezone.localdate() - timedelta(days=20)
    report = file_report(
        nurse,
        other_suspect_drugs=[
            DrugInput(drug="Combix", dose="2 mg", route="intravenous", therapy_start=start),
            DrugInput(drug="vincristine", dose="1.4 mg/m2", lot_number="V-7"),
        ],
        concomitant_drugs=[
            DrugInput(
                drug="ondansetron",
                dose="8 mg",
                route="oral",
                therapy_start=start,
                therapy_end=start + timedelta(days=5),
            )
        ],
    )
    content = icsr_export(reports=[report], actor=nurse).content
    root = xml(content)
    names = root.xpath(
        "//h:organizer[h:code/@code='4']/h:component/h:substanceAdministration/"
        "h:consumable/h:instanceOfKind/h:kindOfProduct/h:name/text()",
        namespaces={"h": "urn:hl7-org:v3"},
    )
    # G.k.2.2 is the name as reported: the brand the nurse gave.
    assert names == ["inotuzumab ozogamicin", "Combix", "vincristine", "ondansetron"]
    roles = root.xpath(
        "//h:causalityAssessment[h:code/@code='20' and "
        "h:code/@codeSystem='2.16.840.1.113883.3.989.2.1.1.19']/h:value",
        namespaces={"h": "urn:hl7-org:v3"},
    )
    assert [(v.get("code"), v.get("codeSystem")) for v in roles] == [
        ("1", "2.16.840.1.113883.3.989.2.1.1.13"),
        ("1", "2.16.840.1.113883.3.989.2.1.1.13"),
        ("1", "2.16.840.1.113883.3.989.2.1.1.13"),
        ("2", "2.16.840.1.113883.3.989.2.1.1.13"),
    ]
    # The reaction's causality is the first suspect's assessment: one G.k.9, its drug's.
    causality = root.xpath(
        "//h:causalityAssessment[h:code/@code='39']/h:subject2/h:productUseReference/h:id/@root",
        namespaces={"h": "urn:hl7-org:v3"},
    )
    first_drug = first(
        root, "//h:organizer[h:code/@code='4']//h:substanceAdministration/h:id/@root"
    )
    assert causality == [first_drug]
    [copy] = icsr_import(
        data=content.replace(b"US-AETRACKER-", b"GB-OTHERHOSP-"), actor=officer, site="Mercy West"
    )
    drugs = list(copy.report.other_drugs.order_by("position"))
    assert [(d.name, d.role, d.drug) for d in drugs] == [
        ("Combix", "suspect", second),
        ("vincristine", "suspect", None),
        ("ondansetron", "concomitant", None),
    ]
    assert (drugs[1].dose, drugs[1].lot_number) == ("1.4 mg/m2", "V-7")
    assert (drugs[2].route, drugs[2].therapy_end) == ("oral", start + timedelta(days=5))
    assert _content(copy.report) == _content(report)
