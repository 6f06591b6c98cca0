"""One drug look-up at every door: a drug's brand name works wherever a drug is named."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from reference.selectors import drug_find
from reports.models import Exposure, Report
from surveillance.models import DetectionRun, Signal

from .cohort import Case, worked_scenario
from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db

BRAND = "BESPONSA"  # the seed drug's brand name, in another case


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    "name", ["inotuzumab-ozogamicin", "Inotuzumab Ozogamicin", "besponsa", " Besponsa "]
)
def test_every_name_of_a_drug_finds_it(inotuzumab, name):
    assert drug_find(name) == inotuzumab


def test_an_unknown_name_finds_nothing(inotuzumab):
    assert drug_find("Nonexistumab") is None
    assert drug_find("  ") is None


def test_a_report_names_its_drug_by_brand(nurse, inotuzumab):
    response = client_for(nurse).post(
        "/api/v1/reports/", report_payload(reaction("Nausea"), drug=BRAND), format="json"
    )
    assert response.status_code == 201, response.content
    assert Report.objects.get(pk=response.json()["id"]).drug == inotuzumab


def test_an_exposure_names_its_drug_by_brand(nurse, inotuzumab):
    response = client_for(nurse).post(
        "/api/v1/exposures/", {"patient": "PT-B1", "drug": BRAND}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Exposure.objects.get(patient__reference="PT-B1").drug == inotuzumab


def test_an_exposure_upload_names_its_drug_by_brand(nurse, inotuzumab):
    client = Client()
    client.force_login(nurse)
    text = f"patient,drug,start_date\nPT-B2,{BRAND},2026-09-01\nPT-B3,besponsa,2026-09-02\n"
    upload = SimpleUploadedFile("exposures.csv", text.encode())
    response = client.post("/exposures/", {"csv-file": upload})
    assert response.status_code in {200, 302}
    registered = Exposure.objects.filter(patient__reference__in=["PT-B2", "PT-B3"])
    assert sorted(e.drug_id for e in registered) == [inotuzumab.pk, inotuzumab.pk]


def test_a_run_names_its_drug_by_brand(officer, inotuzumab):
    response = client_for(officer).post("/api/v1/signal-runs/", {"drug": BRAND}, format="json")
    assert response.status_code == 202, response.content
    assert DetectionRun.objects.get(pk=response.json()["id"]).drug == inotuzumab


def test_the_command_line_names_its_drug_by_brand(nurse, inotuzumab):
    worked_scenario(inotuzumab, nurse, nurse.site)
    call_command("detect_signals", "--drug", BRAND, stdout=io.StringIO())
    assert DetectionRun.objects.get().drug == inotuzumab
    assert Signal.objects.filter(drug=inotuzumab).exists()


def test_report_and_signal_lists_filter_by_brand(nurse, officer, inotuzumab):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    cohort.report(196, Case("Alopecia"))
    call_command("detect_signals", stdout=io.StringIO())
    api = client_for(officer)
    reports = api.get("/api/v1/reports/", {"drug": BRAND}).json()
    assert reports["count"] == Report.objects.filter(drug=inotuzumab).count() > 0
    signals = api.get("/api/v1/signals/", {"drug": BRAND}).json()
    assert signals["count"] == Signal.objects.filter(drug=inotuzumab).count() > 0
    assert api.get("/api/v1/reports/", {"drug": "Nonexistumab"}).json()["count"] == 0
