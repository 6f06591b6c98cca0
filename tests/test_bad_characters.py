"""NUL characters and over-long values at every door: a clear error naming the place, never
a database error. PostgreSQL refuses NUL in text and enforces varchar lengths, SQLite does
neither, so these run on both and check the refusal itself; the PostgreSQL runs also show
nothing reaches the database."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.services import account_create_or_update
from reference.models import CtcaeCriteria, Label
from reference.services import EntryInput, LabelImportError, label_import
from reports.models import Exposure, Report
from spontaneous.models import CaseReport

from .factories import reaction, report_payload
from .spontaneous_data import run_import, write_csv

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def officer_api(officer) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(officer)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/drugs/%00/",
        "/api/v1/drugs/%00/label/",
        "/api/v1/terms/?q=%00",
        "/api/v1/terms/?q=nau%00sea",
        "/api/v1/reports/?drug=%00",
        "/api/v1/signals/?term=%00",
    ],
)
def test_a_nul_in_an_api_path_or_query_is_a_400_in_json(officer_api, path):
    response = officer_api.get(path)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/reports/?drug=%00", "/terms/?q=%00", "/drugs/%00/"])
def test_a_nul_in_a_page_address_is_a_plain_400(client, officer, path):
    client.force_login(officer)
    response = client.get(path)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"NUL" in response.content


def test_a_raw_nul_in_the_query_string_is_a_400(officer_api):
    response = officer_api.get("/api/v1/terms/", QUERY_STRING="q=a\x00b")
    assert response.status_code == 400


def test_an_ordinary_address_is_untouched(officer_api, inotuzumab):
    assert officer_api.get("/api/v1/drugs/inotuzumab-ozogamicin/").status_code == 200
    assert officer_api.get("/api/v1/terms/?q=100%25").status_code == 200


def test_a_nul_in_a_report_body_is_a_400_naming_the_field(api, inotuzumab):
    body = report_payload(reaction("Nau\x00sea", verbatim="sick\x00"), narrative="a\x00b")
    response = api.post("/api/v1/reports/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "narrative" in errors and "reactions" in errors
    assert not Report.objects.exists()


def test_a_nul_in_a_form_field_is_a_form_error(client, nurse, inotuzumab):
    client.force_login(nurse)
    for field, value in (("one-patient", "PT\x00-1"), ("one-drug", "\x00")):
        form = {"one-patient": "PT-1", "one-drug": inotuzumab.slug, field: value}
        response = client.post("/exposures/", form)
        assert response.status_code == 200
        assert "Null characters are not allowed" in response.content.decode()
    assert not Exposure.objects.exists()


def test_a_nul_in_an_import_reports_cell_names_its_line(tmp_path):
    rows = [("1", "Examplumab", "Nausea"), ("2", "Examplumab", "Head\x00ache")]
    path = write_csv(tmp_path / "nul.csv", rows)
    with pytest.raises(CommandError) as caught:
        run_import(path)
    assert "line 3: a cell holds a NUL character" in str(caught.value)
    assert not CaseReport.objects.exists()


def test_an_import_reports_source_longer_than_its_column_is_refused(tmp_path):
    path = write_csv(tmp_path / "s.csv", [("1", "Examplumab", "Nausea")])
    with pytest.raises(CommandError) as caught:
        run_import(path, "--source", "s" * 101)
    assert "the source is longer than 100 characters" in str(caught.value)
    assert not CaseReport.objects.exists()
    run_import(path, "--source", "s" * 100)
    assert CaseReport.objects.get().source.name == "s" * 100


def test_a_nul_in_an_exposure_upload_names_its_row(client, nurse, inotuzumab):
    client.force_login(nurse)
    body = (
        "patient,drug,start_date\n"
        "PT-1,inotuzumab-ozogamicin,2026-09-01\n"
        "PT-2,inotuzumab-ozogamicin,2026-09-01\x00\n"
    )
    upload = SimpleUploadedFile("x.csv", body.encode(), content_type="text/csv")
    response = client.post("/exposures/", {"csv-file": upload})
    assert response.status_code == 200
    assert "Line 3: a cell holds a NUL character" in response.content.decode()
    assert not Exposure.objects.exists()


def test_a_nul_in_a_label_is_refused_with_its_line(inotuzumab):
    labels = Label.objects.count()
    entries = [EntryInput(verbatim="Nau\x00sea", section="professional", line_no=4)]
    with pytest.raises(LabelImportError) as caught:
        label_import(drug_name="Nulumab", entries=entries, source="test")
    assert "line 4: the name holds a NUL character" in str(caught.value)
    assert Label.objects.count() == labels


def test_import_label_refuses_a_source_longer_than_its_column(tmp_path):
    path = tmp_path / "label.txt"
    path.write_text("For Healthcare Professionals\nCommon (1% to 10%): Nausea\n")
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_label", str(path), "--drug", "Longsourcumab", "--source", "s" * 301,
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    assert "the source is longer than 300 characters" in str(caught.value)
    assert not Label.objects.filter(drug__name="Longsourcumab").exists()


def test_an_account_with_a_site_or_username_too_long_is_refused():
    with pytest.raises(CommandError, match="site name is longer than 200"):
        call_command("create_account", "n1", "--role", Role.NURSE, "--site", "s" * 201)
    with pytest.raises(CommandError, match="username is longer than 150"):
        call_command("create_account", "u" * 151, "--role", Role.NURSE)
    user, _, _ = account_create_or_update(username="u" * 150, role=Role.NURSE, site_name="s" * 200)
    assert user.site is not None and len(user.site.name) == 200


def test_two_sites_whose_long_names_begin_alike_stay_two_sites():
    first = "Regional University Hospital of the North, Department of Clinical Oncology, Ward A"
    second = first[:-1] + "B"
    one, _, _ = account_create_or_update(username="n1", role=Role.NURSE, site_name=first)
    two, _, _ = account_create_or_update(username="n2", role=Role.NURSE, site_name=second)
    again, _, _ = account_create_or_update(username="n3", role=Role.NURSE, site_name=second)
    assert one.site is not None and two.site is not None
    assert one.site != two.site
    assert (one.site.name, two.site.name) == (first, second)
    assert again.site == two.site
    assert len(two.site.code) <= 64


def test_import_ctcae_refuses_a_nul_cell_or_an_over_long_term_with_its_line(tmp_path):
    sample = (DATA / "ctcae_sample.csv").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        sample
        + "10028813,Gastrointestinal disorders,Nausea,Loss of appetite\x00,b,c,d,e,f,,\n"
        + "10028813,Gastrointestinal disorders,Nausea"
        + "." * 200
        + ",a,b,c,d,e,f,,\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ctcae", str(bad), stdout=io.StringIO(), stderr=err)
    assert "line 5: a cell holds a NUL character" in err.getvalue()
    assert "line 6: the CTCAE term is longer than 200 characters" in err.getvalue()
    assert not CtcaeCriteria.objects.exists()
