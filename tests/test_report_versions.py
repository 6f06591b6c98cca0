import pytest
from django.test import Client

from reports.history import version_differences
from reports.models import Report

from .test_report_pages16 import follow_up_data
from .test_reports_views import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


def file_report(client) -> Report:
    client.post("/reports/new/", form_data({"term": "Nausea", "causality": "possible"}))
    return Report.objects.get()


def follow_up(client, report: Report) -> None:
    """Nausea recovered, and a new reaction in the reporter's words: nosebleeds."""
    nausea = report.reactions.get(term__name="Nausea")
    data = follow_up_data(
        report,
        **{
            f"r{nausea.pk}-outcome": "recovered",
            f"r{nausea.pk}-end_date": "2026-10-15",
            "reactions-TOTAL_FORMS": "1",
            "reactions-0-term": "nosebleeds",
            "reactions-0-verbatim": "",
            "reactions-0-onset_date": "2026-10-12",
            "reactions-0-end_date": "",
            "reactions-0-grade": "2",
            "reactions-0-outcome": "recovering",
            "reactions-0-causality": "probable",
            "reactions-0-seriousness": ["hospitalization"],
        },
    )
    response = client.post(f"/reports/{report.pk}/follow-up/", data)
    assert response.status_code == 302, response.context and response.context["formset"].errors


def test_the_report_page_links_each_version(nurse_client, inotuzumab):
    report = file_report(nurse_client)
    follow_up(nurse_client, report)
    html = nurse_client.get(f"/reports/{report.pk}/").content.decode()
    assert f'<a href="/reports/{report.pk}/versions/1/">Version 1</a>' in html
    assert f'<a href="/reports/{report.pk}/versions/2/">Version 2</a>' in html


def test_a_version_reads_as_it_was_in_words(nurse_client, inotuzumab):
    report = file_report(nurse_client)
    follow_up(nurse_client, report)
    response = nurse_client.get(f"/reports/{report.pk}/versions/1/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Report {report.reference}, version 1" in html
    assert "<dt>Patient</dt><dd>PT-0100</dd>" in html
    assert "<dt>Suspect drug</dt><dd>inotuzumab ozogamicin</dd>" in html.replace(
        "Inotuzumab", "inotuzumab"
    )
    assert "<dt>Therapy start</dt><dd>1 Oct 2026</dd>" in html
    assert "<dt>Expedited report due</dt><dd>not expedited</dd>" in html
    [row] = response.context["reactions"]
    assert row["name"] == "Nausea"
    assert (row["outcome"], row["causality"], row["listedness"]) == (
        "Unknown",
        "Possible",
        "Listed",
    )
    assert row["coding"] == "Coded automatically"
    assert row["seriousness"] == "not serious"
    for raw in ("not_recovered", "'outcome'", "{&#x27;", "auto<"):
        assert raw not in html


def test_a_version_shows_what_the_follow_up_changed(nurse_client, inotuzumab):
    report = file_report(nurse_client)
    follow_up(nurse_client, report)
    response = nurse_client.get(f"/reports/{report.pk}/versions/1/")
    html = response.content.decode()
    assert "What version 2 changed" in html
    differences = response.context["differences"]
    assert "Nausea: end date not given → 15 Oct 2026; outcome Unknown → Recovered" in differences
    assert (
        "Reaction added: Epistaxis (listed; grade 2, seriousness Requires or prolongs "
        "hospitalisation, outcome Recovering, causality Probable)" in differences
    )
    assert len(differences) == 2


def test_the_latest_version_is_compared_with_the_report_as_it_reads_now(nurse_client, inotuzumab):
    report = file_report(nurse_client)
    follow_up(nurse_client, report)
    response = nurse_client.get(f"/reports/{report.pk}/versions/2/")
    assert "What changed since, in the report as it reads now" in response.content.decode()
    assert response.context["differences"] == []
    assert "Nothing: the report reads now as it did in this version." in (response.content.decode())
    assert [r["name"] for r in response.context["reactions"]] == ["Nausea", "Epistaxis"]


def test_a_void_shows_as_a_difference_from_the_latest_version(nurse_client, inotuzumab):
    report = file_report(nurse_client)
    nurse_client.post(f"/reports/{report.pk}/void/", {"reason": "Entered for the wrong patient"})
    html = nurse_client.get(f"/reports/{report.pk}/").content.decode()
    assert f'<a href="/reports/{report.pk}/versions/1/">Version 1</a>' in html
    response = nurse_client.get(f"/reports/{report.pk}/versions/1/")
    assert response.context["differences"] == [
        "Void: no → yes",
        "Reason: none → Entered for the wrong patient",
    ]


def test_a_nurse_of_another_site_gets_the_report_pages_404(
    client, nurse, other_site_nurse, inotuzumab
):
    client.force_login(nurse)
    report = file_report(client)
    client.force_login(other_site_nurse)
    report_page = client.get(f"/reports/{report.pk}/")
    version_page = client.get(f"/reports/{report.pk}/versions/1/")
    assert report_page.status_code == version_page.status_code == 404
    assert "Page not found" in version_page.content.decode()
    assert report.reference not in version_page.content.decode()


def test_officers_open_any_sites_versions_and_visitors_sign_in(client, nurse, officer, inotuzumab):
    client.force_login(nurse)
    report = file_report(client)
    assert Client().get(f"/reports/{report.pk}/versions/1/").status_code == 302
    client.force_login(officer)
    assert client.get(f"/reports/{report.pk}/versions/1/").status_code == 200


def test_an_unknown_version_number_is_a_404(nurse_client, inotuzumab):
    report = file_report(nurse_client)
    assert nurse_client.get(f"/reports/{report.pk}/versions/2/").status_code == 404
    assert nurse_client.get(f"/reports/{report.pk}/versions/0/").status_code == 404
    assert nurse_client.get(f"/reports/{report.pk + 1}/versions/1/").status_code == 404


def test_differences_word_a_coding_and_a_removed_reaction():
    before = {
        "patient": "PT-1",
        "reactions": [
            {"id": 1, "term": None, "verbatim": "wobbly", "coding": "pending", "grade": 1},
            {"id": 2, "term": "Nausea", "verbatim": "", "listedness": "listed", "grade": 1},
        ],
    }
    after = {
        "patient": "PT-1",
        "reactions": [
            {
                "id": 1,
                "term": "Dizziness",
                "verbatim": "wobbly",
                "coding": "officer",
                "listedness": "listed",
                "grade": 1,
            }
        ],
    }
    assert version_differences(before, after) == [
        "“wobbly” coded as Dizziness: coding Awaiting coding → Coded by a safety officer; "
        "on the label Awaiting coding → Listed",
        "Reaction removed: Nausea (listed; grade 1, seriousness not serious, outcome none, "
        "causality not assessed)",
    ]
