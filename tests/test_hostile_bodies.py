"""Bodies built to break the product: each is a clear refusal, and nothing is saved."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from reports.inputs import FollowUpInput, PatientInput, ReactionInput, ReportInput
from reports.models import NARRATIVE_MAX_LENGTH, Exposure, Patient, Report
from reports.services import report_follow_up, report_submit
from reports.validation import ReportInvalid

from .factories import reaction, report_payload
from .test_reports_views import form_data

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000


def submit(user, **fields):
    api = APIClient()
    api.force_authenticate(user)
    return api.post("/api/v1/reports/", report_payload(reaction("Nausea"), **fields), format="json")


def test_deeply_nested_json_on_the_token_endpoint_is_a_400_without_signing_in():
    api = APIClient(raise_request_exception=False)
    response = api.post("/api/v1/auth/token/", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/reports/", "/api/v1/exposures/"])
def test_deeply_nested_json_is_a_400_for_an_account(nurse, path):
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(nurse)
    response = api.generic("POST", path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


def test_a_deep_field_the_report_does_not_read_is_refused_before_it_is_stored(nurse, inotuzumab):
    # Shallow enough for the parser, deep enough to break whatever walks it next (the
    # idempotency record hashes the whole body).
    body = json.dumps(report_payload(reaction("Nausea"))).rstrip("}")
    body += ', "extra": ' + "[" * 900 + "]" * 900 + "}"
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(nurse)
    response = api.post(
        "/api/v1/reports/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]
    assert Report.objects.count() == 0
    assert Exposure.objects.count() == 0


def test_ordinary_nesting_still_parses(nurse, inotuzumab):
    api = APIClient()
    api.force_authenticate(nurse)
    response = api.post("/api/v1/reports/", report_payload(reaction("Nausea")), format="json")
    assert response.status_code == 201


def exposure_csv(count: int) -> bytes:
    rows = "".join(f"PT-{i},inotuzumab-ozogamicin,2026-09-01\n" for i in range(count))
    return ("patient,drug,start_date\n" + rows).encode()


def test_an_exposure_upload_over_the_row_limit_is_refused_before_any_row_is_registered(
    client, nurse, inotuzumab, settings
):
    client.force_login(nurse)
    page = client.get("/exposures/").content.decode()
    assert f"At most {settings.EXPOSURES_MAX_ROWS:,} rows a file." in page
    upload = SimpleUploadedFile("cohort.csv", exposure_csv(20_000), content_type="text/csv")
    response = client.post("/exposures/", {"csv-file": upload})
    assert response.status_code == 200
    assert response.context["row_errors"] == [
        f"At most {settings.EXPOSURES_MAX_ROWS:,} exposures can be registered at once; "
        "this has 20,000. Split them into several uploads."
    ]
    assert Exposure.objects.count() == 0


def test_the_web_and_the_api_share_one_exposure_row_limit(client, nurse, inotuzumab, settings):
    settings.EXPOSURES_MAX_ROWS = 3
    client.force_login(nurse)
    upload = SimpleUploadedFile("cohort.csv", exposure_csv(4), content_type="text/csv")
    web = client.post("/exposures/", {"csv-file": upload}).context["row_errors"]
    api = APIClient()
    api.force_authenticate(nurse)
    rows = [{"patient": f"PT-{i}", "drug": "inotuzumab-ozogamicin"} for i in range(4)]
    refused = api.post("/api/v1/exposures/", rows, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"non_field_errors": web}
    assert "At most 3 exposures" in web[0]
    assert Exposure.objects.count() == 0
    assert api.post("/api/v1/exposures/", rows[:3], format="json").status_code == 201
    upload = SimpleUploadedFile("cohort.csv", exposure_csv(3), content_type="text/csv")
    assert client.post("/exposures/", {"csv-file": upload}).status_code == 302


def test_the_report_forms_carry_the_narrative_limit_as_maxlength(client, nurse, inotuzumab):
    client.force_login(nurse)
    page = client.get("/reports/new/").content.decode()
    assert f'maxlength="{NARRATIVE_MAX_LENGTH}"' in page
    report = Report.objects.get(pk=submit(nurse).json()["id"])
    page = client.get(f"/reports/{report.pk}/follow-up/").content.decode()
    assert f'maxlength="{NARRATIVE_MAX_LENGTH}"' in page


def test_a_two_million_character_narrative_is_refused_on_the_web_form(client, nurse, inotuzumab):
    client.force_login(nurse)
    data = form_data({"term": "Nausea"}, narrative="x" * 2_000_000)
    response = client.post("/reports/new/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["narrative"]
    assert Report.objects.count() == 0


def test_the_narrative_limit_counts_a_line_break_once_as_the_browser_does(
    client, nurse, inotuzumab
):
    client.force_login(nurse)
    narrative = "x\r\n" * (NARRATIVE_MAX_LENGTH // 2)  # as the browser sends the longest allowed
    response = client.post("/reports/new/", form_data({"term": "Nausea"}, narrative=narrative))
    assert response.status_code == 302
    assert len(Report.objects.get().narrative) == NARRATIVE_MAX_LENGTH - 1  # stripped at the end


def test_the_api_and_the_service_hold_the_same_narrative_limit(nurse, inotuzumab):
    too_long = "x" * (NARRATIVE_MAX_LENGTH + 1)
    response = submit(nurse, narrative=too_long)
    assert response.status_code == 400 and "narrative" in response.json()
    assert submit(nurse, narrative="x" * NARRATIVE_MAX_LENGTH).status_code == 201
    report = Report.objects.get()
    api = APIClient()
    api.force_authenticate(nurse)
    follow_up = api.post(
        f"/api/v1/reports/{report.pk}/follow-up/", {"narrative": too_long}, format="json"
    )
    assert follow_up.status_code == 400 and "narrative" in follow_up.json()
    # Entry points other than these two meet the same rule in the services.
    data = ReportInput(
        patient=PatientInput(reference="PT-2"),
        drug="inotuzumab-ozogamicin",
        narrative=too_long,
        reactions=[ReactionInput(term="Nausea", grade=1)],
    )
    with pytest.raises(ReportInvalid) as refused:
        report_submit(reporter=nurse, data=data)
    assert list(refused.value.errors) == ["narrative"]
    with pytest.raises(ReportInvalid) as refused:
        report_follow_up(actor=nurse, report=report, data=FollowUpInput(narrative=too_long))
    assert list(refused.value.errors) == ["narrative"]
    assert Report.objects.count() == 1


def test_a_full_exposure_upload_takes_a_few_statements_not_a_few_per_row(
    client, nurse, inotuzumab, settings, django_assert_max_num_queries
):
    settings.EXPOSURES_MAX_ROWS = 401
    client.force_login(nurse)
    # A patient a report registered joins the registered cohort; a repeated row is one exposure.
    patient = Patient.objects.create(site=nurse.site, reference="PT-0")
    Exposure.objects.create(patient=patient, drug=inotuzumab, from_report=True)
    text = exposure_csv(400) + b"PT-1,inotuzumab-ozogamicin,2026-09-01\n"
    upload = SimpleUploadedFile("cohort.csv", text, content_type="text/csv")
    with django_assert_max_num_queries(40):
        response = client.post("/exposures/", {"csv-file": upload}, follow=True)
    assert "401 rows read: 399 exposures registered, 2 already known." in response.content.decode()
    assert Exposure.objects.count() == 400
    assert not Exposure.objects.filter(from_report=True).exists()


def test_an_unknown_format_parameter_is_ignored_not_a_404(api, inotuzumab):
    response = api.get("/api/v1/terms/", {"q": "nausea", "format": "true"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()[0]["name"] == "Nausea"
