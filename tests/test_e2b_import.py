"""ICSR batches in: FDA's example cases, idempotency on C.1.1, follow-ups and nullifications,
hostile documents, and the round trip of our own exports."""

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from e2b.drugs import report_drugs
from e2b.models import ReceivedCase
from e2b.reader import read_batch
from e2b.services import ImportRefused, icsr_export, icsr_import
from reference.models import Drug, Term
from reports.models import Report, SuspectReaction

from .cohort import Case, CohortBuilder
from .conftest import DATA
from .e2b_helpers import meddra_version  # noqa: F401

pytestmark = pytest.mark.django_db

FDA = DATA / "e2b"
DRUG_FILES = [
    "FAERS2022Scenario1.xml",
    "FAERS2022Scenario2.xml",
    "FAERS2022Scenario3.xml",
    "FAERS2022Scenario5-1.xml",
    "FAERS2022Scenario5-2.xml",
    "FAERS2022Scenario6.xml",
]


def post(client, body: bytes, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(
        f"/api/v1/icsr/{'?' + query if query else ''}", body, content_type="application/xml"
    )


@pytest.mark.parametrize("name", DRUG_FILES)
def test_every_fda_example_of_a_drug_case_imports(name, officer, nurse):
    results = icsr_import(
        data=(FDA / name).read_bytes(), actor=officer, site="St Elsewhere", new_drugs=True
    )
    assert len(results) == 1
    report = results[0].report
    assert results[0].created
    assert report.source == "import"
    assert report.reactions.count() >= 1
    received = ReceivedCase.objects.get(report=report)
    assert received.safety_report_id == read_batch((FDA / name).read_bytes())[0].safety_report_id


def test_scenario_1_keeps_both_suspects_the_concomitant_and_the_words(officer, nurse):
    [result] = icsr_import(
        data=(FDA / "FAERS2022Scenario1.xml").read_bytes(),
        actor=officer,
        site="St Elsewhere",
        new_drugs=True,
    )
    report = result.report
    assert report.drug.name == "Drug A"
    assert report.route == "oral"
    assert report.lot_number == "UNKNOWN"
    assert report.patient.reference == "JD"
    assert report.patient.age == 48
    assert report.patient.sex == "male"
    assert report.reporter_qualification == "physician"
    drugs = list(report.other_drugs.order_by("position"))
    # --new-drugs adds both suspects to the formulary; the concomitant is kept by name.
    assert [(d.position, d.name, d.role) for d in drugs] == [
        (2, "Drug B", "suspect"),
        (3, "Drug C", "concomitant"),
    ]
    assert drugs[0].drug == Drug.objects.get(name="Drug B") and drugs[1].drug is None
    # Each reaction is seen from each formulary suspect.
    assert set(
        SuspectReaction.objects.filter(reaction__report=report).values_list("drug__name", flat=True)
    ) == {"Drug A", "Drug B"}
    reactions = list(report.reactions.order_by("id"))
    # No term carries these MedDRA codes: the reporter's words wait for an officer.
    assert [r.verbatim for r in reactions] == ["THROMBOSE VEINEUSE PROFONDE", "COLITE ISCHEMIQUE"]
    assert all(r.coding == "pending" for r in reactions)
    assert reactions[0].seriousness == ["disability", "other_medically_important"]
    assert reactions[0].outcome == "not_recovered"
    assert reactions[0].onset_date == date(2014, 10, 10)
    assert "estimated" in report.narrative


def test_a_meddra_code_a_term_carries_finds_the_term(officer, nurse):
    Term.objects.filter(name="Nausea").update(meddra_code="10027940")
    [result] = icsr_import(
        data=(FDA / "FAERS2022Scenario1.xml").read_bytes(),
        actor=officer,
        site="St Elsewhere",
        new_drugs=True,
    )
    first = result.report.reactions.order_by("id")[0]
    assert first.term is not None
    assert first.term.name == "Nausea"
    assert first.verbatim == "THROMBOSE VEINEUSE PROFONDE"


def test_the_aggregate_report_is_refused(officer, nurse):
    with pytest.raises(ImportRefused) as refused:
        icsr_import(
            data=(FDA / "FAERS2022Scenario4.xml").read_bytes(),
            actor=officer,
            site="St Elsewhere",
            new_drugs=True,
        )
    assert "aggregate" in str(refused.value)
    assert not Report.objects.exists()


def test_an_unknown_suspect_drug_is_a_400_naming_it_with_the_closest(api, nurse, inotuzumab):
    response = post(api, (FDA / "FAERS2022Scenario1.xml").read_bytes())
    assert response.status_code == 400
    messages = " ".join(response.json()["cases"]["US-APHARMA-8744554B"])
    assert "Unknown suspect drug 'Drug A'" in messages
    assert "inotuzumab ozogamicin" in messages
    assert not Report.objects.exists()
    assert not Drug.objects.filter(name="Drug A").exists()


def test_a_further_suspect_outside_the_formulary_is_kept_by_name(api, nurse):
    # The case is filed under its first suspect, which must be a formulary drug; a further
    # suspect the formulary lacks is kept as named, as the report form and API keep it.
    Drug.objects.create(slug="drug-a", name="Drug A")
    response = post(api, (FDA / "FAERS2022Scenario1.xml").read_bytes())
    assert response.status_code == 201, response.json()
    report = Report.objects.get(pk=response.json()["reports"][0]["id"])
    assert [(d.name, d.role, d.drug_id) for d in report.other_drugs.order_by("position")] == [
        ("Drug B", "suspect", None),
        ("Drug C", "concomitant", None),
    ]
    assert not Drug.objects.filter(name="Drug B").exists()
    detail = api.get(f"/api/v1/reports/{report.pk}/").json()
    assert [(d["name"], d["drug"]) for d in detail["other_suspect_drugs"]] == [("Drug B", None)]
    assert [d["name"] for d in detail["concomitant_drugs"]] == ["Drug C"]


def test_an_interacting_drug_is_kept_with_its_role_and_written_back_as_such(officer, nurse):
    [result] = icsr_import(
        data=(FDA / "FAERS2022Scenario6.xml").read_bytes(),
        actor=officer,
        site="St Elsewhere",
        new_drugs=True,
    )
    report = result.report
    assert report.dose.startswith("unstructured dosing")
    assert (report.therapy_start, report.lot_number) == (date(2009, 1, 1), "4577BN2")
    [other] = report.other_drugs.all()
    assert (other.name, other.role, other.drug) == ("Drug B", "interacting", None)
    # Interacting drugs are not judged as suspects: one row per reaction, the first suspect's.
    assert {row.drug.name for row in SuspectReaction.objects.filter(reaction__report=report)} <= {
        "Drug A"
    }
    assert [(d.role, d.name) for d in report_drugs(report)] == [("1", "Drug A"), ("3", "Drug B")]


def test_the_api_files_a_batch_at_the_nurses_site_and_a_retry_changes_nothing(api, nurse):
    Drug.objects.create(slug="drug-a", name="Drug A")
    Drug.objects.create(slug="drug-b", name="Drug B")
    body = (FDA / "FAERS2022Scenario1.xml").read_bytes()
    response = post(api, body)
    assert response.status_code == 201, response.json()
    [row] = response.json()["reports"]
    assert row["created"] is True
    report = Report.objects.get(pk=row["id"])
    assert report.site == nurse.site and row["reference"] == report.reference
    again = post(api, body)
    assert again.status_code == 201
    assert again.json()["reports"][0] == {**row, "created": False, "action": "unchanged"}
    assert Report.objects.count() == 1


def test_a_later_c15_is_a_follow_up_and_a_nullification_voids(officer, nurse):
    body = (FDA / "FAERS2022Scenario1.xml").read_bytes()
    [first] = icsr_import(data=body, actor=officer, site="St Elsewhere", new_drugs=True)
    later = _with_c15(body, b"20230101").replace(
        b'code="3" displayName="not recovered/not resolved/ongoing"',
        b'code="1" displayName="recovered/resolved"',
    )
    [second] = icsr_import(data=later, actor=officer, site="St Elsewhere", new_drugs=True)
    report = Report.objects.get(pk=first.report.pk)
    assert (second.report.pk, second.created, second.action) == (report.pk, False, "follow_up")
    assert report.version == 2
    assert report.reactions.order_by("id")[0].outcome == "recovered"
    older = _with_c15(body, b"20200101").replace(b"COLITE", b"COLITIS")
    with pytest.raises(ImportRefused, match="not later"):
        icsr_import(data=older, actor=officer, site="St Elsewhere", new_drugs=True)
    nullified = _with_c15(later, b"20230201").replace(
        b"</investigationEvent>",
        b'<subjectOf2 typeCode="SUBJ"><investigationCharacteristic classCode="OBS" '
        b'moodCode="EVN"><code code="3" codeSystem="2.16.840.1.113883.3.989.2.1.1.23"/>'
        b'<value xsi:type="CE" code="1" codeSystem="2.16.840.1.113883.3.989.2.1.1.5"/>'
        b'</investigationCharacteristic></subjectOf2><subjectOf2 typeCode="SUBJ">'
        b'<investigationCharacteristic classCode="OBS" moodCode="EVN"><code code="4" '
        b'codeSystem="2.16.840.1.113883.3.989.2.1.1.23"/><value xsi:type="CE"><originalText>'
        b"Duplicate of another case</originalText></value></investigationCharacteristic>"
        b"</subjectOf2></investigationEvent>",
    )
    [third] = icsr_import(data=nullified, actor=officer, site="St Elsewhere", new_drugs=True)
    report.refresh_from_db()
    assert third.action == "nullified" and report.is_void
    assert "Duplicate of another case" in report.void_reason


def _c15(body: bytes) -> bytes:
    start = body.index(b'<availabilityTime value="') + len(b'<availabilityTime value="')
    return body[start : body.index(b'"', start)]


def _with_c15(body: bytes, value: bytes) -> bytes:
    return body.replace(
        b'<availabilityTime value="' + _c15(body), b'<availabilityTime value="' + value
    )


HOSTILE = {
    "malformed": (b"<MCCI_IN200100UV01 xmlns='urn:hl7-org:v3'><id>", "not well-formed"),
    "wrong root": (b"<report xmlns='urn:hl7-org:v3'/>", "root element is report"),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<MCCI_IN200100UV01 xmlns='urn:hl7-org:v3'>&x;</MCCI_IN200100UV01>",
        "external entity",
    ),
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;'
        b'&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<MCCI_IN200100UV01 xmlns='urn:hl7-org:v3'>&c;</MCCI_IN200100UV01>",
        "billion laughs",
    ),
    "empty": (b"", "empty"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_or_broken_document_is_a_400_saying_why(api, nurse, kind):
    body, says = HOSTILE[kind]
    response = post(api, body)
    assert response.status_code == 400
    assert says in str(response.json())
    assert not Report.objects.exists()


def test_a_batch_over_the_size_limit_is_a_400(api, nurse, settings):
    settings.E2B_MAX_BYTES = 1000
    response = post(api, (FDA / "FAERS2022Scenario1.xml").read_bytes())
    assert response.status_code == 400
    assert "1,000 bytes" in str(response.json())


def test_one_bad_message_keeps_the_whole_batch_out(officer, nurse):
    body = (FDA / "FAERS2022Scenario1.xml").read_bytes()
    start = body.index(b"<PORR_IN049016UV")
    end = body.index(b"</PORR_IN049016UV>") + len(b"</PORR_IN049016UV>")
    message = body[start:end]
    aggregate = message.replace(b"US-APHARMA-8744554B", b"US-APHARMA-1").replace(
        b"<name>JD</name>", b"<name>AGGREGATE</name>"
    )
    batch = body[:end] + aggregate + body[end:]
    with pytest.raises(ImportRefused) as refused:
        icsr_import(data=batch, actor=officer, site="St Elsewhere", new_drugs=True)
    assert list(refused.value.errors) == ["US-APHARMA-1"]
    assert not Report.objects.exists() and not Drug.objects.filter(name="Drug A").exists()


def test_the_command_imports_files_and_says_what_it_did(officer, nurse, capsys):
    path = str(FDA / "FAERS2022Scenario1.xml")
    call_command(
        "import_e2b", path, "--user", officer.username, "--site", "St Elsewhere", "--new-drugs"
    )
    assert "US-APHARMA-8744554B -> AE-" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command(
            "import_e2b",
            str(FDA / "FAERS2022Scenario4.xml"),
            "--user",
            officer.username,
            "--site",
            "St Elsewhere",
        )


def _cohort(inotuzumab, nurse) -> list[Report]:
    # Site terms carry no MedDRA code until MedDRA is loaded: the test gives them made-up ones.
    Term.objects.filter(name="Retinal haemorrhage").update(meddra_code="99000001")
    cohort = CohortBuilder(inotuzumab, nurse, nurse.site)
    cohort.register(6)
    cohort.report(1, Case("Thrombocytopenia", grade=2))
    cohort.report(2, Case("Febrile neutropenia", grade=3, seriousness=["hospitalization"]))
    cohort.report(
        3, Case("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]), Case("Nausea")
    )
    cohort.report(4, Case("Anaemia", grade=5, seriousness=["death"]))
    cohort.report(5, Case("Hypersensitivity", outcome="recovered"))
    return list(Report.objects.order_by("pk"))


def _content(report):
    return (
        report.patient.reference,
        report.drug_id,
        report.therapy_start,
        [
            (r.term_id, r.grade, sorted(r.seriousness), r.outcome, r.onset_date, r.end_date)
            for r in report.reactions.order_by("id")
        ],
    )


def test_our_export_of_each_cohort_report_imports_back_to_the_same_report(inotuzumab, nurse):
    for report in _cohort(inotuzumab, nurse):
        content = icsr_export(reports=[report], actor=nurse).content
        [again] = icsr_import(data=content, actor=nurse)
        assert (again.report.pk, again.created) == (report.pk, False)
        # Read as another sender's case, the same export files a report saying the same.
        foreign = content.replace(b"US-AETRACKER-", b"GB-OTHERHOSP-")
        [copy] = icsr_import(data=foreign, actor=nurse)
        assert copy.created and copy.report.pk != report.pk
        assert _content(copy.report) == _content(report)
        assert copy.report.narrative == report.narrative


def test_a_premarket_study_report_imports_and_says_so(officer, nurse):
    [result] = icsr_import(
        data=(FDA / "FAERS2022Scenario3.xml").read_bytes(),
        actor=officer,
        site="St Elsewhere",
        new_drugs=True,
    )
    assert "report from a study" in result.report.narrative


def test_a_later_version_naming_a_new_suspect_adds_it_as_a_follow_up(officer, nurse):
    body = (FDA / "FAERS2022Scenario1.xml").read_bytes()
    [first] = icsr_import(data=body, actor=officer, site="St Elsewhere", new_drugs=True)
    later = _with_c15(body, b"20230101").replace(b"<name>Drug B</name>", b"<name>Drug E</name>")
    [second] = icsr_import(data=later, actor=officer, site="St Elsewhere")
    report = Report.objects.get(pk=first.report.pk)
    assert (second.action, report.version) == ("follow_up", 2)
    drugs = [(d.name, d.role, d.added_in_version) for d in report.other_drugs.order_by("position")]
    # Drug E is outside the formulary: kept by name, beside the suspects already named.
    assert drugs == [
        ("Drug B", "suspect", 1),
        ("Drug C", "concomitant", 1),
        ("Drug E", "suspect", 2),
    ]
    assert "new suspect drug Drug E" in report.versions.get(number=2).summary
