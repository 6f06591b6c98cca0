from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from reports.models import Exposure
from reports.services import ExposureRow, exposures_check, exposures_register
from reports.uploads import (
    column_key,
    exposure_upload_problems,
    exposure_upload_read,
    separator_of,
)
from reports.validation import ReportInvalid

pytestmark = pytest.mark.django_db

DRUG = "inotuzumab-ozogamicin"


def problems(text: str, site) -> list[str]:
    return exposure_upload_problems(exposure_upload_read(text.encode()), site)


# Reading and checking a file


def test_every_bad_line_is_listed_at_once_reading_and_content_together(nurse, inotuzumab):
    text = (
        "patient,drug,start_date,end_date,site\n"
        f"PT-1,{DRUG},2026-09-01,,\n"
        f"PT-2,{DRUG},01/09/2026,,\n"
        "PT-3,aspirinumab,2026-09-01,,\n"
        f"PT-4,{DRUG},2026-09-10,2026-09-01,\n"
        f"PT-5,{DRUG},,,\n"
        f"PT-6,{DRUG},2026-09-01,,Nowhere General\n"
    )
    assert problems(text, nurse.site) == [
        "Line 3: start_date: Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        "Line 4: Unknown drug 'aspirinumab'.",
        "Line 5: The end date 2026-09-01 is before the start date 2026-09-10.",
        "Line 6: The start date is required.",
        "Line 7: Unknown site 'Nowhere General'.",
    ]


def test_a_line_with_an_unreadable_date_still_has_its_drug_checked(nurse, inotuzumab):
    text = "patient,drug,start_date,route\nPT-1,aspirinumab,01/09/2026,teleport\n"
    found = problems(text, nurse.site)
    assert len(found) == 3
    assert found[0].startswith("Line 2: start_date: Date has wrong format.")
    assert found[1].startswith("Line 2: route: Route must be one of")
    assert found[2] == "Line 2: Unknown drug 'aspirinumab'."


def test_line_numbers_count_blank_lines_and_the_header(nurse, inotuzumab):
    text = f"patient,drug,start_date\n\nPT-1,{DRUG},2026-09-01\n\nPT-2,nothing,2026-09-01\n"
    assert problems(text, nurse.site) == ["Line 5: Unknown drug 'nothing'."]


def test_the_separator_is_the_one_the_header_line_uses():
    assert separator_of("patient;drug;start_date") == ";"
    assert separator_of("patient,drug,start_date") == ","
    assert separator_of("patient") == ","


def test_a_semicolon_file_reads_and_a_quoted_separator_stays_in_its_value(nurse, inotuzumab):
    text = 'patient;drug;start_date;dose\nPT-1;Besponsa;2026-09-01;"0,8 mg/m2; day 1"\n'
    upload = exposure_upload_read(text.encode())
    assert exposure_upload_problems(upload, nurse.site) == []
    [row] = upload.rows
    assert (row.patient, row.drug, row.start_date, row.dose) == (
        "PT-1",
        "Besponsa",
        date(2026, 9, 1),
        "0,8 mg/m2; day 1",
    )


@pytest.mark.parametrize(
    "heading", ["start_date", "Start_Date", " START_DATE ", "Start Date", "start-date"]
)
def test_headers_read_in_any_case_with_spaces_around_them(heading):
    assert column_key(heading) == "start_date"


def test_a_header_of_capitals_and_spaces_reads(nurse, inotuzumab):
    text = f" Patient ; DRUG ;Start Date ; Lot Number\nPT-1;{DRUG};2026-09-01;L-7\n"
    upload = exposure_upload_read(text.encode())
    assert exposure_upload_problems(upload, nurse.site) == []
    assert upload.rows[0].lot_number == "L-7"


def test_a_column_the_page_does_not_read_is_refused_not_ignored(nurse, inotuzumab):
    text = f"patient,drug,start_date,stop_date\nPT-1,{DRUG},2026-09-01,2026-10-01\n"
    [problem] = problems(text, nurse.site)
    assert problem.startswith(
        "Line 1: The file has column(s) this page does not read: “stop_date”."
    )
    assert "end_date" in problem


def test_a_missing_column_is_named(nurse, inotuzumab):
    assert problems("patient;drug\nPT-1;x\n", nurse.site) == [
        "Line 1: Missing column(s): start_date."
    ]


def test_a_file_with_a_header_and_no_patients_is_refused(nurse, inotuzumab):
    assert problems("patient,drug,start_date\n\n", nurse.site) == [
        "Line 1: The file has a header line but no patients."
    ]


# The service's checks


def test_a_brand_name_finds_the_drug(nurse, inotuzumab):
    rows = [ExposureRow(patient="PT-1", drug="BESPONSA", start_date=date(2026, 9, 1))]
    assert exposures_check(site=nurse.site, rows=rows, start_required=True) == {}
    [result] = exposures_register(actor=nurse, site=nurse.site, rows=rows)
    assert result.exposure.drug == inotuzumab


def test_a_missing_start_date_is_refused_where_it_is_required(nurse, inotuzumab):
    rows = [ExposureRow(patient="PT-1", drug=DRUG)]
    assert exposures_check(site=nurse.site, rows=rows, start_required=True) == {
        "0.start_date": ["The start date is required."]
    }
    # The API leaves the start date optional.
    assert exposures_check(site=nurse.site, rows=rows) == {}


def test_an_end_before_the_start_is_refused_and_nothing_is_registered(nurse, inotuzumab):
    rows = [
        ExposureRow(patient="PT-1", drug=DRUG, start_date=date(2026, 9, 1)),
        ExposureRow(
            patient="PT-2", drug=DRUG, start_date=date(2026, 9, 5), end_date=date(2026, 9, 4)
        ),
    ]
    with pytest.raises(ReportInvalid) as caught:
        exposures_register(actor=nurse, site=nurse.site, rows=rows)
    assert caught.value.errors == {
        "1.end_date": ["The end date 2026-09-04 is before the start date 2026-09-05."]
    }
    assert Exposure.objects.count() == 0


def test_a_row_naming_another_site_is_refused(nurse, other_site_nurse, inotuzumab):
    rows = [
        ExposureRow(patient="PT-1", drug=DRUG, site="St Elsewhere"),
        ExposureRow(patient="PT-2", drug=DRUG, site="mercy west"),
        ExposureRow(patient="PT-3", drug=DRUG, site="Atlantis"),
    ]
    found = exposures_check(site=nurse.site, rows=rows)
    assert "0.site" not in found
    assert found["1.site"] == [
        "The row names Mercy West, but these patients are registered for St Elsewhere: "
        "register each site's patients separately."
    ]
    assert found["2.site"] == ["Unknown site 'Atlantis'."]


# The page


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


def upload(client, text: str, name: str = "cohort.csv"):
    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post("/exposures/", {"csv-file": file}, follow=True)


def test_the_page_says_which_separators_and_headings_it_reads(nurse_client, inotuzumab):
    html = nurse_client.get("/exposures/").content.decode()
    assert "commas <code>,</code> or semicolons <code>;</code>" in html
    assert "Headers in any case" in html
    assert "<code>Start Date</code>" in html
    assert "PT-0101;Besponsa;2026-09-01;2026-10-15" in html
    assert "if any line is wrong no patient is registered" in html


def test_a_semicolon_file_with_a_brand_name_is_registered(nurse_client, nurse, inotuzumab):
    text = "Patient;Drug;Start Date;End Date\nPT-0101;Besponsa;2026-09-01;2026-10-15\n"
    response = upload(nurse_client, text)
    assert "1 row read: 1 exposure registered, 0 already known." in response.content.decode()
    exposure = Exposure.objects.get()
    assert (exposure.drug, exposure.patient.site, exposure.end_date) == (
        inotuzumab,
        nurse.site,
        date(2026, 10, 15),
    )
    assert exposure.source == "import"


def test_a_file_with_bad_lines_lists_them_all_and_registers_nothing(nurse_client, inotuzumab):
    text = (
        "patient;drug;start_date\n"
        "PT-1;Besponsa;2026-09-01\n"
        "PT-2;Besponsa;\n"
        "PT-3;aspirinumab;2026-13-01\n"
    )
    response = upload(nurse_client, text)
    html = response.content.decode()
    assert response.context["row_errors"] == [
        "Line 3: The start date is required.",
        "Line 4: start_date: Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        "Line 4: Unknown drug 'aspirinumab'.",
    ]
    assert "Nothing was registered: correct the lines listed below" in html
    assert Exposure.objects.count() == 0


def test_the_one_patient_form_requires_a_start_date_and_keeps_the_end(nurse_client, inotuzumab):
    data = {"one-patient": "PT-9", "one-drug": DRUG, "one-start_date": ""}
    response = nurse_client.post("/exposures/", data)
    assert response.status_code == 200
    assert response.context["single"].errors["start_date"] == ["This field is required."]
    data |= {"one-start_date": "2026-09-05", "one-end_date": "2026-09-01"}
    response = nurse_client.post("/exposures/", data)
    assert response.context["single"].errors["end_date"] == [
        "The end date 2026-09-01 is before the start date 2026-09-05."
    ]
    assert 'value="PT-9"' in response.content.decode()
    assert Exposure.objects.count() == 0


def test_the_api_takes_an_end_date_and_refuses_one_before_the_start(nurse, inotuzumab):
    api = APIClient()
    api.force_authenticate(nurse)
    row = {"patient": "PT-1", "drug": DRUG, "start_date": "2026-09-05", "end_date": "2026-09-01"}
    refused = api.post("/api/v1/exposures/", row, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "end_date": ["The end date 2026-09-01 is before the start date 2026-09-05."]
    }
    row["end_date"] = "2026-10-01"
    answer = api.post("/api/v1/exposures/", row, format="json")
    assert answer.status_code == 201
    assert answer.json()["end_date"] == "2026-10-01"
