"""Reports leave as ICH E2B(R3) ICSRs: every mandatory element, checked before it leaves,
audited, follow-ups under the same C.1.1 and voids as nullifications."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from lxml import etree
from rest_framework.test import APIClient

from audit.models import AuditEntry
from e2b.builder import Message, build_batch
from e2b.rules import check_batch
from e2b.services import ExportBlocked, icsr_export, latest_information
from reports.inputs import FollowUpInput
from reports.models import Reaction
from reports.services import report_follow_up, report_void

from .e2b_helpers import NS, file_report, first, meddra_version, reaction, xml  # noqa: F401

pytestmark = pytest.mark.django_db

IE = "//h:investigationEvent"


def test_an_expedited_case_exports_with_no_rule_broken(api, nurse, inotuzumab):
    report = file_report(nurse)
    assert report.expedited
    response = api.get(f"/api/v1/reports/{report.pk}/e2b/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert "attachment" in response["Content-Disposition"]
    root = xml(response.content)
    assert etree.QName(root).localname == "MCCI_IN200100UV01"
    assert len(root.findall("h:PORR_IN049016UV", NS)) == 1
    assert check_batch(root) == []
    c11 = f"US-AETRACKER-{report.reference}"
    assert first(root, f"{IE}/h:id[@root='2.16.840.1.113883.3.989.2.1.3.1']/@extension") == c11
    assert first(root, f"{IE}/h:id[@root='2.16.840.1.113883.3.989.2.1.3.2']/@extension") == c11
    assert first(root, "//h:player1/h:name/text()") == "P-100"
    assert first(root, "//h:player1/h:administrativeGenderCode/@code") == "2"
    assert first(root, "//h:observation[h:code/@code='3']/h:value/@value") == "54"
    assert first(root, "//h:observation[h:code/@code='3']/h:value/@unit") == "a"
    rx = "//h:observation[h:code/@code='29']"
    assert first(root, f"{rx}/h:value/@code") == "10047656"
    assert first(root, f"{rx}/h:value/@codeSystemVersion") == "27.0"
    assert first(root, f"{rx}/h:value/h:originalText/text()") == "bleeding into the eye"
    assert first(root, f"{rx}/h:value/h:originalText/@language") == "eng"
    hospital = f"{rx}/h:outboundRelationship2/h:observation[h:code/@code='33']/h:value/@value"
    assert first(root, hospital) == "true"
    death = f"{rx}/h:outboundRelationship2/h:observation[h:code/@code='34']/h:value/@nullFlavor"
    assert first(root, death) == "NI"
    outcome = f"{rx}/h:outboundRelationship2/h:observation[h:code/@code='27']/h:value/@code"
    assert first(root, outcome) == "2"
    assert first(root, "//h:kindOfProduct/h:name/text()") == "inotuzumab ozogamicin"
    assert first(root, "//h:causalityAssessment[h:code/@code='20']/h:value/@code") == "1"
    assert first(root, "//h:causalityAssessment[h:code/@code='39']/h:value/text()") == "Probable"
    assert first(root, "//h:doseQuantity/@unit") == "mg/m2"
    assert first(root, "//h:routeCode/h:originalText/text()") == "Intravenous"
    assert first(root, "//h:lotNumberText/text()") == "LOT-42"
    narrative = first(root, f"{IE}/h:text/text()")
    assert "Seen on the ward" in narrative
    assert "- Reaction 1 (Vitreous haemorrhage): grade 3" in narrative
    expedited = "//h:observationEvent[h:code/@code='23']/h:value/@value"
    assert first(root, expedited) == "true"
    assert first(root, "//h:observationEvent[h:code/@code='C54588']/h:value/@code") == "1"
    assert first(root, "/h:MCCI_IN200100UV01/h:receiver/h:device/h:id/@extension") == "ZZFDA"
    assert first(root, "//h:PORR_IN049016UV/h:receiver/h:device/h:id/@extension") == "CDER"
    assert not root.xpath("//h:investigationCharacteristic[h:code/@code='3']", namespaces=NS)


def test_each_export_is_audited_and_the_report_page_says_when(client, api, nurse, inotuzumab):
    report = file_report(nurse)
    client.force_login(nurse)
    assert "Not yet exported as an ICSR" in client.get(f"/reports/{report.pk}/").text
    api.get(f"/api/v1/reports/{report.pk}/e2b/")
    entry = AuditEntry.objects.get(action="report.e2b_export", target_id=report.pk)
    assert entry.actor == nurse
    assert entry.changes["version"] == 1
    assert entry.changes["file"].startswith(report.reference)
    page = client.get(f"/reports/{report.pk}/").text
    assert "Last exported as an ICSR" in page


def test_the_download_button_gives_the_file(client, nurse, inotuzumab):
    report = file_report(nurse)
    client.force_login(nurse)
    page = client.get(f"/reports/{report.pk}/").text
    assert reverse("report-e2b-download", args=[report.pk]) in page
    response = client.get(reverse("report-e2b-download", args=[report.pk]))
    assert response.status_code == 200
    assert b"PORR_IN049016UV" in response.content


def test_a_nurse_of_another_site_cannot_export_the_report(other_site_nurse, nurse, inotuzumab):
    report = file_report(nurse)
    client = APIClient()
    client.force_authenticate(other_site_nurse)
    assert client.get(f"/api/v1/reports/{report.pk}/e2b/").status_code == 404


def test_a_term_without_a_meddra_code_blocks_the_export_and_says_how(
    api, client, nurse, inotuzumab
):
    report = file_report(
        nurse,
        reaction(
            "Retinal haemorrhage",
            "bleeding at the back of the eye",
            3,
            seriousness=["hospitalization"],
        ),
        reaction("Nausea", grade=1),
    )
    response = api.get(f"/api/v1/reports/{report.pk}/e2b/")
    assert response.status_code == 409
    problems = response.json()["problems"]
    assert len(problems) == 1
    assert problems[0]["rule"] == "E2B-01"
    assert "Retinal haemorrhage" in problems[0]["message"]
    assert "import_meddra" in problems[0]["message"]
    assert "admin" in problems[0]["message"]
    assert not AuditEntry.objects.filter(action="report.e2b_export").exists()
    client.force_login(nurse)
    page = client.get(reverse("report-e2b-download", args=[report.pk]), follow=True).text
    assert "Retinal haemorrhage" in page and "was not exported" in page


def test_words_awaiting_coding_block_the_export(api, nurse, inotuzumab):
    report = file_report(nurse, reaction(verbatim="legs felt like jelly on the stairs", grade=2))
    response = api.get(f"/api/v1/reports/{report.pk}/e2b/")
    assert response.status_code == 409
    assert "awaits coding" in response.json()["problems"][0]["message"]


def test_a_follow_up_exports_under_the_same_case_id(nurse, inotuzumab):
    report = file_report(nurse)
    first_export = xml(icsr_export(reports=[report], actor=nurse).content)
    report_follow_up(actor=nurse, report=report, data=FollowUpInput(narrative="Recovered."))
    report.refresh_from_db()
    again = xml(icsr_export(reports=[report], actor=nurse).content)
    c11 = f"{IE}/h:id[@root='2.16.840.1.113883.3.989.2.1.3.1']/@extension"
    assert first(again, c11) == first(first_export, c11)
    c15 = f"{IE}/h:availabilityTime/@value"
    assert first(again, c15) >= first(first_export, c15)
    assert not again.xpath("//h:investigationCharacteristic[h:code/@code='3']", namespaces=NS)
    versions = AuditEntry.objects.filter(action="report.e2b_export").values_list(
        "changes__version", flat=True
    )
    assert sorted(versions) == [1, 2]


def test_a_void_case_sent_before_leaves_as_a_nullification(nurse, inotuzumab):
    report = file_report(nurse)
    icsr_export(reports=[report], actor=nurse)
    report_void(actor=nurse, report=report, reason="Entered for the wrong patient")
    report.refresh_from_db()
    root = xml(icsr_export(reports=[report], actor=nurse).content)
    code = "//h:investigationCharacteristic[h:code/@code='3']/h:value/@code"
    reason = "//h:investigationCharacteristic[h:code/@code='4']/h:value/h:originalText/text()"
    assert first(root, code) == "1"
    assert first(root, reason) == "Entered for the wrong patient"
    assert latest_information(report) == report.voided_at.date()


def test_a_void_case_never_sent_is_not_exported(nurse, inotuzumab):
    report = file_report(nurse)
    report_void(actor=nurse, report=report, reason="duplicate")
    report.refresh_from_db()
    with pytest.raises(ExportBlocked) as blocked:
        icsr_export(reports=[report], actor=nurse)
    assert "R0101" in str(blocked.value)


def _message(nurse):
    report = file_report(nurse)
    return report, build_batch([Message(report, latest_information(report))])


def _rules(root, **kwargs):
    return {p.rule.number for p in check_batch(root, **kwargs)}


def test_the_rules_catch_a_future_date(nurse, inotuzumab):
    _, root = _message(nurse)
    root.xpath(f"{IE}/h:availabilityTime", namespaces=NS)[0].set("value", "29990101")
    problems = check_batch(root)
    assert [p.rule.number for p in problems] == ["E2B-04"]
    assert "C.1.5 contains a future date" in str(problems[0])


def test_the_rules_catch_an_imprecise_date_and_a_missing_element(nurse, inotuzumab):
    _, root = _message(nurse)
    root.xpath(f"{IE}/h:effectiveTime/h:low", namespaces=NS)[0].set("value", "202601")
    name = root.xpath("//h:player1/h:name", namespaces=NS)[0]
    name.text = None
    problems = {str(p) for p in check_batch(root)}
    assert any("[E2B-05]" in p and "C.1.4" in p and "CCYYMMDD" in p for p in problems)
    assert any("[E2B-01]" in p and "D.1" in p for p in problems)


def test_the_rules_pair_age_and_unit_and_hold_one_meddra_version(nurse, inotuzumab):
    _, root = _message(nurse)
    age = root.xpath("//h:observation[h:code/@code='3']/h:value", namespaces=NS)[0]
    del age.attrib["unit"]
    root.xpath("//h:observation[h:code/@code='29']/h:value", namespaces=NS)[0].set(
        "codeSystemVersion", "26.1"
    )
    history = root.xpath("//h:organizer[h:code/@code='1']", namespaces=NS)[0]
    extra = etree.SubElement(history, "{urn:hl7-org:v3}value")
    extra.set("codeSystem", "2.16.840.1.113883.6.163")
    extra.set("codeSystemVersion", "27.0")
    problems = [p for p in check_batch(root)]
    assert any(p.rule.number == "E2B-06" and "R0029" in str(p) for p in problems)
    assert any(p.rule.number == "E2B-07" and "26.1, 27.0" in p.message for p in problems)


def test_the_rules_check_lengths_codes_and_the_case_id(nurse, inotuzumab):
    _, root = _message(nurse)
    root.xpath("//h:lotNumberText", namespaces=NS)[0].text = "L" * 36
    root.xpath("//h:administrativeGenderCode", namespaces=NS)[0].set("code", "9")
    for ident in root.xpath(f"{IE}/h:id", namespaces=NS):
        ident.set("extension", "not a case id")
    numbers = _rules(root)
    assert {"E2B-02", "E2B-03", "E2B-08"} <= numbers


def test_a_nullification_may_not_be_a_first_transmission(nurse, inotuzumab):
    report = file_report(nurse)
    root = build_batch([Message(report, latest_information(report), nullification="dup")])
    c11 = f"US-AETRACKER-{report.reference}"
    assert "E2B-11" in _rules(root, first_transmissions={c11})
    assert "E2B-11" not in _rules(root)


def test_schema_validation_runs_when_a_schema_folder_is_set(nurse, inotuzumab, settings, tmp_path):
    settings.E2B_SCHEMA_DIR = str(tmp_path)
    _, root = _message(nurse)
    assert "E2B-17" in _rules(root)
    (tmp_path / "MCCI_IN200100UV01.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="urn:hl7-org:v3"><xs:element name="other"/></xs:schema>'
    )
    problems = [p for p in check_batch(root) if p.rule.number == "E2B-17"]
    assert problems and "MCCI_IN200100UV01" in problems[0].message


def test_the_command_writes_one_batch_of_the_expedited_cases(nurse, inotuzumab, tmp_path):
    one = file_report(nurse, reference="P-1")
    two = file_report(nurse, reference="P-2")
    out = tmp_path / "batch.xml"
    call_command("export_e2b", str(out), "--expedited")
    root = etree.parse(str(out)).getroot()
    assert len(root.findall("h:PORR_IN049016UV", NS)) == 2
    assert AuditEntry.objects.filter(action="report.e2b_export").count() == 2
    names = [str(n) for n in root.xpath("//h:player1/h:name/text()", namespaces=NS)]  # type: ignore[union-attr]
    assert sorted(names) == ["P-1", "P-2"]
    c11s = {first(m, "h:id/@extension") for m in root.findall("h:PORR_IN049016UV", NS)}
    assert c11s == {f"US-AETRACKER-{one.reference}", f"US-AETRACKER-{two.reference}"}


def test_the_command_exits_non_zero_when_a_rule_is_broken(nurse, inotuzumab, tmp_path):
    report = file_report(nurse, reaction("Retinal haemorrhage", grade=2))
    out = tmp_path / "batch.xml"
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("export_e2b", str(out), "--report", report.reference)
    assert not out.exists()


def test_officers_download_the_expedited_cases_as_one_batch(client, officer, nurse, inotuzumab):
    file_report(nurse, reference="P-1")
    client.force_login(officer)
    page = client.get(reverse("expedited-due")).text
    assert reverse("expedited-due-e2b") in page
    response = client.get(reverse("expedited-due-e2b"))
    assert response.status_code == 200
    assert b"PORR_IN049016UV" in response.content
    client.force_login(nurse)
    assert client.get(reverse("expedited-due-e2b")).status_code == 403


def test_with_no_meddra_version_known_the_export_says_how_to_give_one(
    api, nurse, inotuzumab, settings
):
    settings.E2B_MEDDRA_VERSION = ""
    report = file_report(nurse)
    response = api.get(f"/api/v1/reports/{report.pk}/e2b/")
    assert response.status_code == 409
    messages = [p["message"] for p in response.json()["problems"]]
    assert any("import_meddra" in m and "E2B_MEDDRA_VERSION" in m for m in messages)


def test_a_term_coded_by_the_meddra_import_exports_its_llt_code(api, nurse, inotuzumab):
    report = file_report(nurse)
    term = Reaction.objects.get(report=report).term
    assert term is not None
    term.meddra_llt_code = "10099999"
    term.save(update_fields=["meddra_llt_code"])
    root = xml(api.get(f"/api/v1/reports/{report.pk}/e2b/").content)
    assert first(root, "//h:observation[h:code/@code='29']/h:value/@code") == "10099999"
