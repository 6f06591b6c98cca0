import pytest
from django.test import Client

from audit.models import AuditEntry
from surveillance.models import Signal, SignalEvaluation
from surveillance.services import run_create, run_execute

from .cohort import Case, worked_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def signals(inotuzumab, nurse):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    return cohort


@pytest.fixture
def officer_client(client: Client, officer):
    client.force_login(officer)
    return client


def test_the_dashboard_puts_the_unlisted_bleeding_site_first(officer_client, signals):
    response = officer_client.get("/surveillance/signals/")
    page = list(response.context["page"])
    assert page[0].term.name == "Retinal haemorrhage"
    assert [s.priority for s in page] == sorted(
        [s.priority for s in page], key=["high", "medium", "low"].index
    )


def test_the_dashboard_filters_and_counts(officer_client, signals):
    response = officer_client.get("/surveillance/signals/", {"kind": "incidence"})
    assert {s.kind for s in response.context["page"]} == {"incidence"}
    counts = dict((s, n) for s, _, n in response.context["status_counts"])
    assert counts["new"] == Signal.objects.count()


def test_the_dashboard_needs_a_bounded_number_of_queries(
    officer_client, signals, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        officer_client.get("/surveillance/signals/")


def test_the_signal_page_shows_the_evidence_and_records_a_move(officer_client, officer, signals):
    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    html = officer_client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert "Haemorrhage (33%, 5% grade &gt;= 3)" in html
    assert "<svg" in html and "Cases (2)" in html
    response = officer_client.post(
        f"/surveillance/signals/{signal.pk}/",
        {"status": "under_validation", "comment": "Checking the two cases"},
    )
    assert response.status_code == 302
    signal.refresh_from_db()
    assert signal.status == "under_validation"
    assert AuditEntry.objects.filter(action="signal.status", actor=officer).exists()
    html = officer_client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert "Status: New → Under validation" in html and "Checking the two cases" in html


def test_a_move_without_a_comment_is_refused_on_the_page(officer_client, signals):
    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    response = officer_client.post(
        f"/surveillance/signals/{signal.pk}/", {"status": "under_validation", "comment": ""}
    )
    assert response.status_code == 200
    signal.refresh_from_db()
    assert signal.status == "new"


def test_only_safety_officers_see_the_signal_pages(client, nurse, admin_account, signals):
    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    for user in (nurse, admin_account):
        client.force_login(user)
        assert client.get("/surveillance/signals/").status_code == 403
        assert client.get(f"/surveillance/signals/{signal.pk}/").status_code == 403


def test_csv_exports_neutralise_formulas(officer_client, signals, nurse):
    from reports.models import Reaction

    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    Reaction.objects.filter(term=signal.term).update(verbatim='=HYPERLINK("http://x","y")')
    text = officer_client.get(f"/surveillance/signals/{signal.pk}/cases.csv").content.decode()
    assert text.splitlines()[0].startswith("report,patient,term,verbatim")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text
    listing = officer_client.get("/surveillance/signals.csv", {"kind": "unlisted"}).content.decode()
    assert len(listing.strip().splitlines()) == 2
    assert "Retinal haemorrhage" in listing


def test_safe_cell_prefixes_every_formula_start():
    from surveillance.exports import safe_cell

    for dangerous in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]:
        assert safe_cell(dangerous).startswith("'")
    assert safe_cell("Nausea") == "Nausea"
    assert safe_cell(None) == ""


def written(queries) -> list[str]:
    """The statements of captured queries that change the database."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_the_dashboard_tells_what_is_new_until_the_officer_marks_it_seen(
    officer_client, officer, signals
):
    total = Signal.objects.count()
    first = officer_client.get("/surveillance/signals/")
    # Never marked: every signal is new to this officer.
    assert first.context["new_since"] == total
    assert f"{total} new signals</strong>" in first.content.decode()
    until = first.context["seen_form"]["until"].value()
    response = officer_client.post(
        "/surveillance/signals/seen/", {"until": until, "query": "kind=incidence"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/surveillance/signals/?kind=incidence"
    officer.refresh_from_db()
    assert officer.signals_seen_at is not None
    assert officer_client.get("/surveillance/signals/").context["new_since"] == 0

    signals.report(199, Case("Alopecia"))
    run_execute(run_create(trigger="manual"))
    again = officer_client.get("/surveillance/signals/")
    assert again.context["new_since"] == 1
    assert "1 new signal</strong> since you last marked them seen" in again.content.decode()


def test_filtering_and_paging_keep_what_is_new(officer_client, officer, signals):
    signals.report(199, Case("Alopecia"))
    latest = Signal.objects.latest("first_detected_at")
    officer_client.post("/surveillance/signals/seen/", {"until": latest.first_detected_at})
    run_execute(run_create(trigger="manual"))
    officer.refresh_from_db()
    mark = officer.signals_seen_at
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        for params in ({"kind": "incidence"}, {"page": 2}, {"priority": "high"}, {}):
            response = officer_client.get("/surveillance/signals/", params)
            assert response.context["new_since"] == 1
    assert written(queries.captured_queries) == []
    officer.refresh_from_db()
    assert officer.signals_seen_at == mark
    [row] = [s for s in response.context["page"] if s.first_detected_at > mark]
    assert row.term.name == "Alopecia"
    assert '<span class="pill priority-medium">new</span>' in response.content.decode()


def test_marking_as_seen_keeps_new_a_signal_detected_after_the_page_was_loaded(
    officer_client, officer, signals
):
    page = officer_client.get("/surveillance/signals/")
    until = page.context["seen_form"]["until"].value()
    signals.report(199, Case("Alopecia"))
    run_execute(run_create(trigger="manual"))
    officer_client.post("/surveillance/signals/seen/", {"until": until})
    assert officer_client.get("/surveillance/signals/").context["new_since"] == 1


def test_marking_as_seen_needs_a_post_and_a_valid_time(officer_client, officer, signals):
    assert officer_client.get("/surveillance/signals/seen/").status_code == 405
    response = officer_client.post("/surveillance/signals/seen/", {"until": "yesterday"})
    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.signals_seen_at is None


def test_an_officer_assigns_a_signal_and_the_assignment_is_audited(
    officer_client, officer, signals
):
    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    response = officer_client.post(
        f"/surveillance/signals/{signal.pk}/", {"assigned_to": "officer1"}
    )
    assert response.status_code == 302
    signal.refresh_from_db()
    assert signal.assigned_to == officer
    assert AuditEntry.objects.filter(action="signal.assign", target_id=signal.pk).exists()


def test_the_dashboard_with_5000_signals_makes_a_bounded_number_of_queries(
    officer_client, inotuzumab, django_assert_max_num_queries
):
    from .signals_bulk import make_signals

    assert make_signals(5000) == 5000
    with django_assert_max_num_queries(12):
        response = officer_client.get("/surveillance/signals/")
    assert (
        response.context["page"].paginator.count
        == Signal.objects.exclude(status__in=["not_validated", "refuted", "confirmed"]).count()
    )
    assert len(response.context["page"]) == 50
    with django_assert_max_num_queries(12):
        officer_client.get("/surveillance/signals/", {"priority": "high", "page": 3})


def test_the_drug_page_shows_every_labelled_entry_and_the_unlisted_bleeding_site_first(
    officer_client, signals, inotuzumab
):
    signals.report(198, Case("Alopecia", grade=1))
    run_execute(run_create(trigger="manual"))
    response = officer_client.get(f"/surveillance/drugs/{inotuzumab.slug}/")
    assert response.status_code == 200
    assert len(response.context["entries"]) == 62
    unlisted = [u.signal.term.name for u in response.context["unlisted"]]
    assert unlisted[0] == "Retinal haemorrhage"
    assert "Alopecia" in unlisted
    thrombo = next(e for e in response.context["entries"] if e.term.name == "Thrombocytopenia")
    assert (thrombo.cases, thrombo.expected_pct) == (130, 51.0)
    html = response.content.decode()
    assert 'class="chart forest"' in html
    assert "As found by the last detection run" in html


def test_the_drug_page_reads_the_last_run_and_writes_nothing(
    officer_client, signals, inotuzumab, tmp_path
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from spontaneous.models import DisproportionalityBaseline

    from .spontaneous_data import run_import, write_csv

    # Spontaneous reports imported since the last run: evaluating would fit a new prior.
    run_import(write_csv(tmp_path / "one.csv", [("1", inotuzumab.name, "Nausea")]))
    signals.report(198, Case("Alopecia", grade=1))
    evaluations = SignalEvaluation.objects.count()
    # The import computed its baselines; the page reads and computes none.
    baselines = list(DisproportionalityBaseline.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        response = officer_client.get(f"/surveillance/drugs/{inotuzumab.slug}/")
    assert response.status_code == 200
    assert written(queries.captured_queries) == []
    assert list(DisproportionalityBaseline.objects.values_list("pk", flat=True)) == baselines
    assert SignalEvaluation.objects.count() == evaluations
    # The unlisted reactions are the last run's: Alopecia waits for the next one.
    unlisted = [u.signal.term.name for u in response.context["unlisted"]]
    assert unlisted == ["Retinal haemorrhage"]
