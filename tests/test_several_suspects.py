"""A case naming several suspect drugs: every drug is kept, each reaction is judged against
each formulary suspect's label, and detection counts the case in each suspect's cohort."""

import importlib
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEntry
from reports.models import Exposure, Reaction, Report, ReportDrug, ReportVersion, SuspectReaction
from surveillance.models import DetectionRun, Signal
from surveillance.selectors import cohort_count, signal_case_timing, signal_cases
from surveillance.services import drugs_behind

from .cohort import drug_with_label, worked_scenario
from .factories import reaction, report_payload
from .test_detection import detect
from .test_reports_views import form_data

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"
SERIOUS = {"grade": 3, "seriousness": ["hospitalization"]}


@pytest.fixture
def combimab(db):
    """A second formulary drug whose label lists Nausea and Retinal haemorrhage, not
    Thrombocytopenia (which the seed drug's label lists)."""
    return drug_with_label(
        "Combimab", ("Nausea", "common", "5", None), ("Retinal haemorrhage", "rare", None, None)
    )


def submit(api, *reactions, status=201, **extra):
    response = api.post(URL, report_payload(*reactions, **extra), format="json")
    assert response.status_code == status, response.json()
    return response.json()


def two_suspects(api, *reactions, patient="PT-0001"):
    return submit(
        api,
        *reactions,
        patient=patient,
        other_suspect_drugs=[
            {"drug": "Combimab", "dose": "2 mg", "route": "intravenous", "lot_number": "L9"},
            "Dexamethasone",
        ],
        concomitant_drugs=["paracetamol", {"drug": "Ondansetron", "dose": "8 mg"}],
    )


def by_drug(body_reaction):
    return {j["drug"]: j["listedness"] for j in body_reaction["listedness_by_drug"]}


class TestSubmit:
    def test_every_drug_of_the_case_is_kept_in_order(self, api, inotuzumab, combimab):
        body = two_suspects(api)
        assert body["drug"] == "inotuzumab-ozogamicin"
        assert [(d["name"], d["drug"], d["role"]) for d in body["other_suspect_drugs"]] == [
            ("Combimab", "combimab", "suspect"),
            ("Dexamethasone", None, "suspect"),
        ]
        assert body["other_suspect_drugs"][0]["dose"] == "2 mg"
        assert body["other_suspect_drugs"][0]["route"] == "intravenous"
        assert [(d["name"], d["drug"]) for d in body["concomitant_drugs"]] == [
            ("paracetamol", None),
            ("Ondansetron", None),
        ]
        stored = Report.objects.get(pk=body["id"])
        assert stored.drug == inotuzumab
        assert list(stored.other_drugs.values_list("position", "name")) == [
            (2, "Combimab"),
            (3, "Dexamethasone"),
            (4, "paracetamol"),
            (5, "Ondansetron"),
        ]
        again = api.get(f"{URL}{body['id']}/").json()
        assert again["other_suspect_drugs"] == body["other_suspect_drugs"]
        assert again["concomitant_drugs"] == body["concomitant_drugs"]

    def test_each_formulary_suspect_registers_the_patient_as_treated(
        self, api, inotuzumab, combimab
    ):
        two_suspects(api, patient="PT-9")
        assert set(
            Exposure.objects.filter(patient__reference="PT-9", from_report=True).values_list(
                "drug__slug", flat=True
            )
        ) == {"inotuzumab-ozogamicin", "combimab"}

    def test_a_reaction_is_judged_against_each_suspects_label(self, api, inotuzumab, combimab):
        body = two_suspects(api, reaction("Nausea"), reaction("Thrombocytopenia"))
        nausea, platelets = body["reactions"]
        assert by_drug(nausea) == {"inotuzumab-ozogamicin": "listed", "combimab": "listed"}
        assert nausea["listedness"] == "listed"
        assert by_drug(platelets) == {"inotuzumab-ozogamicin": "listed", "combimab": "unlisted"}
        assert platelets["listedness"] == "unlisted"
        assert "is listed for inotuzumab ozogamicin" in platelets["listedness_note"]
        assert "not listed for Combimab" in platelets["listedness_note"]

    def test_serious_and_unlisted_for_any_suspect_makes_the_case_expedited(
        self, api, inotuzumab, combimab
    ):
        alone = submit(api, reaction("Thrombocytopenia", **SERIOUS))
        assert alone["expedited"] is False
        both = two_suspects(api, reaction("Thrombocytopenia", **SERIOUS), patient="PT-2")
        assert both["expedited"] is True and both["expedited_due"] is not None
        # Unlisted for the first suspect and listed for the other: unlisted all the same.
        first = two_suspects(api, reaction("Retinal haemorrhage", **SERIOUS), patient="PT-3")
        [bleed] = first["reactions"]
        assert by_drug(bleed) == {"inotuzumab-ozogamicin": "unlisted", "combimab": "listed"}
        assert first["expedited"] is True

    def test_the_version_and_the_audit_name_every_drug(self, api, inotuzumab, combimab):
        body = two_suspects(api)
        content = ReportVersion.objects.get(report_id=body["id"], number=1).content
        assert [(d["name"], d["role"], d["drug"]) for d in content["other_drugs"]] == [
            ("Combimab", "suspect", "combimab"),
            ("Dexamethasone", "suspect", None),
            ("paracetamol", "concomitant", None),
            ("Ondansetron", "concomitant", None),
        ]
        entry = AuditEntry.objects.get(target_id=body["id"], action="report.create")
        assert [d["name"] for d in entry.changes["other_drugs"]] == [
            "Combimab",
            "Dexamethasone",
            "paracetamol",
            "Ondansetron",
        ]


def test_the_report_list_finds_the_case_by_any_formulary_suspect(api, inotuzumab, combimab):
    body = two_suspects(api)
    alone = submit(api, patient="PT-2")
    by_first = {r["id"] for r in api.get(URL, {"drug": "inotuzumab-ozogamicin"}).json()["results"]}
    by_second = {r["id"] for r in api.get(URL, {"drug": "Combimab"}).json()["results"]}
    assert by_first == {body["id"], alone["id"]}
    assert by_second == {body["id"]}


class TestRefused:
    @pytest.mark.parametrize(
        "others",
        [
            ["inotuzumab-ozogamicin"],
            ["Inotuzumab Ozogamicin"],
            ["Combimab", "combimab"],
            ["Dexamethasone", " dexamethasone "],
        ],
    )
    def test_the_same_drug_twice_is_a_400(self, api, inotuzumab, combimab, others):
        body = submit(api, other_suspect_drugs=others, status=400)
        [(index, errors)] = body["other_suspect_drugs"].items()
        assert index == str(len(others) - 1)
        assert "already" in errors["drug"][0]
        assert not Report.objects.exists()

    def test_a_drug_both_suspect_and_concomitant_is_a_400(self, api, inotuzumab):
        body = submit(
            api,
            other_suspect_drugs=["Dexamethasone"],
            concomitant_drugs=["dexamethasone"],
            status=400,
        )
        assert "already" in body["concomitant_drugs"]["0"]["drug"][0]

    def test_bad_items_get_messages_keyed_by_their_place(self, api, inotuzumab):
        body = submit(
            api,
            other_suspect_drugs=[
                {"drug": "Combimab", "route": "by owl"},
                {"dose": "2 mg"},
                7,
                {"drug": "Vincristine", "therapy_start": "2999-01-01"},
                {"drug": "Cytarabine", "therapy_start": "2026-10-05", "therapy_end": "2026-10-01"},
            ],
            status=400,
        )
        errors = body["other_suspect_drugs"]
        assert set(errors) == {"0", "1", "2"}
        assert "route" in errors["0"] and "drug" in errors["1"]
        assert errors["2"]
        dates = submit(
            api,
            other_suspect_drugs=[
                {"drug": "Vincristine", "therapy_start": "2999-01-01"},
                {"drug": "Cytarabine", "therapy_start": "2026-10-05", "therapy_end": "2026-10-01"},
            ],
            status=400,
        )["other_suspect_drugs"]
        assert "future" in dates["0"]["therapy_start"][0]
        assert "before it starts" in dates["1"]["therapy_end"][0]
        assert not Report.objects.exists()


class TestDetection:
    def test_the_case_counts_in_the_cohort_of_each_formulary_suspect(
        self, api, inotuzumab, combimab
    ):
        body = two_suspects(api, reaction("Thrombocytopenia", **SERIOUS))
        term_id = Reaction.objects.get(report_id=body["id"]).term_id
        assert term_id is not None
        for drug in (inotuzumab, combimab):
            cohort = cohort_count(drug, [])
            assert cohort.exposed == 1
            assert cohort.terms[term_id].cases == 1
            assert cohort.terms[term_id].severe == 1

    def test_a_signal_of_the_second_suspect_lists_the_case(self, api, inotuzumab, combimab):
        body = two_suspects(api, reaction("Thrombocytopenia", **SERIOUS))
        detect(combimab)
        signal = Signal.objects.get(drug=combimab, term__name="Thrombocytopenia", kind="unlisted")
        assert signal.cases == 1 and signal.priority == "high"
        assert [r.report_id for r in signal_cases(signal)] == [body["id"]]

    @pytest.mark.parametrize("how", ["void", "duplicate"])
    def test_a_void_or_duplicate_case_leaves_both_cohorts(
        self, api, officer, inotuzumab, combimab, how
    ):
        two_suspects(api, reaction("Thrombocytopenia", onset_date="2026-10-09"))
        second = two_suspects(api, reaction("Thrombocytopenia", onset_date="2026-10-10"))
        officer_api = APIClient()
        officer_api.force_authenticate(officer)
        body: dict[str, object]
        if how == "void":
            url, body = f"{URL}{second['id']}/void/", {"reason": "entered twice"}
        else:
            assert second["duplicate_status"] == "suspected"
            url = f"{URL}{second['id']}/duplicate-decision/"
            body = {"duplicate": True, "comment": "the same case"}
        assert officer_api.post(url, body, format="json").status_code == 200
        rows = SuspectReaction.objects.filter(reaction__report_id=second["id"])
        assert rows.count() == 2 and not rows.filter(counted=True).exists()
        for drug in (inotuzumab, combimab):
            [counts] = cohort_count(drug, []).terms.values()
            assert counts.cases == 1  # the first report alone


class TestDrugsBehind:
    """The sweep's catch-up (drugs_behind) sees a case under each formulary suspect drug."""

    def test_a_further_suspect_makes_its_drug_behind(
        self, api, inotuzumab, combimab, django_assert_num_queries
    ):
        detect()
        assert drugs_behind() == []
        two_suspects(api, reaction("Thrombocytopenia", **SERIOUS))
        with django_assert_num_queries(3):  # an all-drugs run active, busy drugs, the drugs
            behind = drugs_behind()
        assert sorted(behind) == sorted([inotuzumab.pk, combimab.pk])
        detect(combimab)
        assert drugs_behind() == [inotuzumab.pk]
        detect()
        assert drugs_behind() == []

    def test_a_suspect_added_by_a_follow_up_makes_its_drug_behind(self, api, inotuzumab, combimab):
        body = submit(api, reaction("Thrombocytopenia", **SERIOUS))
        detect()
        assert drugs_behind() == []
        response = api.post(
            f"{URL}{body['id']}/follow-up/",
            {"new_suspect_drugs": ["Combimab", "Dexamethasone"]},
            format="json",
        )
        assert response.status_code == 200, response.json()
        assert combimab.pk in drugs_behind()

    def test_a_case_voided_after_the_run_makes_each_suspect_behind(
        self, api, officer, inotuzumab, combimab
    ):
        body = two_suspects(api, reaction("Thrombocytopenia", **SERIOUS))
        detect()
        officer_api = APIClient()
        officer_api.force_authenticate(officer)
        response = officer_api.post(
            f"{URL}{body['id']}/void/", {"reason": "wrong patient"}, format="json"
        )
        assert response.status_code == 200
        assert sorted(drugs_behind()) == sorted([inotuzumab.pk, combimab.pk])


def test_time_to_onset_counts_from_the_start_of_the_signals_own_drug(
    api, client, officer, inotuzumab, combimab
):
    """The case's first suspect started on 1 October and Combimab on 5 October: a reaction
    on 9 October came 8 days into the first and 4 days into Combimab."""
    submit(
        api,
        reaction("Haemoptysis", **SERIOUS),
        other_suspect_drugs=[{"drug": "Combimab", "therapy_start": "2026-10-05"}],
    )
    detect()
    onset = date(2026, 10, 9)
    first = Signal.objects.get(drug=inotuzumab, term__name="Haemoptysis", kind="unlisted")
    further = Signal.objects.get(drug=combimab, term__name="Haemoptysis", kind="unlisted")
    assert signal_case_timing(first) == [(onset, date(2026, 10, 1), 3, True)]
    assert signal_case_timing(further) == [(onset, date(2026, 10, 5), 3, True)]
    client.force_login(officer)
    assert client.get(f"/surveillance/signals/{further.pk}/").context["onset_days"] == [4]
    assert client.get(f"/surveillance/signals/{first.pk}/").context["onset_days"] == [8]


class TestFollowUpAndCoding:
    def test_a_follow_up_keeps_the_drugs_and_judges_new_reactions_against_each(
        self, api, inotuzumab, combimab
    ):
        body = two_suspects(api, reaction("Nausea", outcome="not_recovered"))
        [nausea] = body["reactions"]
        response = api.post(
            f"{URL}{body['id']}/follow-up/",
            {
                "updates": [{"reaction_id": nausea["id"], "outcome": "recovered"}],
                "new_reactions": [reaction("Thrombocytopenia", **SERIOUS)],
            },
            format="json",
        )
        assert response.status_code == 200, response.json()
        after = response.json()
        assert after["other_suspect_drugs"] == body["other_suspect_drugs"]
        assert after["concomitant_drugs"] == body["concomitant_drugs"]
        added = after["reactions"][1]
        assert by_drug(added) == {"inotuzumab-ozogamicin": "listed", "combimab": "unlisted"}
        assert after["expedited"] is True
        outcomes = SuspectReaction.objects.filter(reaction_id=nausea["id"])
        assert set(outcomes.values_list("outcome", flat=True)) == {"recovered"}
        content = ReportVersion.objects.get(report_id=body["id"], number=2).content
        assert len(content["other_drugs"]) == 4

    def test_a_follow_up_may_add_a_suspect_and_every_reaction_is_judged_against_it(
        self, api, inotuzumab, combimab
    ):
        body = submit(api, reaction("Thrombocytopenia", **SERIOUS))
        assert body["expedited"] is False
        response = api.post(
            f"{URL}{body['id']}/follow-up/",
            {"new_suspect_drugs": [{"drug": "combimab", "dose": "2 mg"}]},
            format="json",
        )
        assert response.status_code == 200, response.json()
        after = response.json()
        assert [d["drug"] for d in after["other_suspect_drugs"]] == ["combimab"]
        [platelets] = after["reactions"]
        assert by_drug(platelets) == {"inotuzumab-ozogamicin": "listed", "combimab": "unlisted"}
        assert platelets["listedness"] == "unlisted"
        assert after["expedited"] is True
        assert "new suspect drug combimab" in (
            ReportVersion.objects.get(report_id=body["id"], number=2).summary
        )
        assert cohort_count(combimab, []).exposed == 1
        again = api.post(
            f"{URL}{body['id']}/follow-up/",
            {"new_suspect_drugs": ["Combimab"]},
            format="json",
        )
        assert again.status_code == 400
        assert "already" in again.json()["new_suspect_drugs"]["0"]["drug"][0]

    def test_coding_words_judges_them_for_each_suspect(self, api, officer, inotuzumab, combimab):
        body = two_suspects(api, {"verbatim": "zorblatt fizzing", "grade": 2})
        [pending] = body["reactions"]
        assert pending["coding"] == "pending" and pending["listedness_by_drug"] == []
        rows = SuspectReaction.objects.filter(reaction_id=pending["id"])
        assert rows.count() == 2 and not rows.filter(counted=True).exists()
        officer_api = APIClient()
        officer_api.force_authenticate(officer)
        response = officer_api.post(
            "/api/v1/coding/",
            {"verbatim": "zorblatt fizzing", "term": "Thrombocytopenia"},
            format="json",
        )
        assert response.status_code == 200, response.json()
        coded = api.get(f"{URL}{body['id']}/").json()["reactions"][0]
        assert by_drug(coded) == {"inotuzumab-ozogamicin": "listed", "combimab": "unlisted"}
        assert coded["listedness"] == "unlisted"
        assert rows.filter(counted=True).count() == 2


def test_the_migration_fills_for_a_single_drug_report_what_the_report_services_write(
    api, nurse, inotuzumab
):
    """Reports filed before a case could name several suspects read the same after the
    migration: one row per reaction with what detection read from the reaction."""
    submit(api, reaction("Nausea"), reaction("Retinal haemorrhage", **SERIOUS))
    scenario = worked_scenario(inotuzumab, nurse, nurse.site)
    fields = ["reaction_id", "drug_id", "patient_id", "term_id", "grade", "serious", "outcome"]
    fields += ["counted", "listedness", "listed_by_id", "listedness_note"]
    written = list(SuspectReaction.objects.order_by("reaction_id").values_list(*fields))
    before = cohort_count(inotuzumab, [])
    SuspectReaction.objects.all().delete()
    migration = importlib.import_module("reports.migrations.0011_several_suspect_drugs")
    with connection.cursor() as cursor:
        cursor.execute(migration.FILL)
    filled = list(SuspectReaction.objects.order_by("reaction_id").values_list(*fields))
    assert filled == written
    assert len(filled) == Reaction.objects.count()
    assert cohort_count(inotuzumab, []) == before
    # The scenario's 200 registered patients and the patient of the report filed above.
    assert before.exposed == len(scenario.patients) + 1
    assert not ReportDrug.objects.exists()


class TestWebForm:
    @staticmethod
    def suspect_rows(*rows):
        data = {
            "suspects-TOTAL_FORMS": str(len(rows)),
            "suspects-INITIAL_FORMS": "0",
            "suspects-MIN_NUM_FORMS": "0",
            "suspects-MAX_NUM_FORMS": "20",
        }
        for i, row in enumerate(rows):
            filled = {"drug": "", "therapy_start": "", "therapy_end": "", "dose": "", **row}
            filled |= {"route": row.get("route", ""), "lot_number": row.get("lot_number", "")}
            data |= {f"suspects-{i}-{key}": value for key, value in filled.items()}
        return data

    def test_the_form_files_further_suspects_and_concomitant_drugs(
        self, client, nurse, inotuzumab, combimab
    ):
        client.force_login(nurse)
        html = client.get("/reports/new/").content.decode()
        assert 'id="suspect-template"' in html and 'id="add-suspect"' in html
        assert '<option value="Combimab">' in html
        data = form_data(
            {"term": "Thrombocytopenia", "grade": "3", "seriousness": ["hospitalization"]},
            concomitant_drugs="paracetamol, ondansetron\nfilgrastim",
            **self.suspect_rows(
                {"drug": "Combimab", "dose": "2 mg", "route": "intravenous"},
                {"drug": "Dexamethasone"},
            ),
        )
        response = client.post("/reports/new/", data)
        assert response.status_code == 302, response.context and response.context["form"].errors
        report = Report.objects.get()
        assert report.expedited
        assert [(d.name, d.role, d.drug_id) for d in report.other_drugs.all()] == [
            ("Combimab", "suspect", combimab.pk),
            ("Dexamethasone", "suspect", None),
            ("paracetamol", "concomitant", None),
            ("ondansetron", "concomitant", None),
            ("filgrastim", "concomitant", None),
        ]
        page = client.get(f"/reports/{report.pk}/").content.decode()
        assert "Other suspect drugs" in page and "Concomitant drugs" in page
        assert 'Dexamethasone <span class="small">(not in the formulary)</span>' in page
        assert "Listed for inotuzumab ozogamicin</li>" in page
        assert "Not listed for Combimab" in page

    def test_a_drug_named_twice_redisplays_the_form_with_what_was_typed(
        self, client, nurse, inotuzumab, combimab
    ):
        client.force_login(nurse)
        data = form_data(
            {"term": "Nausea"},
            **self.suspect_rows(
                {"drug": "Combimab", "dose": "2 mg"}, {"drug": "combimab", "dose": "3 mg"}
            ),
        )
        response = client.post("/reports/new/", data)
        assert response.status_code == 200
        html = response.content.decode()
        assert "The case names combimab already" in html
        assert 'value="3 mg"' in html and 'value="2 mg"' in html
        [_, second] = response.context["suspects"].forms
        assert second.errors["drug"]
        assert not Report.objects.exists()

    def test_a_form_posted_without_suspect_rows_still_files(self, client, nurse, inotuzumab):
        client.force_login(nurse)
        response = client.post("/reports/new/", form_data({"term": "Nausea"}))
        assert response.status_code == 302
        assert not ReportDrug.objects.exists()

    def test_the_history_and_versions_name_the_drugs(self, api, officer, client, combimab):
        body = two_suspects(api, reaction("Nausea"))
        client.force_login(officer)
        page = client.get(f"/reports/{body['id']}/").content.decode()
        assert "Combimab (suspect; 2 mg, intravenous, lot L9)" in page
        version = client.get(f"/reports/{body['id']}/versions/1/").content.decode()
        assert "Dexamethasone (suspect; not in the formulary)" in version
        assert "paracetamol (concomitant)" in version


class TestWebFollowUp:
    """The follow-up form adds further suspect drugs with the rows of the report form."""

    @staticmethod
    def follow_up(report_id, *suspects, narrative=""):
        """The form as the page posts it: the reactions already reported left as they are."""
        unchanged = {
            f"r{r.pk}-{name}": value
            for r in Reaction.objects.filter(report_id=report_id)
            for name, value in (("outcome", r.outcome), ("end_date", r.end_date or ""))
        }
        return {
            **unchanged,
            "narrative": narrative,
            "reactions-TOTAL_FORMS": "0",
            "reactions-INITIAL_FORMS": "0",
            "reactions-MIN_NUM_FORMS": "0",
            "reactions-MAX_NUM_FORMS": "50",
            **TestWebForm.suspect_rows(*suspects),
        }

    def test_the_page_offers_suspect_rows_numbered_after_the_case_suspects(
        self, api, client, nurse, inotuzumab, combimab
    ):
        body = two_suspects(api)
        client.force_login(nurse)
        html = client.get(f"/reports/{body['id']}/follow-up/").content.decode()
        assert "The case names inotuzumab ozogamicin, Combimab and Dexamethasone" in html
        assert 'id="suspect-template"' in html and 'id="add-suspect"' in html
        assert 'data-first-number="4"' in html
        assert '<option value="Combimab">' in html
        assert "js/suspect_rows.js" in html
        # Concomitant drugs are not suspects: paracetamol is not named among them.
        assert "Dexamethasone as suspects" in html

    def test_a_suspect_added_on_the_form_judges_every_reaction_against_its_label(
        self, api, client, nurse, inotuzumab, combimab
    ):
        body = submit(api, reaction("Thrombocytopenia", **SERIOUS))
        assert body["expedited"] is False
        client.force_login(nurse)
        data = self.follow_up(
            body["id"],
            {"drug": "Combimab", "dose": "2 mg", "route": "intravenous", "lot_number": "L9"},
            {"drug": "Dexamethasone", "therapy_start": "2026-10-02"},
        )
        response = client.post(f"/reports/{body['id']}/follow-up/", data)
        assert response.status_code == 302, response.context and [
            f.errors for f in response.context["suspects"].forms
        ]
        report = Report.objects.get(pk=body["id"])
        assert report.version == 2 and report.expedited
        fields = ["position", "name", "role", "drug_id", "dose", "route", "lot_number"]
        assert list(report.other_drugs.values_list(*fields, "added_in_version")) == [
            (2, "Combimab", "suspect", combimab.pk, "2 mg", "intravenous", "L9", 2),
            (3, "Dexamethasone", "suspect", None, "", "", "", 2),
        ]
        [platelets] = report.reactions.all()
        assert platelets.listedness == "unlisted"
        assert dict(
            SuspectReaction.objects.filter(reaction=platelets).values_list(
                "drug__slug", "listedness"
            )
        ) == {"inotuzumab-ozogamicin": "listed", "combimab": "unlisted"}
        summary = ReportVersion.objects.get(report=report, number=2).summary
        assert "new suspect drug Combimab" in summary
        assert "new suspect drug Dexamethasone" in summary
        assert cohort_count(combimab, []).exposed == 1

    def test_a_drug_the_case_names_already_is_shown_on_its_row_with_what_was_typed(
        self, api, client, nurse, inotuzumab, combimab
    ):
        body = two_suspects(api)
        client.force_login(nurse)
        data = self.follow_up(
            body["id"],
            {"drug": "Vincristine", "dose": "1.4 mg/m2"},
            {"drug": "combimab", "dose": "3 mg"},
            narrative="Vincristine given on day 8.",
        )
        response = client.post(f"/reports/{body['id']}/follow-up/", data)
        assert response.status_code == 200
        first, second = response.context["suspects"].forms
        assert not first.errors
        assert "The case names combimab already" in second.errors["drug"][0]
        html = response.content.decode()
        assert 'value="1.4 mg/m2"' in html and 'value="3 mg"' in html
        assert "Vincristine given on day 8." in html
        assert "Please correct the fields marked below" in html
        # The rows come after the case's three suspects.
        assert re.search(r"Suspect drug <span data-row-number>4</span>", html)
        assert re.search(r"Suspect drug <span data-row-number>5</span>", html)
        report = Report.objects.get(pk=body["id"])
        assert report.version == 1
        assert report.other_drugs.count() == 4

    def test_bad_dates_go_to_their_row_and_field(self, api, client, nurse, inotuzumab, combimab):
        body = submit(api)
        client.force_login(nurse)
        data = self.follow_up(
            body["id"],
            {"drug": "Combimab", "therapy_start": "2999-01-01"},
            {"drug": "Cytarabine", "therapy_start": "2026-10-05", "therapy_end": "2026-10-01"},
            {"drug": "Vincristine", "therapy_start": "not a date"},
        )
        response = client.post(f"/reports/{body['id']}/follow-up/", data)
        assert response.status_code == 200
        first, second, third = response.context["suspects"].forms
        # The form's own check comes first: the service sees the rows once they read.
        assert third.errors["therapy_start"]
        assert 'value="not a date"' in response.content.decode()
        data["suspects-2-therapy_start"] = ""
        response = client.post(f"/reports/{body['id']}/follow-up/", data)
        assert response.status_code == 200
        first, second, third = response.context["suspects"].forms
        assert "future" in first.errors["therapy_start"][0]
        assert "before it starts" in second.errors["therapy_end"][0]
        assert not third.errors
        assert not ReportDrug.objects.exists()

    def test_a_removed_or_blank_row_adds_nothing(self, api, client, nurse, inotuzumab, combimab):
        body = submit(api)
        client.force_login(nurse)
        removed = {"drug": "Combimab", "DELETE": "on"}
        data = self.follow_up(body["id"], removed, {}, narrative="Seen again.")
        response = client.post(f"/reports/{body['id']}/follow-up/", data)
        assert response.status_code == 302
        assert not ReportDrug.objects.exists()
        assert Report.objects.get(pk=body["id"]).version == 2


def test_a_new_case_queues_detection_for_each_formulary_suspect(
    api, settings, inotuzumab, combimab, django_capture_on_commit_callbacks
):
    settings.DETECTION_ON_NEW_REPORTS = True
    with django_capture_on_commit_callbacks(execute=True):
        two_suspects(api, reaction("Thrombocytopenia", **SERIOUS))
    assert set(DetectionRun.objects.values_list("drug__slug", flat=True)) == {
        "inotuzumab-ozogamicin",
        "combimab",
    }
    assert Signal.objects.filter(drug=combimab, term__name="Thrombocytopenia").exists()


def test_a_follow_up_adding_a_suspect_queues_detection_for_it(
    api, settings, inotuzumab, combimab, django_capture_on_commit_callbacks
):
    body = submit(api, reaction("Thrombocytopenia", **SERIOUS))
    settings.DETECTION_ON_NEW_REPORTS = True
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{URL}{body['id']}/follow-up/", {"new_suspect_drugs": ["Combimab"]}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert set(DetectionRun.objects.values_list("drug__slug", flat=True)) == {
        "inotuzumab-ozogamicin",
        "combimab",
    }
    assert Signal.objects.filter(drug=combimab, term__name="Thrombocytopenia").exists()


class TestDuplicates:
    """Two cases of one patient that share a suspect drug and a reaction are suspected
    duplicates, whichever place each case gives the drug."""

    def test_the_first_suspect_of_one_is_a_further_suspect_of_the_other(
        self, api, inotuzumab, combimab
    ):
        first = two_suspects(api, reaction("Thrombocytopenia", onset_date="2026-10-09"))
        second = submit(api, reaction("Thrombocytopenia", onset_date="2026-10-10"), drug="combimab")
        assert second["duplicate_status"] == "suspected"
        assert Report.objects.get(pk=second["id"]).duplicate_of_id == first["id"]

    def test_a_further_suspect_of_the_new_case_is_the_first_of_the_other(
        self, api, inotuzumab, combimab
    ):
        first = submit(api, reaction("Thrombocytopenia", onset_date="2026-10-09"), drug="combimab")
        second = submit(
            api,
            reaction("Thrombocytopenia", onset_date="2026-10-10"),
            other_suspect_drugs=["Combimab"],
        )
        assert second["duplicate_status"] == "suspected"
        assert Report.objects.get(pk=second["id"]).duplicate_of_id == first["id"]

    def test_cases_sharing_no_formulary_suspect_are_not_duplicates(self, api, inotuzumab, combimab):
        submit(
            api,
            reaction("Thrombocytopenia", onset_date="2026-10-09"),
            drug="combimab",
            other_suspect_drugs=["Dexamethasone"],
        )
        second = submit(
            api,
            reaction("Thrombocytopenia", onset_date="2026-10-10"),
            other_suspect_drugs=["Dexamethasone"],
        )
        assert not second["duplicate_status"]


def test_the_coding_queue_names_each_formulary_suspect_of_the_pending_words(
    api, officer, inotuzumab, combimab
):
    two_suspects(api, {"verbatim": "zorblatt fizzing", "grade": 2})
    officer_api = APIClient()
    officer_api.force_authenticate(officer)
    [group] = officer_api.get("/api/v1/coding/").json()
    assert group["drugs"] == ["Combimab", "inotuzumab ozogamicin"]


def test_the_report_list_and_the_expedited_list_name_every_suspect_in_a_fixed_number_of_queries(
    api, client, officer, inotuzumab, combimab
):
    client.force_login(officer)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            html = client.get(url).content.decode()
        return html, len(captured)

    two_suspects(api, reaction("Thrombocytopenia", **SERIOUS))
    _, one_case = queries("/reports/?drug=combimab")
    _, one_due = queries("/reports/expedited/")
    for n in (2, 3):
        two_suspects(api, reaction("Thrombocytopenia", **SERIOUS), patient=f"PT-{n}")
    submit(api, reaction("Haemoptysis", **SERIOUS), patient="PT-9")
    html, three_cases = queries("/reports/?drug=combimab")
    assert html.count("Also suspected: Combimab, Dexamethasone</div>") == 3
    assert "paracetamol" not in html
    due, three_due = queries("/reports/expedited/")
    assert due.count("Also suspected: Combimab, Dexamethasone</div>") == 3
    assert due.count("Also suspected") == 3  # the case with one suspect names it alone
    assert (three_cases, three_due) == (one_case, one_due)


def test_a_drug_not_given_is_not_named_among_the_suspects_of_the_lists(
    api, client, officer, inotuzumab, combimab
):
    body = two_suspects(api, reaction("Thrombocytopenia", **SERIOUS))
    ReportDrug.objects.create(report_id=body["id"], position=6, role="not_given", name="Placebo")
    ReportDrug.objects.create(report_id=body["id"], position=7, role="interacting", name="Azole")
    client.force_login(officer)
    for url in ("/reports/", "/reports/expedited/"):
        html = client.get(url).content.decode()
        assert "Also suspected: Combimab, Dexamethasone, Azole</div>" in html
