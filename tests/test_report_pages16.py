import re

import pytest

from reports.history import change_lines
from reports.models import Report

from .test_reports_views import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


def follow_up_data(report, **fields):
    unchanged = {}
    for reaction in report.reactions.all():
        unchanged[f"r{reaction.pk}-outcome"] = reaction.outcome
        unchanged[f"r{reaction.pk}-end_date"] = ""
    return {
        **unchanged,
        "narrative": "",
        "reactions-TOTAL_FORMS": "0",
        "reactions-INITIAL_FORMS": "0",
        "reactions-MIN_NUM_FORMS": "0",
        "reactions-MAX_NUM_FORMS": "50",
        **fields,
    }


# Report list filters


def test_every_report_list_filter_has_a_plain_label(nurse_client, inotuzumab):
    html = nurse_client.get("/reports/").content.decode()
    labels = re.findall(r'<label for="id_[a-z_]+">([^<]*)</label>', html)
    assert labels == [
        "Drug (name, brand or slug)",
        "Reaction",
        "Serious",
        "On the label",
        "Expedited",
        "Awaiting coding",
        "Void",
        "Duplicate",
        "Patient reference",
        "Received from",
        "Received until",
    ]
    assert "[invalid name]" not in html
    assert "Drug slug" not in html
    assert "greater than" not in html


def test_received_dates_are_date_inputs_that_keep_the_day_asked(nurse_client, inotuzumab):
    html = nurse_client.get("/reports/?received_after=2026-10-01").content.decode()
    assert re.search(r'<input type="date" name="received_after" value="2026-10-01"', html)
    assert re.search(r'<input type="date" name="received_before"', html)


def test_the_drug_filter_takes_a_name_or_a_slug(nurse_client, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    assert "1 report<" in nurse_client.get("/reports/?drug=inotuzumab+ozogamicin").content.decode()
    assert "1 report<" in nurse_client.get("/reports/?drug=inotuzumab-ozogamicin").content.decode()
    assert "0 reports<" in nurse_client.get("/reports/?drug=no-such-drug").content.decode()


def test_a_date_the_filter_cannot_read_is_an_error_on_the_page(nurse_client, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    response = nurse_client.get("/reports/?received_after=garbage")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "Received from: Enter a valid date." in html
    assert "0 reports<" in html
    assert "No report is listed until the filters marked above are corrected." in html


def test_a_date_the_filter_cannot_read_is_a_400_from_the_api(api, inotuzumab):
    response = api.get("/api/v1/reports/?received_after=garbage")
    assert response.status_code == 400
    assert response.json()["received_after"] == ["Enter a valid date."]
    assert api.get("/api/v1/reports/?received_after=2026-10-01").status_code == 200


def test_a_readable_date_filters_the_list(nurse_client, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    received = Report.objects.get().received_at.date()
    assert "1 report<" in nurse_client.get(f"/reports/?received_after={received}").content.decode()
    assert "0 reports<" in nurse_client.get("/reports/?received_before=2000-01-01").content.decode()


# Warnings


def test_a_nurse_sees_the_warnings_on_her_report_after_filing(nurse_client, inotuzumab):
    response = nurse_client.post(
        "/reports/new/",
        form_data({"term": "Nausea", "onset_date": "2026-09-20"}, therapy_start="2026-10-01"),
        follow=True,
    )
    html = response.content.decode()
    report = Report.objects.get()
    assert report.warnings
    assert "Please check the warnings below" in html
    assert "onset 2026-09-20 is before the therapy start 2026-10-01" in html
    again = nurse_client.get(f"/reports/{report.pk}/").content.decode()
    assert "onset 2026-09-20 is before the therapy start 2026-10-01" in again
    assert 'class="banner warning"' in again


def test_a_report_without_warnings_shows_no_warning_banner(nurse_client, inotuzumab):
    response = nurse_client.post("/reports/new/", form_data({"term": "Nausea"}), follow=True)
    html = response.content.decode()
    assert 'class="banner warning"' not in html
    assert "Please check the warnings" not in html


# Dates round-trip


def test_the_follow_up_form_sends_the_stored_end_date_as_iso(nurse_client, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    report = Report.objects.get()
    reaction = report.reactions.get()
    data = follow_up_data(report, **{f"r{reaction.pk}-end_date": "2026-11-12"})
    assert nurse_client.post(f"/reports/{report.pk}/follow-up/", data).status_code == 302
    html = nurse_client.get(f"/reports/{report.pk}/follow-up/").content.decode()
    assert f'name="r{reaction.pk}-end_date" value="2026-11-12"' in html
    assert "11/12/2026" not in html


def test_a_resubmitted_report_form_keeps_its_dates_as_iso(nurse_client, inotuzumab):
    response = nurse_client.post(
        "/reports/new/",
        form_data({"term": "Nausea", "onset_date": "2026-10-09"}, therapy_start="", age="130"),
    )
    html = response.content.decode()
    assert 'name="reactions-0-onset_date" value="2026-10-09"' in html


# The report page


def test_the_report_page_shows_the_causality_entered(nurse_client, inotuzumab):
    nurse_client.post(
        "/reports/new/",
        form_data({"term": "Nausea", "causality": "probable"}, {"term": "Epistaxis"}),
    )
    report = Report.objects.get()
    html = nurse_client.get(f"/reports/{report.pk}/").content.decode()
    assert '<th scope="col">Causality</th>' in html
    assert "Probable" in html
    assert "Not assessed" in html


def test_the_reporter_reads_as_a_name_and_a_qualification(nurse_client, nurse, inotuzumab):
    nurse_client.post("/reports/new/", form_data({"term": "Nausea"}))
    report = Report.objects.get()
    html = nurse_client.get(f"/reports/{report.pk}/").content.decode()
    assert f"<dd>{nurse.username} (Nurse)</dd>" in html


def test_the_history_says_what_changed_in_words(client, nurse, officer, inotuzumab):
    client.force_login(nurse)
    client.post("/reports/new/", form_data({"term": "Nausea"}, {"term": "nosebleeds"}))
    report = Report.objects.get()
    nausea = report.reactions.get(term__name="Nausea")
    data = follow_up_data(
        report,
        **{f"r{nausea.pk}-outcome": "recovered", f"r{nausea.pk}-end_date": "2026-10-15"},
    )
    assert client.post(f"/reports/{report.pk}/follow-up/", data).status_code == 302
    client.force_login(officer)
    html = client.get(f"/reports/{report.pk}/").content.decode()
    assert "Report filed" in html
    assert "Received through: Web form" in html
    assert "Reactions: Nausea (listed); Epistaxis (listed)" in html
    assert "Follow-up added" in html
    assert "Nausea (outcome Unknown → Recovered, end date none → 2026-10-15)" in html
    assert "{&#x27;" not in html
    assert "report.create" not in html


def test_change_lines_word_a_coding_a_void_and_a_duplicate_decision():
    assert change_lines(
        {
            "version": 2,
            "reactions": [
                {
                    "reaction": 1,
                    "verbatim": "wobbly",
                    "term": [None, "Dizziness"],
                    "listedness": "listed",
                }
            ],
            "expedited_due": None,
        }
    ) == ["Version: 2", "Reactions: “wobbly” coded as Dizziness (listed)"]
    assert change_lines({"is_void": [False, True], "void_reason": "entered twice"}) == [
        "Void: no → yes",
        "Reason: entered twice",
    ]
    assert change_lines(
        {"duplicate_status": ["suspected", "confirmed"], "duplicate_of": "R-1"}
    ) == [
        "Duplicate status: Suspected duplicate → Confirmed duplicate",
        "Duplicate of: R-1",
    ]


# Required fields


def test_the_report_form_marks_its_required_fields(nurse_client, inotuzumab):
    html = nurse_client.get("/reports/new/").content.decode()
    assert "Fields marked" in html
    for label in ("Patient reference", "Suspect drug", "Reaction", "CTCAE grade", "Outcome"):
        assert re.search(
            rf'>{re.escape(label)}<span class="required-mark" aria-hidden="true"> \*</span>'
            r'<span class="visually-hidden"> \(required\)</span></label>',
            html,
        ), label
    assert re.search(r">Age \(years\)</label>", html)
    assert re.search(r'name="patient_reference"[^>]*required', html)
