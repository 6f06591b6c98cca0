"""The detection runs page: officers start a run over one drug or all drugs and follow it; a
run already queued or running over the same drugs is shown, not duplicated."""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from surveillance import services
from surveillance.choices import RunStatus, Trigger
from surveillance.models import DetectionRun
from surveillance.run_words import duration_words
from surveillance.services import run_create, run_request

pytestmark = pytest.mark.django_db

URL = "/surveillance/runs/"


@pytest.fixture
def officer_web(client, officer):
    client.force_login(officer)
    return client


def running(run, *, done=3, total=7, started_ago=12):
    started = timezone.now() - timedelta(seconds=started_ago)
    DetectionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=started, drugs_done=done, drugs_total=total
    )
    run.refresh_from_db()
    return run


def test_a_nurse_can_neither_see_nor_start_runs(client, nurse, inotuzumab):
    client.force_login(nurse)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"drug": inotuzumab.slug}).status_code == 403
    assert not DetectionRun.objects.exists()


def test_an_officer_starts_a_run_for_one_drug_and_sees_it_finished(
    officer_web, officer, inotuzumab, django_capture_on_commit_callbacks
):
    page = officer_web.get(URL).content.decode()
    assert 'name="drug"' in page and "Start run" in page and "csrfmiddlewaretoken" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_web.post(URL, {"drug": inotuzumab.slug})
    run = DetectionRun.objects.get()
    assert (run.trigger, run.drug, run.requested_by) == (Trigger.MANUAL, inotuzumab, officer)
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?run={run.pk}#run-{run.pk}"
    # Without a broker the run was done in the request.
    html = officer_web.get(response["Location"]).content.decode()
    assert f"Run {run.pk} for {inotuzumab.name} was started." in html
    assert f'id="run-{run.pk}" class="highlight"' in html
    assert "Finished" in html and "1 of 1 drug done" in html
    assert f"started {timezone.localtime(run.started_at):%Y-%m-%d %H:%M}, took " in html
    # Nothing queued or running: the page does not refresh itself.
    assert 'data-active="false"' in html and 'http-equiv="refresh"' not in html
    for code in ("succeeded", "manual"):
        assert f">{code}<" not in html


def test_an_officer_starts_a_run_for_all_drugs(
    officer_web, inotuzumab, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        officer_web.post(URL, {"drug": ""})
    run = DetectionRun.objects.get()
    assert run.drug is None and run.status == RunStatus.SUCCEEDED


def test_a_run_already_running_for_the_drug_is_shown_not_duplicated(
    officer_web, officer, inotuzumab, django_capture_on_commit_callbacks
):
    other = running(run_create(trigger=Trigger.NEW_REPORTS, drug=inotuzumab), done=0, total=1)
    DetectionRun.objects.filter(pk=other.pk).update(drugs_done=0)
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_web.post(URL, {"drug": inotuzumab.slug}, follow=True)
    assert DetectionRun.objects.count() == 1
    html = response.content.decode()
    started = timezone.localtime(other.started_at).strftime("%H:%M")
    assert (
        f"A run for {inotuzumab.name} is already running (started {started}, 0 of 1 drug done)"
    ) in html
    assert f'id="run-{other.pk}" class="highlight"' in html
    # A run on: the page refreshes itself, with the script or without it.
    assert 'data-active="true"' in html
    assert '<noscript><meta http-equiv="refresh"' in html
    assert re.search(r"running for 1[2-4] s", html)


def test_an_all_drugs_run_already_running_is_shown_when_asking_for_all(
    officer_web, inotuzumab, django_capture_on_commit_callbacks
):
    nightly = running(run_create(trigger=Trigger.SCHEDULE))
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_web.post(URL, {"drug": ""}, follow=True)
    assert DetectionRun.objects.count() == 1
    started = timezone.localtime(nightly.started_at).strftime("%H:%M")
    assert (
        f"A run for all drugs is already running (started {started}, 3 of 7 drugs done)"
    ) in response.content.decode()
    assert "3 of 7 drugs done" in response.content.decode()


def test_a_queued_run_is_shown_with_when_it_starts(officer_web, inotuzumab):
    queued = run_create(trigger=Trigger.NEW_REPORTS, drug=inotuzumab)
    DetectionRun.objects.filter(pk=queued.pk).update(
        not_before=timezone.now() + timedelta(seconds=40)
    )
    queued.refresh_from_db()
    response = officer_web.post(URL, {"drug": inotuzumab.slug}, follow=True)
    html = response.content.decode()
    assert DetectionRun.objects.count() == 1
    assert f"A run for {inotuzumab.name} is already queued" in html
    assert f"starts at {timezone.localtime(queued.not_before):%H:%M}" in html
    assert "Queued" in html and "not started" in html


def test_an_unknown_drug_is_a_form_error_and_starts_nothing(officer_web, inotuzumab):
    response = officer_web.post(URL, {"drug": "no-such-drug"})
    assert response.status_code == 400
    assert "Choose a drug from the list, or all drugs." in response.content.decode()
    assert not DetectionRun.objects.exists()


def test_the_api_answers_the_run_already_on(officer, inotuzumab):
    api = APIClient()
    api.force_authenticate(officer)
    on = running(run_create(trigger=Trigger.MANUAL, drug=inotuzumab))
    response = api.post("/api/v1/signal-runs/", {"drug": inotuzumab.slug}, format="json")
    assert response.status_code == 202
    assert response.json()["id"] == on.pk
    assert response.json()["created"] is False
    assert DetectionRun.objects.count() == 1


def test_two_active_officer_runs_over_the_same_drugs_cannot_exist(officer, inotuzumab):
    for drug in (inotuzumab, None):
        run_create(trigger=Trigger.MANUAL, drug=drug, requested_by=officer)
        with pytest.raises(IntegrityError), transaction.atomic():
            run_create(trigger=Trigger.MANUAL, drug=drug, requested_by=officer)


def test_a_request_that_loses_the_race_returns_the_winners_run(officer, inotuzumab, monkeypatch):
    winner = run_create(trigger=Trigger.MANUAL, drug=inotuzumab, requested_by=officer)
    real = services.runs_active
    calls: list[int] = []

    def not_seen_at_first(drug):
        calls.append(1)
        # The first look-up ran before the other request's insert.
        return [] if len(calls) == 1 else real(drug)

    monkeypatch.setattr(services, "runs_active", not_seen_at_first)
    run, created = run_request(drug=inotuzumab, requested_by=officer)
    assert (run.pk, created) == (winner.pk, False)
    assert DetectionRun.objects.count() == 1


def test_the_runs_page_reads_runs_in_a_fixed_number_of_queries(
    officer_web, officer, inotuzumab, django_assert_max_num_queries
):
    for i in range(20):
        run = run_create(
            trigger=Trigger.SCHEDULE, drug=inotuzumab if i % 2 else None, requested_by=officer
        )
        DetectionRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    with django_assert_max_num_queries(8):
        assert officer_web.get(URL).status_code == 200


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1.84, "1.8 s"), (12.4, "12 s"), (185, "3 min 5 s"), (120, "2 min"), (4800, "1 h 20 min")],
)
def test_durations_read_as_people_say_them(seconds, words):
    assert duration_words(seconds) == words
