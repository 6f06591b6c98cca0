"""Verbatim first: the reporter's words are always accepted; what the coder cannot code waits
for an officer, whose decision codes every reaction with those words and teaches the
terminology."""

from datetime import date, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEntry
from reference.models import TermName
from reports.models import Reaction, Report, ReportVersion
from surveillance.models import DetectionRun, Signal

from .factories import report_payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"
CODING = "/api/v1/coding/"
# Words no coder can be confident of: they await an officer.
ODD = "went all wobbly and strange"


def words(verbatim, **extra):
    return {"verbatim": verbatim, "onset_date": "2026-10-09", "grade": 1, **extra}


@pytest.fixture
def officer_api(officer) -> APIClient:
    client = APIClient()
    client.force_authenticate(officer)
    return client


def file(api, *reactions, patient="PT-0001"):
    response = api.post(URL, report_payload(*reactions, patient=patient), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


class TestIntake:
    def test_words_the_coder_cannot_code_are_accepted_as_pending(self, api, inotuzumab):
        body = file(api, words(ODD, grade=3, seriousness=["hospitalization"]))
        [reaction] = body["reactions"]
        assert (reaction["coding"], reaction["term"], reaction["listedness"]) == (
            "pending",
            None,
            None,
        )
        assert reaction["verbatim"] == ODD
        # Not expedited until coded: only a coded reaction can be unlisted.
        assert body["expedited"] is False
        stored = Reaction.objects.get()
        assert stored.counted is False and stored.term is None

    def test_words_naming_a_term_are_coded_automatically(self, api, inotuzumab):
        body = file(api, words("nosebleeds"))
        [reaction] = body["reactions"]
        assert (reaction["coding"], reaction["term"], reaction["listedness"]) == (
            "auto",
            "Epistaxis",
            "listed",
        )
        assert Reaction.objects.get().counted is True

    def test_a_term_given_is_the_reporters_and_must_name_one(self, api, inotuzumab):
        body = file(api, {"term": "Nausea", "verbatim": "felt queasy", "grade": 1})
        assert body["reactions"][0]["coding"] == "auto"
        assert body["reactions"][0]["verbatim"] == "felt queasy"
        response = api.post(URL, report_payload({"term": ODD, "grade": 1}), format="json")
        assert response.status_code == 400
        assert "Unknown term" in response.json()["reactions"]["0"]["term"][0]

    def test_a_reaction_with_neither_term_nor_words_is_refused(self, api, inotuzumab):
        response = api.post(URL, report_payload({"grade": 1}), format="json")
        assert response.status_code == 400
        assert "verbatim" in response.json()["reactions"]["0"]["term"][0]


class TestQueue:
    def test_nurses_cannot_see_or_use_the_queue(self, api, inotuzumab):
        assert api.get(CODING).status_code == 403
        assert api.post(CODING, {"verbatim": ODD, "term": "Headache"}).status_code == 403

    def test_pending_words_are_grouped_by_their_normalised_form(self, api, officer_api, inotuzumab):
        file(api, words(ODD, grade=3, seriousness=["hospitalization"]))
        file(api, words("Went all  WOBBLY and strange"), patient="PT-0002")
        file(api, words("nosebleeds"), patient="PT-0003")
        queue = officer_api.get(CODING).json()
        assert len(queue) == 1
        [group] = queue
        assert group["reactions"] == 2
        assert group["serious"] == 1
        assert group["drugs"] == ["inotuzumab ozogamicin"]
        assert len(group["reports"]) == 2
        assert sorted(group["writings"]) == sorted([ODD, "Went all  WOBBLY and strange"])

    def test_coding_codes_every_reaction_with_the_words_and_learns_them(
        self, api, officer, officer_api, inotuzumab
    ):
        first = file(api, words(ODD, grade=3, seriousness=["hospitalization"]))
        second = file(api, words(ODD.upper()), patient="PT-0002")
        response = officer_api.post(CODING, {"verbatim": ODD, "term": "Headache"}, format="json")
        assert response.status_code == 200, response.json()
        result = response.json()
        assert result["term"] == "Headache"
        assert result["reactions"] == 2
        assert result["learned"] == ODD

        for body in (first, second):
            report = Report.objects.get(pk=body["id"])
            [reaction] = report.reactions.all()
            assert str(reaction.term) == "Headache"
            assert (reaction.coding, reaction.coded_by) == ("officer", officer)
            assert reaction.counted is True
            assert reaction.listedness == "listed"  # Headache is on the label
            assert report.version == 2
            assert ReportVersion.objects.filter(report=report, number=2).exists()
            assert AuditEntry.objects.filter(
                target_type="report", target_id=report.pk, action="reaction.code"
            ).exists()
        learned = TermName.objects.get(kind="learned")
        assert (str(learned.term), learned.added_by, learned.shipped) == (
            "Headache",
            officer,
            False,
        )
        assert officer_api.get(CODING).json() == []

        # The terminology learned the words: the search finds them first, and the next
        # report saying them is coded automatically.
        found = officer_api.get("/api/v1/terms/", {"q": ODD}).json()
        assert found[0]["name"] == "Headache"
        later = file(api, words("went all wobbly and strange"), patient="PT-0003")
        assert (later["reactions"][0]["coding"], later["reactions"][0]["term"]) == (
            "auto",
            "Headache",
        )

    def test_a_serious_unlisted_coding_is_due_15_days_from_receipt(
        self, api, officer_api, inotuzumab
    ):
        body = file(api, words(ODD, grade=3, seriousness=["hospitalization"]))
        Report.objects.filter(pk=body["id"]).update(
            received_at=Report.objects.get(pk=body["id"]).received_at - timedelta(days=4)
        )
        officer_api.post(CODING, {"verbatim": ODD, "term": "Retinal haemorrhage"}, format="json")
        report = Report.objects.get(pk=body["id"])
        assert report.expedited is True
        received = report.received_at.date()
        assert report.expedited_due == received + timedelta(days=15)
        assert report.expedited_due < date.today() + timedelta(days=15)

    def test_bad_decisions_are_400s_that_say_why(self, api, officer_api, inotuzumab):
        file(api, words(ODD))
        unknown = officer_api.post(CODING, {"verbatim": ODD, "term": "zzqx"}, format="json")
        assert unknown.status_code == 400
        assert "Unknown term" in unknown.json()["term"][0]
        group = officer_api.post(CODING, {"verbatim": ODD, "term": "Haemorrhage"}, format="json")
        assert group.status_code == 400
        assert "is a group" in group.json()["term"][0]
        none = officer_api.post(CODING, {"verbatim": "never said", "term": "Nausea"}, format="json")
        assert none.status_code == 400
        assert "No reaction or label wording awaits coding" in none.json()["verbatim"][0]
        assert Reaction.objects.get().coding == "pending"


class TestRecode:
    def test_an_officer_recodes_a_reaction_as_a_new_version(self, api, officer_api, inotuzumab):
        body = file(api, words("nosebleeds", grade=3, seriousness=["hospitalization"]))
        reaction_id = body["reactions"][0]["id"]
        response = officer_api.post(
            f"{URL}{body['id']}/recode/",
            {"reaction_id": reaction_id, "term": "Retinal haemorrhage", "comment": "eye, not nose"},
            format="json",
        )
        assert response.status_code == 200, response.json()
        recoded = response.json()
        assert recoded["version"] == 2
        assert (recoded["reactions"][0]["term"], recoded["reactions"][0]["coding"]) == (
            "Retinal haemorrhage",
            "officer",
        )
        assert recoded["reactions"][0]["listedness"] == "unlisted"
        assert recoded["expedited"] is True
        entry = AuditEntry.objects.get(action="reaction.recode")
        assert entry.changes["reactions"][0]["term"] == ["Epistaxis", "Retinal haemorrhage"]
        assert entry.comment == "eye, not nose"
        # Recoding one case teaches nothing.
        assert not TermName.objects.filter(kind="learned").exists()

    def test_nurses_cannot_recode(self, api, inotuzumab):
        body = file(api, words("nosebleeds"))
        response = api.post(
            f"{URL}{body['id']}/recode/",
            {"reaction_id": body["reactions"][0]["id"], "term": "Nausea"},
            format="json",
        )
        assert response.status_code == 403


class TestPages:
    @pytest.fixture
    def officer_web(self, officer):
        client = Client()
        client.force_login(officer)
        return client

    def test_the_queue_page_codes_words_with_one_click(self, api, officer_web, inotuzumab):
        report = file(api, words(ODD, grade=3, seriousness=["hospitalization"]))
        page = officer_web.get("/coding/")
        html = page.content.decode()
        assert page.status_code == 200
        assert f"“{ODD}”" in html and "1 serious" in html

        wrong = officer_web.post("/coding/", {"verbatim": ODD, "other": "zzqx"})
        assert wrong.status_code == 400
        assert "Unknown term" in wrong.content.decode()
        assert 'value="zzqx"' in wrong.content.decode()  # what was typed is kept

        done = officer_web.post("/coding/", {"verbatim": ODD, "term": "Headache"}, follow=True)
        assert "Coded 1 reaction" in done.content.decode()
        assert "Nothing awaits coding." in done.content.decode()
        assert str(Report.objects.get(pk=report["id"]).reactions.get().term) == "Headache"

    def test_the_report_page_and_list_show_what_awaits_coding(
        self, api, nurse, officer_web, inotuzumab
    ):
        body = file(api, words(ODD, grade=3, seriousness=["hospitalization"]))
        file(api, words("nosebleeds"), patient="PT-0002")
        nurse_web = Client()
        nurse_web.force_login(nurse)
        html = nurse_web.get(f"/reports/{body['id']}/").content.decode()
        assert "a safety officer will code it" in html
        assert "Awaiting coding" in html
        listed = nurse_web.get("/reports/", {"awaiting_coding": "true"}).content.decode()
        assert body["reference"] in listed and "1 report" in listed
        dashboard = officer_web.get("/surveillance/signals/").content.decode()
        assert "1 reaction awaits coding" in dashboard
        assert nurse_web.get("/coding/").status_code == 403

    def test_an_officer_recodes_from_the_report_page(self, api, officer_web, inotuzumab):
        body = file(api, words("nosebleeds"))
        reaction_id = body["reactions"][0]["id"]
        officer_web.post(
            f"/reports/{body['id']}/recode/",
            {"reaction": reaction_id, "term": "Gingival bleeding", "comment": "gums"},
        )
        report = Report.objects.get(pk=body["id"])
        assert (report.version, str(report.reactions.get().term)) == (2, "Gingival bleeding")


def test_coding_starts_the_drugs_detection_run_as_a_new_report_does(
    api, officer_api, inotuzumab, settings, django_capture_on_commit_callbacks
):
    file(api, words(ODD, grade=3))
    settings.DETECTION_ON_NEW_REPORTS = True
    assert not DetectionRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_api.post(
            CODING, {"verbatim": ODD, "term": "Retinal haemorrhage"}, format="json"
        )
    assert response.status_code == 200
    run = DetectionRun.objects.get()
    assert run.drug == inotuzumab
    # The coded reaction is counted by that run: an unlisted bleeding site in one patient.
    signal = Signal.objects.get(drug=inotuzumab, term__name="Retinal haemorrhage")
    assert signal.cases == 1
