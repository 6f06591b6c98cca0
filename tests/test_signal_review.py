import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from surveillance.models import Signal
from surveillance.services import run_create, run_execute

from .cohort import Case, worked_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def retinal(inotuzumab, nurse):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    signal.cohort = cohort
    return signal


@pytest.fixture
def officer_api(officer):
    client = APIClient()
    client.force_authenticate(officer)
    return client


def move(api, signal, **body):
    return api.patch(f"/api/v1/signals/{signal.pk}/", body, format="json")


def test_the_gvp_moves_are_recorded_with_who_when_and_the_comment(officer_api, officer, retinal):
    response = move(officer_api, retinal, status="under_validation", comment="Checking the cases")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "under_validation"
    entry = AuditEntry.objects.get(action="signal.status", target_id=retinal.pk)
    assert (entry.actor, entry.comment) == (officer, "Checking the cases")
    assert entry.changes["status"] == ["new", "under_validation"]


def test_a_forbidden_move_is_a_400_naming_the_allowed_ones(officer_api, retinal):
    response = move(officer_api, retinal, status="confirmed", comment="skip ahead")
    assert response.status_code == 400
    assert response.json()["status"] == [
        "A signal that is New can move to Under validation, not to Confirmed (closed)."
    ]


def test_every_move_needs_a_comment_and_confirmed_a_recommended_action(officer_api, retinal):
    assert move(officer_api, retinal, status="under_validation", comment="").status_code == 400
    for status in ["under_validation", "validated", "under_assessment"]:
        assert move(officer_api, retinal, status=status, comment="ok").status_code == 200
    refused = move(officer_api, retinal, status="confirmed", comment="real")
    assert "recommended_action" in refused.json()
    done = move(
        officer_api, retinal, status="confirmed", comment="real", recommended_action="label_update"
    )
    assert done.status_code == 200
    assert done.json()["recommended_action"] == "label_update"


def test_nurses_cannot_review_signals(nurse, retinal):
    client = APIClient()
    client.force_authenticate(nurse)
    assert move(client, retinal, status="under_validation", comment="x").status_code == 403


def test_a_closed_signal_reopens_only_when_cases_grow_beyond_those_at_closure(
    officer_api, retinal, inotuzumab
):
    move(officer_api, retinal, status="under_validation", comment="look")
    move(officer_api, retinal, status="not_validated", comment="known bleeding risk")
    retinal.refresh_from_db()
    assert (retinal.status, retinal.cases_at_close) == ("not_validated", 2)
    # More patients in the cohort change the numbers, not the cases: it stays closed.
    retinal.cohort.register(5)
    run_execute(run_create(trigger="manual"))
    retinal.refresh_from_db()
    assert retinal.status == "not_validated"
    retinal.cohort.report(197, Case("Retinal haemorrhage"))
    run_execute(run_create(trigger="manual"))
    retinal.refresh_from_db()
    assert retinal.status == "new"
    assert AuditEntry.objects.filter(action="signal.reopen", target_id=retinal.pk).exists()
