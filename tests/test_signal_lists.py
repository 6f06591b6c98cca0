"""The officer's long lists: a signal's cases and the signal dashboard, sorted by a column,
paged, and every parameter kept from one page to the next."""

import csv
import io
import itertools
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from reports.models import Reaction
from surveillance.models import Signal
from surveillance.review import MoveRefused, signal_move
from surveillance.services import run_create, run_execute

from .cohort import Case, CohortBuilder
from .signals_bulk import make_signals

pytestmark = pytest.mark.django_db

CASES = 40


@pytest.fixture
def officer_client(client: Client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def retinal(inotuzumab, nurse) -> Signal:
    """An unlisted bleeding site in 40 patients: grades 1 to 4, every fifth case serious,
    onsets spread over a month and one not known."""
    cohort = CohortBuilder(inotuzumab, nurse, nurse.site)
    cohort.register(100)
    for i in range(1, CASES + 1):
        serious = ["hospitalization"] if i % 5 == 0 else []
        cohort.report(i, Case("Retinal haemorrhage", grade=1 + i % 4, seriousness=serious))
    for n, reaction in enumerate(Reaction.objects.select_related("report__patient").order_by("id")):
        reaction.onset_date = None if n == 7 else date(2026, 9, 1) + timedelta(days=n * 7 % 30)
        reaction.save(update_fields=["onset_date"])
        # References as long as the product's own and a hospital's record numbers.
        reaction.report.reference = f"AE-2026-{reaction.report.pk:06d}"
        reaction.report.save(update_fields=["reference"])
        reaction.report.patient.reference = f"MRN-ONCOLOGY-{reaction.report.patient.pk:08d}"
        reaction.report.patient.save(update_fields=["reference"])
    run_execute(run_create(trigger="manual"))
    return Signal.objects.get(term__name="Retinal haemorrhage")


def case_list(client, signal, **params):
    """Every case of every page of the list, in the order shown."""
    rows, page = [], 1
    while True:
        response = client.get(f"/surveillance/signals/{signal.pk}/", {**params, "page": page})
        assert response.status_code == 200
        rows += list(response.context["case_page"])
        if not response.context["case_page"].has_next():
            return rows
        page += 1


def received(reactions):
    return sorted(reactions, key=lambda r: (r.report.received_at, r.pk))


class TestTheCaseList:
    def test_it_shows_25_cases_a_page_under_the_total(self, officer_client, retinal):
        response = officer_client.get(f"/surveillance/signals/{retinal.pk}/")
        html = response.content.decode()
        assert len(response.context["case_page"]) == 25
        assert f"Cases ({CASES})" in html
        assert "Page 1 of 2" in html and "1\N{EN DASH}25 of 40" in html
        second = officer_client.get(f"/surveillance/signals/{retinal.pk}/", {"page": 2})
        assert len(second.context["case_page"]) == CASES - 25
        assert "26\N{EN DASH}40 of 40" in second.content.decode()

    def test_its_csv_keeps_every_case(self, officer_client, retinal):
        response = officer_client.get(f"/surveillance/signals/{retinal.pk}/cases.csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert len(rows) == CASES

    def test_it_reads_in_the_order_received_unless_sorted(self, officer_client, retinal):
        shown = case_list(officer_client, retinal)
        assert shown == received(shown)

    def test_it_sorts_by_grade_both_ways_equal_grades_in_the_order_received(
        self, officer_client, retinal
    ):
        up = case_list(officer_client, retinal, sort="grade")
        assert up == sorted(received(up), key=lambda r: r.grade)
        down = case_list(officer_client, retinal, sort="-grade")
        assert down == sorted(received(down), key=lambda r: -r.grade)

    def test_it_sorts_by_onset_unknown_onsets_last_both_ways(self, officer_client, retinal):
        up = case_list(officer_client, retinal, sort="onset")
        known = [r for r in up if r.onset_date]
        assert up[:-1] == sorted(received(known), key=lambda r: r.onset_date)
        assert up[-1].onset_date is None
        down = case_list(officer_client, retinal, sort="-onset")
        assert down[0].onset_date == max(r.onset_date for r in known)
        assert down[-1].onset_date is None

    def test_it_sorts_serious_cases_first_the_highest_grade_first(self, officer_client, retinal):
        shown = case_list(officer_client, retinal, sort="-serious")
        assert shown == sorted(received(shown), key=lambda r: (not r.serious, -r.grade))
        assert shown[0].serious and not shown[-1].serious

    @pytest.mark.parametrize("sort", ["bogus", "-", "--grade", "report__patient", "grade; drop"])
    def test_an_unknown_sort_reads_as_the_order_received(self, officer_client, retinal, sort):
        shown = case_list(officer_client, retinal, sort=sort)
        assert shown == received(shown)

    def test_a_page_out_of_range_shows_the_last_page(self, officer_client, retinal):
        response = officer_client.get(f"/surveillance/signals/{retinal.pk}/", {"page": "99"})
        assert response.context["case_page"].number == 2

    def test_its_headers_sort_and_toggle_and_its_pager_keeps_the_sort(
        self, officer_client, retinal
    ):
        url = f"/surveillance/signals/{retinal.pk}/"
        html = officer_client.get(url).content.decode()
        assert 'href="?sort=-grade#cases"' in html  # the highest grades first
        assert 'href="?sort=onset#cases"' in html
        assert "aria-sort" not in html
        html = officer_client.get(url, {"sort": "-grade", "page": 2}).content.decode()
        assert 'aria-sort="descending"><a href="?sort=grade#cases"' in html
        assert 'href="?sort=-grade&amp;page=1#cases">Previous' in html
        assert "▼" in html

    def test_its_queries_do_not_grow_with_the_cases(
        self, officer_client, retinal, django_assert_max_num_queries
    ):
        with django_assert_max_num_queries(30):
            officer_client.get(f"/surveillance/signals/{retinal.pk}/", {"sort": "-serious"})


@pytest.fixture
def many_signals(inotuzumab):
    make_signals(120)
    for n, signal in enumerate(Signal.objects.order_by("pk")):
        signal.first_detected_at -= timedelta(hours=n * 37 % 100)
        signal.save(update_fields=["first_detected_at"])
    return Signal.objects.exclude(status__in=["not_validated", "refuted", "confirmed"])


def dashboard_rows(client, **params):
    response = client.get("/surveillance/signals/", params)
    assert response.status_code == 200
    return response, list(response.context["page"])


class TestTheDashboard:
    @pytest.mark.parametrize(
        ("sort", "key"),
        [
            ("term", lambda s: s.term.name.lower()),
            ("-term", lambda s: s.term.name.lower()),
            ("drug", lambda s: s.drug.name.lower()),
            ("kind", lambda s: s.get_kind_display()),
            ("-kind", lambda s: s.get_kind_display()),
            ("cases", lambda s: s.cases),
            ("-cases", lambda s: s.cases),
            ("observed", lambda s: s.observed_pct),
            ("first_seen", lambda s: s.first_detected_at),
            ("-first_seen", lambda s: s.first_detected_at),
            ("status", lambda s: ["new", "under_validation", "validated"].index(s.status)),
            ("-status", lambda s: ["new", "under_validation", "validated"].index(s.status)),
            ("priority", lambda s: ["low", "medium", "high"].index(s.priority)),
            ("-priority", lambda s: ["low", "medium", "high"].index(s.priority)),
        ],
    )
    def test_it_sorts_by_each_column_both_ways(self, officer_client, many_signals, sort, key):
        _, rows = dashboard_rows(officer_client, sort=sort, per_page=100)
        keys = [key(s) for s in rows]
        assert keys == sorted(keys, reverse=sort.startswith("-"))

    def test_p_values_sort_smallest_first_unlisted_ones_last(self, officer_client, many_signals):
        _, rows = dashboard_rows(officer_client, sort="p", per_page=100)
        p_values = [s.p_value for s in rows if s.p_value is not None]
        assert p_values == sorted(p_values)
        assert rows[-1].p_value is None

    def test_equal_rows_keep_the_usual_order_across_pages(self, officer_client, many_signals):
        whole = []
        for page in (1, 2, 3, 4, 5):
            _, rows = dashboard_rows(officer_client, sort="kind", per_page=25, page=page)
            whole += rows
        assert len(whole) == len({s.pk for s in whole}) == many_signals.count()
        _, usual = dashboard_rows(officer_client, per_page=100)
        usual += dashboard_rows(officer_client, per_page=100, page=2)[1]
        order = {s.pk: n for n, s in enumerate(usual)}
        kinds = [s.get_kind_display() for s in whole]
        assert kinds == sorted(kinds)
        for a, b in itertools.pairwise(whole):
            if a.kind == b.kind:
                assert order[a.pk] < order[b.pk]

    @pytest.mark.parametrize("sort", ["nope", "-", "id", "term__name", "-priority_rank"])
    def test_an_unknown_sort_reads_as_the_usual_order(self, officer_client, many_signals, sort):
        response, rows = dashboard_rows(officer_client, sort=sort)
        assert [s.pk for s in rows] == [s.pk for s in dashboard_rows(officer_client)[1]]
        assert "high priority first, then the strongest evidence" in response.content.decode()

    @pytest.mark.parametrize(("asked", "shown"), [("25", 25), ("100", 100), ("", 50), ("7", 50)])
    def test_it_offers_a_page_size(self, officer_client, many_signals, asked, shown):
        response, rows = dashboard_rows(officer_client, per_page=asked)
        assert len(rows) == shown
        assert response.context["form"]["per_page"].value() == str(shown)
        assert f'<option value="{shown}" selected>{shown}</option>' in response.content.decode()

    def test_paging_keeps_the_filters_the_sort_and_the_page_size(
        self, officer_client, many_signals
    ):
        response, _ = dashboard_rows(
            officer_client, kind="unlisted", sort="-cases", per_page=25, page=2
        )
        html = response.content.decode()
        pager = html[html.index('class="pager"') :]
        href = pager[pager.index('href="') + 6 : pager.index('">Previous')]
        assert parse_qs(urlsplit(href.replace("&amp;", "&")).query) == {
            "kind": ["unlisted"],
            "sort": ["-cases"],
            "per_page": ["25"],
            "page": ["1"],
        }
        # The filter form sends the sort back; a header keeps the filters and page size.
        assert '<input type="hidden" name="sort" value="-cases"' in html
        assert 'href="?kind=unlisted&amp;sort=cases&amp;per_page=25"' in html

    def test_the_csv_follows_the_sort(self, officer_client, many_signals):
        response = officer_client.get("/surveillance/signals.csv", {"sort": "-cases"})
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert len(rows) == many_signals.count()
        assert [int(r["cases"]) for r in rows] == sorted(
            (int(r["cases"]) for r in rows), reverse=True
        )

    def test_a_sorted_page_makes_a_bounded_number_of_queries(
        self, officer_client, many_signals, django_assert_max_num_queries
    ):
        with django_assert_max_num_queries(12):
            officer_client.get(
                "/surveillance/signals/", {"sort": "-status", "per_page": 100, "page": 2}
            )


class TestReviewMovesInWords:
    def test_a_move_the_review_does_not_allow_is_refused_in_words(self, officer, retinal):
        with pytest.raises(MoveRefused) as refused:
            signal_move(actor=officer, signal=retinal, status="validated", comment="skip")
        assert refused.value.errors["status"] == [
            "A signal that is New can move to Under validation, not to Validated."
        ]
        signal_move(actor=officer, signal=retinal, status="under_validation", comment="look")
        with pytest.raises(MoveRefused) as refused:
            signal_move(actor=officer, signal=retinal, status="confirmed", comment="skip")
        assert refused.value.errors["status"] == [
            "A signal that is Under validation can move to Validated or Not validated (closed),"
            " not to Confirmed (closed)."
        ]

    def test_a_closed_signal_is_said_to_be_closed(self, officer, retinal):
        signal_move(actor=officer, signal=retinal, status="under_validation", comment="look")
        signal_move(actor=officer, signal=retinal, status="not_validated", comment="known")
        with pytest.raises(MoveRefused) as refused:
            signal_move(actor=officer, signal=retinal, status="validated", comment="again")
        assert refused.value.errors["status"] == [
            "A signal that is Not validated (closed) cannot move to Validated:"
            " its review is closed."
        ]

    def test_the_api_names_the_recommended_actions_in_words(self, officer, retinal):
        from rest_framework.test import APIClient

        api = APIClient()
        api.force_authenticate(officer)
        url = f"/api/v1/signals/{retinal.pk}/"
        for status in ["under_validation", "validated", "under_assessment"]:
            moved = api.patch(url, {"status": status, "comment": "ok"}, format="json")
            assert moved.status_code == 200
        refused = api.patch(url, {"status": "confirmed", "comment": "real"}, format="json")
        assert refused.status_code == 400
        assert refused.json()["recommended_action"] == [
            "A confirmed signal needs a recommended action: label update, risk-minimisation"
            " measure, further study or no action."
        ]
        wrong = api.patch(url, {"status": "new", "comment": "back"}, format="json")
        assert wrong.json()["status"] == [
            "A signal that is Under assessment can move to Refuted (closed) or Confirmed"
            " (closed), not to New."
        ]


def test_a_move_sent_from_a_stale_page_is_refused_in_words(officer_client, officer, retinal):
    signal_move(actor=officer, signal=retinal, status="under_validation", comment="look")
    # The page was loaded while the signal was New: it offered Under validation.
    response = officer_client.post(
        f"/surveillance/signals/{retinal.pk}/",
        {"status": "under_validation", "comment": "I look too"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "A signal that is Under validation can move to Validated or Not validated (closed),"
        " not to Under validation." in html
    )
    assert "not one of the available choices" not in html
    assert 'value="validated"' in html and 'value="under_validation"' not in html
    retinal.refresh_from_db()
    assert retinal.status == "under_validation"
