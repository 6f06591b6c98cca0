"""Follow-ups, voids, duplicates and exposures, through the API and the services."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditEntry
from reports.models import Exposure, Patient, Report, ReportVersion

from .conftest import need_service
from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db


def submit(api, *reactions, **extra):
    response = api.post("/api/v1/reports/", report_payload(*reactions, **extra), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_follow_up_updates_outcomes_adds_reactions_and_keeps_the_old_version(
    api, nurse, inotuzumab
):
    report = submit(api, reaction("Nausea", outcome="not_recovered"))
    [first] = report["reactions"]
    response = api.post(
        f"/api/v1/reports/{report['id']}/follow-up/",
        {
            "updates": [
                {"reaction_id": first["id"], "outcome": "recovered", "end_date": "2026-10-20"}
            ],
            "new_reactions": [
                reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"])
            ],
            "narrative": "Seen again in clinic.",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 2
    assert body["reactions"][0]["outcome"] == "recovered"
    assert body["reactions"][1]["listedness"] == "unlisted"
    assert body["reactions"][1]["added_in_version"] == 2
    assert body["expedited"] is True
    assert "Seen again in clinic." in body["narrative"]
    versions = ReportVersion.objects.filter(report_id=report["id"]).order_by("number")
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].content["reactions"][0]["outcome"] == "not_recovered"
    assert AuditEntry.objects.filter(target_id=report["id"], action="report.follow_up").exists()


def test_a_follow_up_with_nothing_new_is_refused(api, inotuzumab):
    report = submit(api)
    response = api.post(f"/api/v1/reports/{report['id']}/follow-up/", {}, format="json")
    assert response.status_code == 400
    assert "report" in response.json()


def test_a_follow_up_cannot_end_a_reaction_before_its_onset(api, inotuzumab):
    report = submit(api, reaction("Nausea", onset_date="2026-10-09"))
    rid = report["reactions"][0]["id"]
    response = api.post(
        f"/api/v1/reports/{report['id']}/follow-up/",
        {"updates": [{"reaction_id": rid, "end_date": "2026-10-01"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "end_date" in response.json()["updates"]["0"]


def test_a_void_report_is_kept_with_its_reason_and_audited(api, nurse, inotuzumab):
    report = submit(api)
    refused = api.post(f"/api/v1/reports/{report['id']}/void/", {"reason": ""}, format="json")
    assert refused.status_code == 400
    response = api.post(
        f"/api/v1/reports/{report['id']}/void/", {"reason": "Wrong patient"}, format="json"
    )
    assert response.status_code == 200
    stored = Report.objects.get(pk=report["id"])
    assert stored.is_void and stored.void_reason == "Wrong patient" and stored.voided_by == nurse
    assert AuditEntry.objects.filter(target_id=stored.pk, action="report.void").exists()
    assert api.get(f"/api/v1/reports/{report['id']}/").json()["is_void"] is True


def test_a_matching_reaction_within_3_days_flags_a_suspected_duplicate(api, inotuzumab):
    first = submit(api, reaction("Nausea", onset_date="2026-10-09"))
    second = submit(api, reaction("feeling sick", onset_date="2026-10-11"))
    assert (second["duplicate_status"], second["duplicate_of"]) == ("suspected", first["reference"])
    later = submit(api, reaction("Nausea", onset_date="2026-10-20"))
    assert later["duplicate_status"] == ""
    other_patient = submit(api, reaction("Nausea", onset_date="2026-10-09"), patient="PT-9")
    assert other_patient["duplicate_status"] == ""
    assert Report.objects.count() == 4


def test_an_officer_decides_on_a_duplicate_and_the_decision_is_audited(api, officer, inotuzumab):
    submit(api, reaction("Nausea"))
    second = submit(api, reaction("Nausea"))
    nurse_try = api.post(
        f"/api/v1/reports/{second['id']}/duplicate-decision/",
        {"duplicate": True, "comment": "same"},
        format="json",
    )
    assert nurse_try.status_code == 403
    client = APIClient()
    client.force_authenticate(officer)
    response = client.post(
        f"/api/v1/reports/{second['id']}/duplicate-decision/",
        {"duplicate": True, "comment": "Same event sent twice"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["duplicate_status"] == "confirmed"
    entry = AuditEntry.objects.get(target_id=second["id"], action="report.duplicate_decision")
    assert entry.actor == officer and entry.comment == "Same event sent twice"


def test_exposures_single_and_bulk_and_again(api, nurse, inotuzumab):
    one = api.post(
        "/api/v1/exposures/",
        {"patient": "PT-50", "drug": "inotuzumab-ozogamicin", "start_date": "2026-09-01"},
        format="json",
    )
    assert one.status_code == 201
    assert one.json()["site"] == nurse.site.code
    again = api.post(
        "/api/v1/exposures/",
        {"patient": "PT-50", "drug": "inotuzumab ozogamicin", "start_date": "2026-09-05"},
        format="json",
    )
    assert again.status_code == 200
    assert again.json()["id"] == one.json()["id"]
    assert again.json()["start_date"] == "2026-09-01"
    bulk = api.post(
        "/api/v1/exposures/",
        [
            {"patient": f"PT-{i}", "drug": "inotuzumab-ozogamicin", "start_date": "2026-09-01"}
            for i in range(60, 70)
        ],
        format="json",
    )
    assert bulk.status_code == 201
    assert len(bulk.json()) == 10
    assert Exposure.objects.count() == 11


def test_a_bulk_exposure_with_a_bad_row_registers_nothing(api, inotuzumab):
    response = api.post(
        "/api/v1/exposures/",
        [
            {"patient": "PT-1", "drug": "inotuzumab-ozogamicin"},
            {"patient": "Jane Doe", "drug": "inotuzumab-ozogamicin"},
            {"patient": "PT-3", "drug": "nope"},
        ],
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors[0] == {}
    assert "patient" in errors[1]
    assert "drug" in errors[2]
    assert Exposure.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_report(nurse, inotuzumab):
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    body = report_payload(reaction("Nausea"))
    answers: list[tuple[int, int]] = []
    barrier = threading.Barrier(6)

    def retry() -> None:
        client = APIClient()
        client.force_authenticate(nurse)
        barrier.wait()
        response = client.post(
            "/api/v1/reports/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )
        answers.append((response.status_code, response.json().get("id")))
        connection.close()

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in answers} == {201}
    assert len({report_id for _, report_id in answers}) == 1
    assert Report.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_for_one_new_patient_share_one_patient(nurse, inotuzumab):
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    answers: list[int] = []
    barrier = threading.Barrier(6)

    def report(n: int) -> None:
        client = APIClient()
        client.force_authenticate(nurse)
        body = report_payload(reaction("Nausea", onset_date=f"2026-10-{10 + 3 * n:02d}"))
        barrier.wait()
        answers.append(client.post("/api/v1/reports/", body, format="json").status_code)
        connection.close()

    threads = [threading.Thread(target=report, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [201] * 6
    assert Patient.objects.count() == 1
    assert Report.objects.values("patient").distinct().count() == 1


def test_a_patients_details_given_again_replace_and_those_left_out_stay(nurse):
    from reports.services import patient_get_or_create

    patient_get_or_create(
        site=nurse.site, reference="PT-UP", age=50, sex="female", weight_kg=Decimal("70.5")
    )
    patient, created = patient_get_or_create(site=nurse.site, reference="PT-UP", age=51)
    assert not created
    patient.refresh_from_db()
    assert (patient.age, patient.sex, patient.weight_kg) == (51, "female", Decimal("70.5"))


def test_dates_before_1900_are_refused_not_a_500(api, inotuzumab):
    submit(api, reaction("Nausea"))
    response = api.post(
        "/api/v1/reports/",
        report_payload(reaction("Nausea", onset_date="0001-01-02")),
        format="json",
    )
    assert response.status_code == 400
    assert "onset_date" in response.json()["reactions"]["0"]


def test_a_bad_exposure_route_or_long_dose_is_a_row_error(api, inotuzumab):
    response = api.post(
        "/api/v1/exposures/",
        [{"patient": "PT-1", "drug": "inotuzumab-ozogamicin", "dose": "x" * 101}],
        format="json",
    )
    assert response.status_code == 400
    assert Exposure.objects.count() == 0


def test_a_new_label_version_and_a_renamed_drug_reach_the_next_report(api, inotuzumab):
    """Each process keeps the drugs it has looked up; a change to a drug or label is seen
    at the next report."""
    from reference.models import Label

    first = submit(api, reaction("Nausea"), patient="PT-L1")
    label = Label.objects.get(drug=inotuzumab, is_current=True)
    # Retire the current version without a signal, then save the next one.
    Label.objects.filter(pk=label.pk).update(is_current=False)
    Label.objects.create(drug=inotuzumab, version=label.version + 1, source="test", fingerprint="x")
    second = submit(api, reaction("Nausea"), patient="PT-L2")
    assert (first["label_version"], second["label_version"]) == (label.version, label.version + 1)
    # The new version has no entries yet: nothing on it is listed.
    assert second["reactions"][0]["listedness"] == "unlisted"

    inotuzumab.name = "Inotuzumab renamed"
    inotuzumab.save()
    third = submit(api, reaction("Nausea"), patient="PT-L3", drug="Inotuzumab renamed")
    assert third["drug_name"] == "Inotuzumab renamed"
    old_name = api.post(
        "/api/v1/reports/",
        report_payload(reaction("Nausea"), patient="PT-L4", drug="inotuzumab ozogamicin"),
        format="json",
    )
    assert old_name.status_code == 400 and "drug" in old_name.json()


def test_a_first_report_for_a_patient_is_no_duplicate_and_a_second_one_is_checked(api, nurse):
    from reports.services import patient_get_or_create

    _, created = patient_get_or_create(site=nurse.site, reference="PT-NEW-1")
    _, again = patient_get_or_create(site=nurse.site, reference="PT-NEW-1")
    assert (created, again) == (True, False)
    first = submit(api, reaction("Nausea", onset_date="2026-10-10"), patient="PT-D1")
    second = submit(api, reaction("Nausea", onset_date="2026-10-11"), patient="PT-D1")
    assert (first["duplicate_status"], second["duplicate_status"]) == ("", "suspected")


def test_listeners_hear_of_a_report_once_its_transaction_commits(
    api, inotuzumab, django_capture_on_commit_callbacks
):
    from reports.signals import report_committed

    heard: list[int] = []

    def listener(sender, report, **kwargs):
        heard.append(report.pk)

    report_committed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            report = submit(api)
        assert heard == []  # not before the commit
        for callback in callbacks:
            callback()
        assert heard == [report["id"]]
        refused = api.post(f"/api/v1/reports/{report['id']}/void/", {"reason": ""}, format="json")
        assert refused.status_code == 400
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"/api/v1/reports/{report['id']}/void/", {"reason": "Wrong"}, format="json")
        # The refused void changed nothing and told nobody; the void did.
        assert heard == [report["id"], report["id"]]
    finally:
        report_committed.disconnect(listener)
