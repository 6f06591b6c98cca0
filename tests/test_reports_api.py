import re
from datetime import date, timedelta

import pytest
from rest_framework.test import APIClient

from accounts.services import account_create_or_update
from audit.models import AuditEntry
from reports.models import Exposure, Patient, Reaction, Report, ReportVersion

from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"


def post(api, body, **headers):
    return api.post(URL, body, format="json", **headers)


class TestSubmit:
    def test_a_report_gets_a_case_number_and_each_reaction_its_listedness(self, api, inotuzumab):
        response = post(
            api,
            report_payload(
                reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]),
                reaction("nosebleeds"),
            ),
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert re.fullmatch(r"AE-\d{4}-\d{6}", body["reference"])
        assert [(r["term"], r["listedness"]) for r in body["reactions"]] == [
            ("Retinal haemorrhage", "unlisted"),
            ("Epistaxis", "listed"),
        ]
        assert body["reactions"][1]["listed_by"] == "Epistaxis"
        assert body["reactions"][0]["soc"] == "Eye disorders"
        assert body["reactions"][0]["serious"] is True
        assert body["label_version"] == 1

    def test_serious_and_unlisted_is_expedited_within_15_days_of_receipt(self, api, inotuzumab):
        body = post(
            api,
            report_payload(reaction("Retinal haemorrhage", grade=3, seriousness=["disability"])),
        ).json()
        received = date.fromisoformat(body["received_at"][:10])
        assert body["expedited"] is True
        assert body["expedited_due"] == str(received + timedelta(days=15))

    def test_serious_but_listed_or_unlisted_but_not_serious_is_not_expedited(self, api, inotuzumab):
        listed = post(
            api, report_payload(reaction("Thrombocytopenia", seriousness=["death"], grade=5))
        )
        mild = post(api, report_payload(reaction("Retinal haemorrhage"), patient="PT-0002"))
        assert listed.json()["expedited"] is False
        assert mild.json()["expedited"] is False
        assert mild.json()["expedited_due"] is None

    def test_cases_are_numbered_in_sequence(self, api, inotuzumab):
        first = post(api, report_payload(patient="PT-1")).json()["reference"]
        second = post(api, report_payload(patient="PT-2")).json()["reference"]
        assert int(second[-6:]) == int(first[-6:]) + 1

    def test_grade_5_makes_the_outcome_fatal_and_the_case_a_death(self, api, inotuzumab):
        body = post(api, report_payload(reaction("Febrile neutropenia", grade=5))).json()
        [r] = body["reactions"]
        assert r["outcome"] == "fatal"
        assert "death" in r["seriousness"]

    def test_the_patient_and_the_exposure_are_registered(self, api, nurse, inotuzumab):
        post(api, report_payload(patient="PT-77"))
        patient = Patient.objects.get(reference="PT-77")
        assert patient.site == nurse.site
        exposure = Exposure.objects.get(patient=patient, drug=inotuzumab)
        assert exposure.start_date == date(2026, 10, 1)
        post(api, report_payload(reaction("Headache"), patient="PT-77"))
        assert Exposure.objects.filter(patient=patient).count() == 1

    def test_a_create_writes_a_version_and_an_audit_entry(self, api, nurse, inotuzumab):
        body = post(api, report_payload()).json()
        report = Report.objects.get(pk=body["id"])
        assert ReportVersion.objects.filter(report=report, number=1).exists()
        entry = AuditEntry.objects.get(target_type="report", target_id=report.pk)
        assert (entry.actor, entry.action) == (nurse, "report.create")
        assert entry.changes["reactions"] == [
            {"term": "Nausea", "verbatim": "Nausea", "coding": "auto", "listedness": "listed"}
        ]

    def test_warnings_are_accepted_and_kept(self, api, inotuzumab):
        body = post(
            api,
            report_payload(
                reaction("Nausea", onset_date="2026-09-20"),
                therapy_start="2026-10-01",
            ),
        ).json()
        assert len(body["warnings"]) == 1
        assert "before the therapy start" in body["warnings"][0]
        late = post(
            api,
            report_payload(reaction("Nausea", onset_date="2026-10-09"), therapy_start="2025-09-01"),
        ).json()
        assert "more than a year after" in late["warnings"][0]


class TestValidation:
    def test_a_missing_minimum_case_names_every_missing_part(self, api, inotuzumab):
        response = post(api, {})
        assert response.status_code == 400
        assert set(response.json()) == {"patient", "drug", "reactions"}

    def test_no_reaction_is_refused(self, api, inotuzumab):
        response = post(api, report_payload() | {"reactions": []})
        assert response.status_code == 400
        assert "reactions" in response.json()

    def test_an_unknown_term_suggests_the_closest(self, api, inotuzumab):
        response = post(api, report_payload(reaction("thrombocytopnia")))
        assert response.status_code == 400
        [message] = response.json()["reactions"]["0"]["term"]
        assert "Closest terms: Thrombocytopenia" in message

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            ({"onset_date": "2099-01-01"}, "onset_date"),
            ({"onset_date": "2026-10-09", "end_date": "2026-10-01"}, "end_date"),
            ({"grade": 6}, "grade"),
            ({"grade": 0}, "grade"),
            ({"grade": 5, "outcome": "recovered"}, "outcome"),
            ({"seriousness": ["bored"]}, "seriousness"),
        ],
    )
    def test_reaction_errors_are_keyed_by_field(self, api, inotuzumab, change, where):
        response = post(api, report_payload(reaction("Nausea", **change)))
        assert response.status_code == 400
        assert where in response.json()["reactions"]["0"]

    def test_patient_and_drug_errors(self, api, inotuzumab):
        assert (
            "age"
            in post(api, report_payload() | {"patient": {"reference": "P1", "age": 121}}).json()[
                "patient"
            ]
        )
        named = post(api, report_payload() | {"patient": {"reference": "Jane Doe"}})
        assert "never a name" in named.json()["patient"]["reference"][0]
        unknown = post(api, report_payload() | {"drug": "aspirinumab"})
        assert "Unknown drug" in unknown.json()["drug"][0]
        future = post(api, report_payload() | {"therapy_start": "2099-01-01"})
        assert "therapy_start" in future.json()

    def test_a_refused_report_leaves_nothing_behind(self, api, inotuzumab):
        post(api, report_payload(reaction("Nausea"), reaction("no such thing")))
        assert Report.objects.count() == 0
        assert Patient.objects.count() == 0
        assert AuditEntry.objects.count() == 0

    def test_malformed_values_are_400_not_500(self, api, inotuzumab):
        for body in [
            report_payload() | {"reactions": "nausea"},
            report_payload() | {"patient": "PT-1"},
            report_payload(reaction("Nausea", onset_date="yesterday")),
            report_payload(reaction("Nausea", grade="three")),
            [1, 2, 3],
        ]:
            assert post(api, body).status_code == 400, body


class TestIdempotency:
    def test_the_same_key_and_body_return_the_first_report(self, api, inotuzumab):
        body = report_payload()
        first = post(api, body, HTTP_IDEMPOTENCY_KEY="abc-1")
        again = post(api, body, HTTP_IDEMPOTENCY_KEY="abc-1")
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again["Idempotent-Replayed"] == "true"
        assert Report.objects.count() == 1

    def test_the_same_key_with_another_body_is_a_409(self, api, inotuzumab):
        post(api, report_payload(), HTTP_IDEMPOTENCY_KEY="abc-2")
        response = post(api, report_payload(reaction("Headache")), HTTP_IDEMPOTENCY_KEY="abc-2")
        assert response.status_code == 409
        assert Report.objects.count() == 1

    def test_keys_belong_to_one_account(self, api, officer, inotuzumab):
        post(api, report_payload(), HTTP_IDEMPOTENCY_KEY="shared")
        other = APIClient()
        other.force_authenticate(officer)
        response = post(other, report_payload(site="st-elsewhere"), HTTP_IDEMPOTENCY_KEY="shared")
        assert response.status_code == 201
        assert Report.objects.count() == 2

    def test_a_retry_after_the_nurse_moved_site_is_a_409_that_says_why(
        self, api, nurse, inotuzumab
    ):
        body = report_payload()
        first = post(api, body, HTTP_IDEMPOTENCY_KEY="moved-1")
        account_create_or_update(username=nurse.username, role="nurse", site_name="Mercy West")
        nurse.refresh_from_db()
        again = post(api, body, HTTP_IDEMPOTENCY_KEY="moved-1")
        assert again.status_code == 409
        [message] = again.json()["Idempotency-Key"]
        assert first.json()["reference"] in message
        assert "no longer sees" in message
        assert Report.objects.count() == 1

    def test_a_retry_after_the_nurse_moved_back_replays_the_report(self, api, nurse, inotuzumab):
        body = report_payload()
        first = post(api, body, HTTP_IDEMPOTENCY_KEY="moved-2")
        account_create_or_update(username=nurse.username, role="nurse", site_name="Mercy West")
        account_create_or_update(username=nurse.username, role="nurse", site_name="St Elsewhere")
        nurse.refresh_from_db()
        again = post(api, body, HTTP_IDEMPOTENCY_KEY="moved-2")
        assert again.status_code == 201
        assert again.json()["id"] == first.json()["id"]


class TestReading:
    def test_filters(self, api, inotuzumab):
        post(
            api,
            report_payload(
                reaction("Retinal haemorrhage", grade=3, seriousness=["hospitalization"])
            ),
        )
        post(api, report_payload(reaction("Nausea"), patient="PT-2"))

        def count(**params):
            return api.get(URL, params).json()["count"]

        assert count() == 2
        assert count(listedness="unlisted") == 1
        assert count(serious="true") == 1
        assert count(serious="false") == 1
        assert count(expedited="true") == 1
        assert count(term="retinal hemorrhage") == 1
        assert count(term="feeling sick") == 1
        assert count(drug="inotuzumab-ozogamicin") == 2
        assert count(drug="other") == 0

    def test_list_queries_do_not_grow_with_the_reports(
        self, api, inotuzumab, django_assert_max_num_queries
    ):
        for i in range(6):
            post(api, report_payload(reaction("Nausea"), reaction("Headache"), patient=f"PT-{i}"))
        with django_assert_max_num_queries(8):
            assert api.get(URL).json()["count"] == 6


def test_submission_queries_do_not_grow_with_the_reactions(
    api, inotuzumab, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    one = report_payload(reaction("Nausea"), patient="PT-A")
    many = report_payload(
        *[
            reaction(t)
            for t in [
                "Nausea",
                "Headache",
                "Epistaxis",
                "Retinal haemorrhage",
                "pneumonia",
                "Fatigue",
            ]
        ],
        patient="PT-B",
    )
    post(api, report_payload(patient="PT-warmup"))
    with CaptureQueriesContext(connection) as few_queries:
        assert post(api, one).status_code == 201
    with CaptureQueriesContext(connection) as many_queries:
        assert post(api, many).status_code == 201
    assert len(many_queries.captured_queries) == len(few_queries.captured_queries)
    assert Reaction.objects.filter(report__patient__reference="PT-B").count() == 6
