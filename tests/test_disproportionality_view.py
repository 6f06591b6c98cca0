"""A formulary drug read against a source of spontaneous reports: the API's table
(GET /api/v1/drugs/{slug}/disproportionality/), its CSV, and the officers' page."""

import csv
import io
from html import unescape

import pytest
from django.test import Client
from rest_framework.test import APIClient

from reference.models import Term
from spontaneous.models import Product, Source
from spontaneous.tables import product_table
from surveillance import views as surveillance_views
from surveillance.api.disproportionality import DisproportionalityPagination
from surveillance.choices import Kind, ReviewStatus
from surveillance.models import Signal

from .spontaneous_data import mark_serious, run_import, write_csv

pytestmark = pytest.mark.django_db

URL = "/api/v1/drugs/inotuzumab-ozogamicin/disproportionality/"
PAGE = "/surveillance/drugs/inotuzumab-ozogamicin/disproportionality/"
UNLINKED = "Glorbic crisis"  # an event no term of the terminology names


def regional_rows() -> list[tuple[str, ...]]:
    """225 reports. The drug is reported under its name in R1-R20 and its brand in R21-R25
    (R1 names both): Retinal haemorrhage in R1-R8 and R21-R25 (13 cases), Thrombocytopenia
    in R1-R15, the unlinked event in R16-R20. 200 reports of two other products: Nausea in
    all, Retinal haemorrhage in 20, Thrombocytopenia in 50, the unlinked event in 2."""
    rows: list[tuple[str, ...]] = []
    for i in range(1, 21):
        if i <= 8:
            rows.append((f"R{i}", "Inotuzumab ozogamicin", "Retinal haemorrhage"))
        if i <= 15:
            rows.append((f"R{i}", "Inotuzumab ozogamicin", "Thrombocytopenia"))
        else:
            rows.append((f"R{i}", "Inotuzumab ozogamicin", UNLINKED))
    rows.append(("R1", "BESPONSA", "Retinal haemorrhage"))
    rows += [(f"R{i}", "BESPONSA", "Retinal haemorrhage") for i in range(21, 26)]
    for i in range(26, 226):
        product = "Comparol" if i % 2 else "Otherine"
        rows.append((f"R{i}", product, "Nausea"))
        if i % 10 == 0:
            rows.append((f"R{i}", product, "Retinal haemorrhage"))
        if i % 4 == 0:
            rows.append((f"R{i}", product, "Thrombocytopenia"))
        if i in (27, 31):
            rows.append((f"R{i}", product, UNLINKED))
    return rows


def import_source(tmp_path, name: str, rows) -> Source:
    run_import(write_csv(tmp_path / f"{name}.csv", rows), "--source", name)
    return Source.objects.get(name=name)


@pytest.fixture
def regional(tmp_path, inotuzumab) -> Source:
    return import_source(tmp_path, "Regional database", regional_rows())


@pytest.fixture
def officer_api(officer) -> APIClient:
    client = APIClient()
    client.force_authenticate(officer)
    return client


@pytest.fixture
def officer_web(officer) -> Client:
    client = Client()
    client.force_login(officer)
    return client


def by_event(body) -> dict[str, dict]:
    return {row["event"]: row for row in body["results"]}


def hospital_signal(drug, term_name: str, kind: str, **extra) -> Signal:
    return Signal.objects.create(
        drug=drug,
        term=Term.objects.get(name=term_name),
        kind=kind,
        summary=f"{term_name}: a test signal",
        **extra,
    )


def test_every_event_reported_with_the_drug_has_its_2x2_table(officer_api, regional, inotuzumab):
    response = officer_api.get(URL, {"source": regional.slug})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"count", "next", "previous", "results", "source", "products", "note"}
    assert body["source"] == regional.slug
    # The drug is its name and its brand in the source; Nausea was never reported with it.
    assert sorted(body["products"], key=str.lower) == ["BESPONSA", "Inotuzumab ozogamicin"]
    rows = by_event(body)
    assert set(rows) == {"Retinal haemorrhage", "Thrombocytopenia", UNLINKED}
    assert body["count"] == 3
    retinal = rows["Retinal haemorrhage"]
    # R1 names both products: one case. 25 reports with the drug, 225 in all.
    assert (retinal["a"], retinal["b"], retinal["c"], retinal["d"]) == (13, 12, 20, 180)
    assert retinal["expected"] == pytest.approx(25 * 33 / 225)
    assert retinal["prr"] == pytest.approx((13 / 25) / (20 / 200))
    assert retinal["ror"] == pytest.approx(13 * 180 / (12 * 20))
    thrombo = rows["Thrombocytopenia"]
    assert (thrombo["a"], thrombo["b"], thrombo["c"], thrombo["d"]) == (15, 10, 50, 150)
    unlinked = rows[UNLINKED]
    assert (unlinked["a"], unlinked["c"]) == (5, 2)
    for row in rows.values():
        for name in ("prr_ci_low", "prr_ci_high", "ror_ci_low", "ror_ci_high", "ic", "ic025"):
            assert isinstance(row[name], float), (row["event"], name)
        assert row["prr_ci_low"] < row["prr"] < row["prr_ci_high"]
        assert row["ror_ci_low"] < row["ror"] < row["ror_ci_high"]


def test_the_figures_are_the_source_tables_and_sorted_by_eb05(officer_api, regional, inotuzumab):
    products = list(
        Product.objects.filter(source=regional, drug=inotuzumab).values_list("pk", flat=True)
    )
    expected = product_table(regional, products)
    results = officer_api.get(URL, {"source": regional.slug}).json()["results"]
    assert [r["event"] for r in results] == [row.event.name for row in expected]
    for row, stats in zip(results, expected, strict=True):
        for name in (
            "a",
            "b",
            "c",
            "d",
            "expected",
            "prr",
            "ror",
            "ic",
            "ic025",
            "ebgm",
            "eb05",
            "eb95",
        ):
            assert row[name] == (
                None if getattr(stats, name) is None else pytest.approx(getattr(stats, name))
            ), name
    eb05 = [r["eb05"] for r in results if r["eb05"] is not None]
    assert eb05 == sorted(eb05, reverse=True)


def test_beside_each_event_the_label_and_the_hospitals_own_signal(
    officer_api, regional, inotuzumab
):
    unlisted = hospital_signal(
        inotuzumab, "Retinal haemorrhage", Kind.UNLISTED, status=ReviewStatus.UNDER_VALIDATION
    )
    # A signal found in the spontaneous source itself is not the hospital's.
    hospital_signal(inotuzumab, "Thrombocytopenia", Kind.DISPROPORTIONALITY, source=regional)
    rows = by_event(officer_api.get(URL, {"source": regional.slug}).json())
    retinal, thrombo, unlinked = (
        rows["Retinal haemorrhage"],
        rows["Thrombocytopenia"],
        rows[UNLINKED],
    )
    # The seed label names Thrombocytopenia but not this bleeding site.
    assert (retinal["term"], retinal["listed"]) == ("Retinal haemorrhage", False)
    assert (thrombo["term"], thrombo["listed"]) == ("Thrombocytopenia", True)
    assert retinal["signal"] == {
        "id": unlisted.pk,
        "kind": "unlisted",
        "status": "under_validation",
    }
    assert thrombo["signal"] is None
    # An event linked to no term: neither listed nor unlisted, and no signal can name it.
    assert (unlinked["term"], unlinked["listed"], unlinked["signal"]) == (None, None, None)


def test_a_met_signal_is_shown_before_one_no_longer_met(officer_api, regional, inotuzumab):
    hospital_signal(inotuzumab, "Thrombocytopenia", Kind.SEVERITY, met=False)
    met = hospital_signal(inotuzumab, "Thrombocytopenia", Kind.INCIDENCE, met=True)
    rows = by_event(officer_api.get(URL, {"source": regional.slug}).json())
    assert rows["Thrombocytopenia"]["signal"]["id"] == met.pk


def test_min_count_keeps_events_reported_that_many_times_or_more(officer_api, regional):
    body = officer_api.get(URL, {"source": regional.slug, "min_count": 13}).json()
    assert set(by_event(body)) == {"Retinal haemorrhage", "Thrombocytopenia"}
    assert body["note"].startswith("Events reported 13 times or more in the cases of")
    rows = by_event(officer_api.get(URL, {"source": regional.slug, "min_count": 14}).json())
    assert set(rows) == {"Thrombocytopenia"}
    body = officer_api.get(URL, {"source": regional.slug, "min_count": 16}).json()
    assert body["count"] == 0
    assert "16 times or more" in body["note"]


def test_serious_counts_serious_cases_only(officer_api, regional):
    # The CSV carries no outcomes; FAERS does. Make R1-R4 and two of the others serious.
    mark_serious(regional, ["R1", "R2", "R3", "R4", "R30", "R40"])
    body = officer_api.get(URL, {"source": regional.slug, "serious": "true"}).json()
    rows = by_event(body)
    assert set(rows) == {"Retinal haemorrhage", "Thrombocytopenia"}
    retinal = rows["Retinal haemorrhage"]
    # Serious cases: 4 with the drug (all with the bleed), 2 others (both with it).
    assert (retinal["a"], retinal["b"], retinal["c"], retinal["d"]) == (4, 0, 2, 0)
    assert "serious cases" in body["note"]
    everything = by_event(
        officer_api.get(URL, {"source": regional.slug, "serious": "false"}).json()
    )
    assert everything["Retinal haemorrhage"]["a"] == 13


def test_the_only_source_is_the_default(officer_api, regional):
    response = officer_api.get(URL)
    assert response.status_code == 200
    assert response.json()["source"] == regional.slug
    assert officer_api.get(URL, {"source": ""}).json()["count"] == 3


def test_with_several_sources_one_must_be_named(officer_api, regional, tmp_path):
    other = import_source(tmp_path, "Other database", [("X1", "Comparol", "Nausea")])
    response = officer_api.get(URL)
    assert response.status_code == 400
    message = response.json()["source"][0]
    assert regional.slug in message and other.slug in message
    assert officer_api.get(URL, {"source": regional.slug}).json()["count"] == 3


def test_an_unknown_source_is_refused_naming_the_known_ones(officer_api, regional):
    response = officer_api.get(URL, {"source": "faers"})
    assert response.status_code == 400
    assert response.json() == {
        "source": [f"Unknown source 'faers'. Known sources: {regional.slug}."]
    }


def test_before_any_import_there_is_no_source_to_read(officer_api, inotuzumab):
    response = officer_api.get(URL)
    assert response.status_code == 400
    assert "no source" in response.json()["source"][0]


def test_a_source_without_the_drug_gives_an_empty_table_that_says_why(
    officer_api, regional, tmp_path
):
    other = import_source(tmp_path, "Other database", [("X1", "Comparol", "Nausea")])
    body = officer_api.get(URL, {"source": other.slug}).json()
    assert (body["count"], body["results"], body["products"]) == (0, [], [])
    assert "No product of Other database is linked to inotuzumab ozogamicin" in body["note"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"min_count": "0"}, "min_count"),
        ({"min_count": "many"}, "min_count"),
        ({"serious": "maybe"}, "serious"),
        ({"source": "x" * 61}, "source"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(officer_api, regional, query, field):
    response = officer_api.get(URL, {"source": regional.slug, **query})
    assert response.status_code == 400
    assert field in response.json()


def test_an_unknown_drug_or_page_is_404(officer_api, regional):
    assert officer_api.get("/api/v1/drugs/no-such-drug/disproportionality/").status_code == 404
    assert officer_api.get(URL, {"page": 9}).status_code == 404


def test_the_table_pages_like_other_lists(officer_api, regional, monkeypatch):
    monkeypatch.setattr(DisproportionalityPagination, "page_size", 2)
    first = officer_api.get(URL, {"source": regional.slug}).json()
    assert (first["count"], len(first["results"])) == (3, 2)
    assert first["previous"] is None and "page=2" in first["next"]
    assert f"source={regional.slug}" in first["next"]
    second = officer_api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_csv_holds_every_row_with_the_filters_and_no_formula(officer_api, tmp_path, inotuzumab):
    formula = "=HYPERLINK(1)"
    rows = [*regional_rows(), *((f"R{i}", "Inotuzumab ozogamicin", formula) for i in (300, 301))]
    source = import_source(tmp_path, "Regional database", rows)
    response = officer_api.get(URL, {"source": source.slug, "min_count": 2, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (
        f'filename="inotuzumab-ozogamicin-{source.slug}-disproportionality.csv"'
        in response["Content-Disposition"]
    )
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    events = {row["event"]: row for row in table}
    assert set(events) == {"Retinal haemorrhage", "Thrombocytopenia", UNLINKED, "'=HYPERLINK(1)"}
    assert list(table[0]) == [
        "event", "term", "a", "b", "c", "d", "expected", "prr", "prr_ci_low", "prr_ci_high",
        "ror", "ror_ci_low", "ror_ci_high", "ic", "ic025", "ebgm", "eb05", "eb95", "listed",
        "signal_id", "signal_kind", "signal_status",
    ]  # fmt: skip
    retinal = events["Retinal haemorrhage"]
    assert (retinal["a"], retinal["listed"], retinal["term"]) == (
        "13",
        "False",
        "Retinal haemorrhage",
    )
    assert float(retinal["prr"]) == pytest.approx((13 / 27) / (20 / 200))
    # Every page in one file, whatever the page size.
    assert len(table) == 4


def test_a_refusal_is_json_even_when_csv_was_asked(officer_api, regional):
    response = officer_api.get(URL, {"source": "nowhere", "format": "csv"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "source" in response.json()


def test_officers_only(regional, nurse):
    assert APIClient().get(URL).status_code == 401
    as_nurse = APIClient()
    as_nurse.force_authenticate(nurse)
    assert as_nurse.get(URL, {"source": regional.slug}).status_code == 403
    web = Client()
    web.force_login(nurse)
    assert web.get(PAGE).status_code == 403
    assert Client().get(PAGE)["Location"].startswith("/login/")


def test_a_few_queries_however_many_events(
    officer_api, tmp_path, inotuzumab, django_assert_max_num_queries
):
    many = [(f"R{i}", "Inotuzumab ozogamicin", f"Event {i}") for i in range(300)]
    many += [("S1", "Inotuzumab ozogamicin", "Thrombocytopenia"), ("S2", "Comparol", "Nausea")]
    source = import_source(tmp_path, "Regional database", many)
    hospital_signal(inotuzumab, "Thrombocytopenia", Kind.INCIDENCE)
    officer_api.get(URL, {"source": source.slug})  # the source's baseline, computed once
    # One of them sees that the source's links are as current as the reference data.
    with django_assert_max_num_queries(13):
        body = officer_api.get(URL, {"source": source.slug}).json()
    assert body["count"] == 301


# The page.


def test_the_drug_page_links_each_source_where_the_drug_is_reported(
    officer_web, regional, tmp_path
):
    import_source(tmp_path, "Other database", [("X1", "Comparol", "Nausea")])
    html = unescape(officer_web.get("/surveillance/drugs/inotuzumab-ozogamicin/").content.decode())
    assert "In spontaneous reports" in html
    assert f'href="{PAGE}?source={regional.slug}">Regional database</a>' in html
    assert "Other database: no product linked to inotuzumab ozogamicin" in html


def test_the_page_shows_the_table_with_rounded_figures(officer_web, regional, inotuzumab):
    signal = hospital_signal(inotuzumab, "Retinal haemorrhage", Kind.UNLISTED)
    response = officer_web.get(PAGE)
    assert response.status_code == 200
    html = unescape(response.content.decode())
    rows = response.context["page"].object_list
    products = Product.objects.filter(source=regional, drug=inotuzumab).values_list("pk", flat=True)
    assert [r.event for r in rows] == [
        t.event.name for t in product_table(regional, list(products))
    ]
    retinal = next(r for r in rows if r.event == "Retinal haemorrhage")
    assert f"{retinal.stats.prr:.2f}" in html
    assert f'href="/surveillance/signals/{signal.pk}/"' in html
    assert "Not listed" in html and "Listed" in html
    assert "linked to no term" in html
    assert f'href="{URL}?source={regional.slug}&format=csv"' in html, (
        "the CSV link keeps the filters"
    )


def test_the_page_keeps_its_filters_in_the_csv_link_and_the_pager(
    officer_web, regional, monkeypatch
):
    monkeypatch.setattr(surveillance_views, "TABLE_ROWS_PER_PAGE", 1)
    mark_serious(regional, ["R1", "R2"])
    response = officer_web.get(PAGE, {"source": regional.slug, "serious": "on", "min_count": "2"})
    html = unescape(response.content.decode())
    assert f'href="{URL}?source={regional.slug}&serious=true&min_count=2&format=csv"' in html
    assert response.context["form"]["serious"].value() is True
    # Retinal haemorrhage and Thrombocytopenia, each in R1 and R2: two pages of one.
    assert response.context["page"].paginator.count == 2
    assert f'href="?source={regional.slug}&serious=on&min_count=2&page=2"' in html


def test_bad_filters_redisplay_the_form_with_what_was_typed(officer_web, regional):
    response = officer_web.get(PAGE, {"source": regional.slug, "min_count": "-3"})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert 'value="-3"' in html
    assert "greater than or equal to 1" in html
    assert response.context["table"] is None


def test_the_page_before_any_import_says_so(officer_web, inotuzumab):
    html = unescape(officer_web.get(PAGE).content.decode())
    assert "No spontaneous reports have been imported yet" in html


def test_a_drug_registered_after_the_import_is_read_at_once(officer_api, regional):
    """Links follow the formulary: a drug registered, or a brand name added, after the
    source's import finds its products at the next read, not at the next import."""
    from reference.services.drugs import drug_get_or_create

    comparol = drug_get_or_create(name="Comparol")
    body = officer_api.get(
        f"/api/v1/drugs/{comparol.slug}/disproportionality/", {"source": regional.slug}
    ).json()
    assert body["products"] == ["Comparol"]
    nausea = by_event(body)["Nausea"]
    assert (nausea["a"], nausea["b"]) == (100, 0)
    # A brand name added to a drug links the product of that name too.
    drug_get_or_create(name="Comparol", brand_names=["Otherine"])
    body = officer_api.get(
        f"/api/v1/drugs/{comparol.slug}/disproportionality/", {"source": regional.slug}
    ).json()
    assert sorted(body["products"]) == ["Comparol", "Otherine"]
    assert by_event(body)["Nausea"]["a"] == 200


def test_a_term_name_learned_after_the_import_links_its_event(officer_api, regional):
    from reference.choices import NameKind
    from reference.models import TermName

    unlinked = by_event(officer_api.get(URL, {"source": regional.slug}).json())[UNLINKED]
    assert unlinked["term"] is None
    retinal = Term.objects.get(name="Retinal haemorrhage")
    TermName.objects.create(term=retinal, text=UNLINKED, kind=NameKind.SYNONYM)
    rows = by_event(officer_api.get(URL, {"source": regional.slug}).json())
    assert rows[UNLINKED]["term"] == "Retinal haemorrhage"
    # Nothing changed since: the next read refreshes nothing.
    regional.refresh_from_db()
    from spontaneous.links import source_links_current

    assert source_links_current(regional) is False
