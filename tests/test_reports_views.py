import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from reports.models import Exposure, Report

pytestmark = pytest.mark.django_db


def form_data(*reactions, **fields):
    data = {
        "patient_reference": "PT-0100",
        "age": "61",
        "sex": "male",
        "weight_kg": "",
        "drug": "inotuzumab-ozogamicin",
        "therapy_start": "2026-10-01",
        "therapy_end": "",
        "dose": "0.8 mg/m2",
        "route": "intravenous",
        "lot_number": "",
        "reporter_qualification": "nurse",
        "narrative": "",
        "reactions-TOTAL_FORMS": str(len(reactions)),
        "reactions-INITIAL_FORMS": "0",
        "reactions-MIN_NUM_FORMS": "1",
        "reactions-MAX_NUM_FORMS": "50",
        **fields,
    }
    for i, r in enumerate(reactions):
        row = {
            "term": "",
            "verbatim": "",
            "onset_date": "2026-10-09",
            "end_date": "",
            "grade": "1",
            "outcome": "unknown",
            "causality": "",
            **r,
        }
        for key, value in row.items():
            if key == "seriousness":
                data[f"reactions-{i}-{key}"] = value
            else:
                data[f"reactions-{i}-{key}"] = value
    return data


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


def test_the_form_page_shows_the_patient_drug_and_a_reaction_row(nurse_client, inotuzumab):
    html = nurse_client.get("/reports/new/").content.decode()
    assert 'name="patient_reference"' in html
    assert 'name="reactions-0-term"' in html
    assert 'id="reaction-template"' in html
    assert 'value="inotuzumab-ozogamicin" selected' in html


def test_filing_a_report_shows_the_case_number_listedness_and_due_date(nurse_client, inotuzumab):
    response = nurse_client.post(
        "/reports/new/",
        form_data(
            {"term": "nosebleeds"},
            {"term": "coughing up blood", "grade": "3", "seriousness": ["hospitalization"]},
        ),
        follow=True,
    )
    html = response.content.decode()
    report = Report.objects.get()
    assert response.redirect_chain[-1][0] == f"/reports/{report.pk}/"
    assert f"Report {report.reference}" in html
    assert '<span class="pill listed">Listed</span>' in html
    # The label entry is named only when it is not the reaction's own term.
    assert "label entry: Epistaxis" not in html
    assert "Haemoptysis is not listed for inotuzumab ozogamicin" in html
    assert f"Expedited report due {report.expedited_due:%-d %B %Y}" in html
    assert report.source == "web"


def test_a_failed_submit_keeps_every_field_and_puts_errors_beside_them(nurse_client, inotuzumab):
    response = nurse_client.post(
        "/reports/new/",
        form_data(
            {"term": "nosebleeds", "verbatim": "nose kept bleeding"},
            {
                "term": "thrombocytopnia",
                "grade": "5",
                "outcome": "recovered",
                "onset_date": "2099-01-01",
            },
            narrative="Patient felt unwell after the second dose.",
            age="130",
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert Report.objects.count() == 0
    assert 'value="PT-0100"' in html
    assert 'value="nose kept bleeding"' in html
    assert 'value="thrombocytopnia"' in html
    assert "Patient felt unwell after the second dose." in html
    assert "Ensure this value is less than or equal to 120." in html


def test_domain_errors_go_beside_their_reaction_row(nurse_client, inotuzumab):
    response = nurse_client.post(
        "/reports/new/",
        form_data(
            {"term": "nosebleeds"},
            {"term": "thrombocytopnia", "grade": "5", "outcome": "recovered"},
        ),
    )
    form = response.context["formset"].forms[1]
    # Words that name no term are no error on the form: they are the nurse's words.
    assert "term" not in form.errors
    assert "outcome must be fatal" in form.errors["outcome"][0]
    assert not response.context["formset"].forms[0].errors


def test_words_no_term_matches_are_filed_for_an_officer_to_code(nurse_client, inotuzumab):
    response = nurse_client.post(
        "/reports/new/",
        form_data({"term": "Nausea"}, {"term": "went all wobbly and strange", "grade": "2"}),
        follow=True,
    )
    report = Report.objects.get()
    first, second = report.reactions.order_by("id")
    assert (str(first.term), first.coding) == ("Nausea", "auto")
    assert (second.term, second.coding, second.verbatim) == (
        None,
        "pending",
        "went all wobbly and strange",
    )
    html = response.content.decode()
    assert "a safety officer will code" in html
    assert "went all wobbly and strange" in html


def test_a_removed_row_is_not_submitted(nurse_client, inotuzumab):
    data = form_data({"term": "Nausea"}, {"term": "garbage that would fail", "DELETE": "on"})
    response = nurse_client.post("/reports/new/", data)
    assert response.status_code == 302
    assert [str(r.term) for r in Report.objects.get().reactions.all()] == ["Nausea"]


def test_the_list_searches_and_filters_our_sites_reports(nurse_client, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    nurse_client.post(
        "/reports/new/",
        form_data(
            {"term": "Retinal haemorrhage", "grade": "3", "seriousness": ["hospitalization"]},
            patient_reference="PT-0200",
        ),
    )
    html = nurse_client.get("/reports/").content.decode()
    assert "2 reports" in html
    assert "1 report<" in nurse_client.get("/reports/?listedness=unlisted").content.decode()
    assert "1 report<" in nurse_client.get("/reports/?q=PT-0200").content.decode()
    assert "1 report<" in nurse_client.get("/reports/?q=feeling+sick").content.decode()
    assert "1 report<" in nurse_client.get("/reports/?expedited=true").content.decode()


def test_a_follow_up_from_the_web_makes_version_2(nurse_client, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    report = Report.objects.get()
    reaction = report.reactions.get()
    data = {
        f"r{reaction.pk}-outcome": "recovered",
        f"r{reaction.pk}-end_date": "2026-10-15",
        "narrative": "Recovered at home.",
        "reactions-TOTAL_FORMS": "1",
        "reactions-INITIAL_FORMS": "0",
        "reactions-MIN_NUM_FORMS": "0",
        "reactions-MAX_NUM_FORMS": "50",
        "reactions-0-term": "",
        "reactions-0-outcome": "unknown",
        "reactions-0-grade": "",
    }
    response = nurse_client.post(f"/reports/{report.pk}/follow-up/", data)
    assert response.status_code == 302, response.context and response.context["narrative"].errors
    report.refresh_from_db()
    assert report.version == 2
    assert report.reactions.get().outcome == "recovered"


def test_officers_see_the_history_nurses_do_not(client, nurse, officer, inotuzumab):
    client.force_login(nurse)
    client.post("/reports/new/", form_data({"term": "Nausea"}))
    report = Report.objects.get()
    assert "<h2>History</h2>" not in client.get(f"/reports/{report.pk}/").content.decode()
    client.force_login(officer)
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert "<h2>History</h2>" in html
    assert "Report filed" in html


def test_voiding_from_the_page_keeps_the_report(nurse_client, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    report = Report.objects.get()
    nurse_client.post(f"/reports/{report.pk}/void/", {"reason": "Entered for the wrong patient"})
    report.refresh_from_db()
    assert report.is_void
    assert AuditEntry.objects.filter(action="report.void", target_id=report.pk).exists()


class TestExposureUpload:
    def upload(self, client, text):
        file = SimpleUploadedFile("cohort.csv", text.encode(), content_type="text/csv")
        return client.post("/exposures/", {"csv-file": file})

    def test_a_good_file_registers_every_row(self, nurse_client, inotuzumab):
        text = (
            "patient,drug,start_date\n"
            "PT-1,inotuzumab-ozogamicin,2026-09-01\n"
            "PT-2,inotuzumab ozogamicin,2026-09-02\n"
        )
        response = self.upload(nurse_client, text)
        assert response.status_code == 302
        assert Exposure.objects.count() == 2

    def test_a_bad_row_registers_nothing_and_every_bad_row_is_listed(
        self, nurse_client, inotuzumab
    ):
        text = (
            "patient,drug,start_date\n"
            "PT-1,inotuzumab-ozogamicin,2026-09-01\n"
            "PT-2,inotuzumab-ozogamicin,01/09/2026\n"
            "PT-3,aspirinumab,2026-09-01\n"
            ",inotuzumab-ozogamicin,2026-09-01\n"
        )
        response = self.upload(nurse_client, text)
        assert response.status_code == 200
        errors = response.context["row_errors"]
        assert any(e.startswith("Line 3:") and "YYYY-MM-DD" in e for e in errors)
        assert any(e.startswith("Line 5:") for e in errors)
        assert Exposure.objects.count() == 0
        response = self.upload(
            nurse_client, "patient,drug,start_date\nPT-3,aspirinumab,2026-09-01\n"
        )
        assert response.context["row_errors"] == ["Line 2: Unknown drug 'aspirinumab'."]

    def test_extra_fields_and_bad_routes_are_row_errors(self, nurse_client, inotuzumab):
        text = (
            "patient,drug,start_date,route\n"
            "PT-1,inotuzumab-ozogamicin,2026-09-01,intravenous,surplus\n"
            "PT-2,inotuzumab-ozogamicin,2026-09-01,teleport\n"
        )
        response = self.upload(nurse_client, text)
        assert response.status_code == 200
        # Every bad row is listed at once: the route is checked with the rest of the row.
        assert response.context["row_errors"] == [
            "Line 2: More fields than the header names (5 for 4 columns): if a value holds the "
            "separator, put it in double quotes.",
            "Line 3: route: Route must be one of intravenous, subcutaneous, intramuscular, oral, "
            "other.",
        ]
        response = self.upload(
            nurse_client,
            "patient,drug,start_date,route\nPT-2,inotuzumab-ozogamicin,2026-09-01,teleport\n",
        )
        assert "Route must be one of" in response.context["row_errors"][0]
        assert Exposure.objects.count() == 0

    def test_a_bad_row_gets_the_messages_the_api_gives(self, nurse_client, nurse, inotuzumab):
        from rest_framework.test import APIClient

        api = APIClient()
        api.force_authenticate(nurse)
        row = {"patient": "", "drug": "inotuzumab-ozogamicin", "start_date": "01/09/2026"}
        row |= {"route": "teleport", "dose": "x" * 101}
        answer = api.post("/api/v1/exposures/", [row], format="json")
        assert answer.status_code == 400
        # The API keys a list's row errors by the row's index.
        expected = [f"Line 2: {f}: {m}" for f, msgs in answer.json()["0"].items() for m in msgs]
        assert len(expected) == 4
        response = self.upload(nurse_client, ",".join(row) + "\n" + ",".join(row.values()) + "\n")
        assert sorted(response.context["row_errors"]) == sorted(expected)
        assert Exposure.objects.count() == 0

    def test_a_file_without_the_columns_is_refused(self, nurse_client, inotuzumab):
        response = self.upload(nurse_client, "name,medicine\nJane,x\n")
        assert "Missing column(s)" in response.context["row_errors"][0]
        assert Exposure.objects.count() == 0

    def test_one_exposure_by_form(self, nurse_client, nurse, inotuzumab):
        response = nurse_client.post(
            "/exposures/",
            {
                "one-patient": "PT-9",
                "one-drug": "inotuzumab-ozogamicin",
                "one-start_date": "2026-09-01",
            },
        )
        assert response.status_code == 302
        assert Exposure.objects.get().patient.site == nurse.site


def test_a_stray_carriage_return_in_the_header_is_a_clear_error(client, nurse, inotuzumab):
    client.force_login(nurse)
    upload = SimpleUploadedFile("x.csv", b"patient,dr\rug,start_date\nPT-1,x,2026-09-01\n")
    response = client.post("/exposures/", {"csv-file": upload})
    assert response.status_code == 200
    assert response.context["row_errors"]
    assert Exposure.objects.count() == 0
