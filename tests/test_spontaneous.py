"""Spontaneous reports: import_reports into a source's own products and events, product
tables, and disproportionality signals of formulary drugs in detection runs."""

import csv
import io
import random

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from reference.models import Drug, Term
from reference.selectors import term_code
from reports.choices import Sex
from spontaneous.baseline import baseline_method
from spontaneous.models import (
    CaseReport,
    CaseReportPair,
    DisproportionalityBaseline,
    Event,
    Product,
    ReportImport,
    Source,
)
from spontaneous.tables import product_table
from surveillance.choices import Kind
from surveillance.models import Signal, SignalEvaluation

from .formulary_snapshot import formulary_snapshot
from .spontaneous_data import (
    EVENTS,
    database_rows,
    formulary,
    mark_serious,
    pvda_rows,
    pvda_tables,
    run_import,
    write_csv,
)


def cohort_rows() -> list[tuple[str, ...]]:
    """100 reports: Examplumab with nausea in 12 of its 20 reports, nausea in 8 of the 80
    reports of other drugs; headache everywhere at the same rate."""
    rows: list[tuple[str, ...]] = []
    for i in range(100):
        drug = "Examplumab" if i < 20 else ("Otherine" if i % 2 else "Thirdamab")
        events = ["Headache"] if i % 4 == 0 else ["Fatigue"]
        if (i < 20 and i < 12) or (i >= 20 and i < 28):
            events.append("Nausea")
        rows += [(f"R{i}", drug, event) for event in events]
    # A report repeating a pair counts once.
    rows.append(("R0", "Examplumab", "nausea"))
    return rows


@pytest.mark.django_db
def test_import_keeps_products_and_events_of_the_source_and_counts_unique_reports(tmp_path):
    [examplumab] = formulary("Examplumab")
    drugs = Drug.objects.count()
    path = write_csv(tmp_path / "sample.csv", cohort_rows())
    out = run_import(path)
    assert "100 reports from sample" in out
    assert "3 new products, 3 new events" in out
    assert "sample now has 3 products (1 linked to formulary drugs) and 3 events (3 linked" in out
    assert CaseReport.objects.count() == 100
    source = Source.objects.get(name="sample")
    assert source.slug == "sample"
    # Products and events stay the source's own: the formulary gains no drug.
    assert Drug.objects.count() == drugs
    links = dict(Product.objects.filter(source=source).values_list("name", "drug__name"))
    assert links == {"Examplumab": "Examplumab", "Otherine": None, "Thirdamab": None}
    nausea = Event.objects.get(source=source, term=Term.objects.get(name="Nausea"))
    product = Product.objects.get(drug=examplumab)
    assert CaseReportPair.objects.filter(product=product, event=nausea).count() == 12
    # Every row a pair, the repeated lower-case pair counted once.
    assert CaseReportPair.objects.count() == len(set(cohort_rows())) - 1


@pytest.mark.django_db
def test_a_file_imported_twice_changes_nothing(tmp_path):
    path = write_csv(tmp_path / "sample.csv", cohort_rows())
    run_import(path)
    out = run_import(path)
    assert "already imported" in out
    assert ReportImport.objects.count() == 1
    assert CaseReport.objects.count() == 100


@pytest.mark.django_db
def test_bad_rows_are_all_listed_and_nothing_is_imported(tmp_path):
    rows = [
        ("1", "Examplumab", "Nausea", "Female"),
        ("2", "", "Nausea", "Male"),
        ("3", "Examplumab", "--?--", "Male"),
        ("1", "Examplumab", "Headache", "Male"),
        ("4", "Examplumab", "Headache", "Martian"),
    ]
    path = write_csv(tmp_path / "bad.csv", rows, header=("id", "var1", "var2", "strat1"))
    with pytest.raises(CommandError) as caught:
        run_import(path)
    text = str(caught.value)
    assert "line 3: no drug" in text
    assert "line 4: event '--?--' has no letter or digit" in text
    assert "line 5: report 1 has another sex than on line 2" in text
    assert "line 6: sex 'Martian'" in text
    assert "nothing imported: 4 problems" in text
    assert not CaseReport.objects.exists()
    assert not Source.objects.exists()
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_the_sexes_of_imported_reports_are_kept_as_the_product_records_a_patients(tmp_path):
    rows = [
        ("1", "Examplumab", "Nausea", "F"),
        ("2", "Examplumab", "Nausea", "Male"),
        ("3", "Examplumab", "Nausea", ""),
        ("4", "Examplumab", "Nausea", "not reported"),
    ]
    path = write_csv(tmp_path / "sexes.csv", rows, header=("id", "drug", "event", "gender"))
    run_import(path)
    sexes = dict(CaseReport.objects.values_list("case_key", "sex"))
    assert sexes == {"1": Sex.FEMALE, "2": Sex.MALE, "3": Sex.UNKNOWN, "4": Sex.UNKNOWN}


@pytest.mark.django_db
def test_unknown_drugs_and_events_stay_the_sources_own_without_links(tmp_path):
    path = write_csv(tmp_path / "new.csv", [("1", "Examplumab", "Emotional distress")])
    out = run_import(path)
    assert "1 new products, 1 new events" in out
    assert "(0 linked to formulary drugs)" in out and "(0 linked to terms)" in out
    assert not Drug.objects.filter(name="Examplumab").exists()
    assert not Term.objects.filter(name="Emotional distress").exists()
    assert term_code("Emotional distress") == []
    event = Event.objects.get(name="Emotional distress")
    assert event.term is None
    assert Product.objects.get(name="Examplumab").drug is None


@pytest.mark.django_db
def test_links_are_refreshed_for_the_whole_source_at_each_import(tmp_path):
    run_import(write_csv(tmp_path / "one.csv", [("1", "EXAMPLUMAB", "Nausea")]), "--source", "db")
    product = Product.objects.get(name="EXAMPLUMAB")
    assert product.drug is None
    # The site registers the drug (under a brand name the source does not use) afterwards.
    [drug] = formulary("examplumab")
    drug.brand_names = ["Exampla"]
    drug.save()
    run_import(
        write_csv(
            tmp_path / "two.csv", [("2", "Exampla", "Headache"), ("2", "examplumab", "Fever")]
        ),
        "--source",
        "DB",
    )
    # One source (named in any case), one product per name in any case, both linked.
    assert Source.objects.count() == 1
    assert dict(Product.objects.values_list("name", "drug__name")) == {
        "EXAMPLUMAB": "examplumab",
        "Exampla": "examplumab",
    }
    assert Event.objects.get(name="Fever").term == Term.objects.get(name="Pyrexia")


@pytest.mark.django_db
def test_a_report_id_already_imported_from_the_source_is_refused(tmp_path):
    run_import(write_csv(tmp_path / "one.csv", [("1", "Examplumab", "Nausea")]))
    second = write_csv(tmp_path / "two.csv", [("1", "Examplumab", "Headache")])
    with pytest.raises(CommandError) as caught:
        run_import(second, "--source", "one")
    assert "report 1 of one was imported before" in str(caught.value)
    # From another database, the same id is another report.
    run_import(second, "--source", "elsewhere")
    assert CaseReport.objects.count() == 2


@pytest.mark.django_db
def test_a_header_without_the_event_column_is_refused(tmp_path):
    path = write_csv(tmp_path / "h.csv", [("1", "Examplumab")], header=("report_id", "drug"))
    with pytest.raises(CommandError) as caught:
        run_import(path)
    assert "missing column (event: one of event, reaction, term)" in str(caught.value)


def naive_table(rows, drug: str, event: str) -> tuple[int, int, int, int]:
    reports = {r[0] for r in rows}
    with_drug = {r[0] for r in rows if r[1] == drug}
    with_event = {r[0] for r in rows if r[2] == event}
    a = len(with_drug & with_event)
    b = len(with_drug) - a
    c = len(with_event) - a
    return a, b, c, len(reports) - a - b - c


@pytest.mark.django_db
def test_detection_flags_the_disproportionate_pair_with_its_table(tmp_path, officer):
    rows = database_rows()
    formulary("Examplumab")
    run_import(write_csv(tmp_path / "database.csv", rows))
    call_command("detect_signals", stdout=io.StringIO())
    met = Signal.objects.filter(kind=Kind.DISPROPORTIONALITY, drug__name="Examplumab", met=True)
    assert [s.term.name for s in met] == ["Nausea"]
    signal = met.get()
    # The signal names the source of the reports, in its identity and its words.
    assert signal.source == Source.objects.get(name="database")
    assert "spontaneous reports with Examplumab in database" in signal.summary
    n = signal.statistics
    a, b, c, d = naive_table(rows, "Examplumab", "Nausea")
    assert (n["a"], n["b"], n["c"], n["d"]) == (a, b, c, d)
    assert n["prr"] == pytest.approx((a / (a + b)) / (c / (c + d)))
    assert n["ror"] == pytest.approx(a * d / (b * c))
    assert n["eb05"] >= 2
    assert n["rule"] == "mgps"
    assert (signal.cases, signal.drug_reports) == (a, a + b)
    # No treated patients behind a pair of the spontaneous reports.
    assert (signal.exposed, signal.expected_pct) == (0, None)
    assert signal.background_pct == pytest.approx(100 * c / (c + d))
    # Computed at the end of the import (every case, serious cases), read by the run.
    assert sorted(DisproportionalityBaseline.objects.values_list("method", flat=True)) == [
        baseline_method(),
        baseline_method(serious=True),
    ]
    # The comparators are no formulary drugs: no signal, but their tables are readable, and
    # their pairs, reported at the background rates, are not disproportionate.
    assert (
        not Signal.objects.exclude(drug__name="Examplumab")
        .filter(kind=Kind.DISPROPORTIONALITY)
        .exists()
    )
    comparol = Product.objects.get(name="Comparol 3")
    table = product_table(signal.source, [comparol.pk])
    assert table and all((row.eb05 or 0.0) < 2 for row in table)

    evaluations = SignalEvaluation.objects.count()
    call_command("detect_signals", stdout=io.StringIO())
    assert SignalEvaluation.objects.count() == evaluations

    client = APIClient()
    client.force_authenticate(officer)
    body = client.get(f"/api/v1/signals/{signal.pk}/").json()
    assert body["kind"] == "disproportionality"
    assert body["source"] == "database"
    assert body["disproportionality"]["a"] == a
    # The API's figures of every kind: the drug's reports and the other drugs' share.
    assert (body["cases"], body["exposed"]) == (a, a + b)
    assert body["expected_pct"] == pytest.approx(100 * c / (c + d))
    assert body["evaluations"][-1]["exposed"] == a + b
    assert body["disproportionality"]["ror"] == pytest.approx(a * d / (b * c))
    # The signals of one source: its disproportionality signals, not the label's.
    Signal.objects.create(
        drug=signal.drug, term=signal.term, kind=Kind.INCIDENCE, summary="Nausea: from the cohort"
    )
    listed = client.get("/api/v1/signals/", {"source": "database"}).json()
    from_source = Signal.objects.filter(source=signal.source)
    assert {s["id"] for s in listed["results"]} == set(from_source.values_list("pk", flat=True))
    assert signal.pk in {s["id"] for s in listed["results"]}
    assert client.get("/api/v1/signals/").json()["count"] == from_source.count() + 1
    refused = client.get("/api/v1/signals/", {"source": "no-such-source"})
    assert refused.status_code == 400 and "source" in refused.json()

    client.force_login(officer)
    page = client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert f"a = {a}" in page and f"d = {d}" in page
    assert f"b = {b}</td><td>{a + b}</td>" in page
    for method in ("MGPS (EBGM)", "PRR", "ROR", "IC"):
        assert method in page
    assert "Spontaneous reports of database (unique reports)" in page
    listing = client.get("/surveillance/signals/", {"kind": "disproportionality"})
    text = listing.content.decode()
    assert "in database</div>" in text
    assert "Nausea" in text and f"EB05 {n['eb05']:.2f}" in text
    assert f">{a} / {a + b}</td>" in text
    exported = client.get("/surveillance/signals.csv", {"kind": "disproportionality"})
    exported_rows = csv.DictReader(io.StringIO(exported.content.decode()))
    nausea = next(r for r in exported_rows if r["term"] == "Nausea")
    assert (nausea["a"], nausea["d"]) == (str(a), str(d))
    assert nausea["source"] == "database"
    assert nausea["exposed"] == str(a + b)
    assert float(nausea["expected_pct"]) == pytest.approx(100 * c / (c + d))
    assert float(nausea["eb05"]) == pytest.approx(n["eb05"])


@pytest.mark.django_db
def test_the_rule_is_configurable(tmp_path, settings):
    settings.DISPROPORTIONALITY_RULE = "prr"
    formulary("Examplumab")
    run_import(write_csv(tmp_path / "database.csv", database_rows()))
    call_command("detect_signals", stdout=io.StringIO())
    signal = Signal.objects.get(kind=Kind.DISPROPORTIONALITY, drug__name="Examplumab", met=True)
    assert signal.statistics["rule"] == "prr"


@pytest.mark.django_db
def test_pvda_figures_through_the_database(settings, tmp_path):
    """The published pvda figures, from reports with the same 2x2 tables imported into the
    database and counted there (the statistics alone are tested in test_disproportionality):
    Drug_Z is no formulary drug and its events no terms, yet its table is read."""
    run_import(write_csv(tmp_path / "pvda.csv", pvda_rows()))
    source = Source.objects.get(name="pvda")
    drug_z = Product.objects.get(source=source, name="Drug_Z")
    table = {row.event.name: row for row in product_table(source, [drug_z.pk])}
    assert set(table) == {"Event_1", "Event_2"}
    one = table["Event_1"]
    assert (one.a, one.b, one.c, one.d) == tuple(int(pvda_tables()["Event_1"][k]) for k in "abcd")
    assert one.a == 88
    assert one.expected == pytest.approx(55.568, abs=1e-3)
    assert one.ic == pytest.approx(0.65849985, abs=1e-6)
    assert one.ic025 == pytest.approx(0.34117708, abs=1e-6)
    assert one.prr == pytest.approx(1.767077, abs=1e-6)
    assert (one.prr_ci_low, one.prr_ci_high) == pytest.approx((1.497466, 2.085230), abs=1e-6)
    assert one.ror == pytest.approx(2.838549, abs=1e-6)
    assert (one.ror_ci_low, one.ror_ci_high) == pytest.approx((1.992917, 4.042998), abs=1e-6)
    assert table["Event_2"].ic025 == pytest.approx(0.16814416, abs=1e-6)
    # No formulary drug, so detection raises nothing from these reports.
    call_command("detect_signals", stdout=io.StringIO())
    assert not Signal.objects.filter(kind=Kind.DISPROPORTIONALITY).exists()


@pytest.mark.django_db
def test_a_database_too_small_for_a_prior_still_runs(tmp_path):
    formulary("Examplumab")
    run_import(write_csv(tmp_path / "one.csv", [("1", "Examplumab", "Nausea")]))
    out = io.StringIO()
    call_command("detect_signals", stdout=out)
    assert "succeeded" in out.getvalue()
    baseline = DisproportionalityBaseline.objects.get(method=baseline_method())
    assert baseline.n_reports == 1
    assert not Signal.objects.filter(kind=Kind.DISPROPORTIONALITY, met=True).exists()


def confounded_rows() -> list[tuple[str, ...]]:
    """Headache is reported far more often by women, and Femicor only by women: without
    strata Femicor looks disproportionate for headache; within each sex it is not."""
    rng = random.Random(11)
    others = [e for e in EVENTS if e != "Headache"]
    rows: list[tuple[str, ...]] = []
    for i in range(3000):
        drug = "Femicor" if i < 300 else f"Comparol {i % 30}"
        female = drug == "Femicor" or rng.random() < 0.3
        events = set(rng.sample(others, rng.randint(1, 2)))
        if rng.random() < (0.6 if female else 0.02):
            events.add("Headache")
        sex = "Female" if female else "Male"
        rows += [(f"S{i}", drug, event, sex) for event in sorted(events)]
    return rows


def stratified_expected_by_hand(rows, drug: str, event: str) -> float:
    total = 0.0
    for sex in ("Female", "Male"):
        stratum = [r for r in rows if r[3] == sex]
        reports = {r[0] for r in stratum}
        with_drug = {r[0] for r in stratum if r[1] == drug}
        with_event = {r[0] for r in stratum if r[2] == event}
        total += len(with_drug) * len(with_event) / len(reports)
    return total


@pytest.mark.django_db
def test_mgps_by_sex_strata_removes_a_signal_that_sex_alone_explains(tmp_path, settings):
    rows = confounded_rows()
    header = ("report_id", "drug", "event", "sex")
    formulary("Femicor")
    run_import(write_csv(tmp_path / "confounded.csv", rows, header=header))

    call_command("detect_signals", stdout=io.StringIO())
    signal = Signal.objects.get(
        kind=Kind.DISPROPORTIONALITY, drug__name="Femicor", term__name="Headache"
    )
    crude = dict(signal.statistics)
    assert signal.met and crude["eb05"] >= 2
    assert crude["expected_stratified"] is None

    settings.DISPROPORTIONALITY_STRATIFY = "sex"
    call_command("detect_signals", stdout=io.StringIO())
    signal.refresh_from_db()
    n = signal.statistics
    assert n["expected_stratified"] == pytest.approx(
        stratified_expected_by_hand(rows, "Femicor", "Headache")
    )
    assert n["expected_stratified"] > 2 * n["expected"]
    # The 2x2 statistics are the same; MGPS, against the stratified E, no longer flags it.
    assert (n["a"], n["prr"], n["ror"]) == (crude["a"], crude["prr"], crude["ror"])
    assert n["eb05"] < 2 and not signal.met
    baseline = DisproportionalityBaseline.objects.get(method="N*=1; by sex")
    assert baseline.strata[Sex.FEMALE]["n"] > 0


@pytest.mark.django_db
def test_a_check_says_what_would_be_imported_and_keeps_nothing(tmp_path):
    path = write_csv(tmp_path / "new.csv", [("1", "Examplumab", "Emotional distress")])
    out = run_import(path, "--check")
    assert "Check only, nothing kept: would import 1 reports" in out
    assert "1 new products, 1 new events" in out
    assert not ReportImport.objects.exists()
    assert not Source.objects.exists()
    assert not Product.objects.exists() and not Event.objects.exists()
    # The real import afterwards is not taken for a repeat of the check.
    assert "1 reports from new" in run_import(path)


@pytest.mark.django_db
def test_an_import_that_loses_a_race_says_so_and_keeps_nothing(tmp_path, monkeypatch):
    """Two imports into one source writing the same report at once: the second one's insert
    fails on the source's unique report id; it reports that and leaves nothing behind."""
    from spontaneous import services

    run_import(write_csv(tmp_path / "first.csv", [("1", "Otherine", "Nausea")]), "--source", "s")
    real_check = services._already_imported

    def racing_check(source, sex_of, problems):
        real_check(source, sex_of, problems)
        # The other import commits report 2 between our check and our insert.
        CaseReport.objects.create(source=source, case_key="2", batch=ReportImport.objects.get())

    monkeypatch.setattr(services, "_already_imported", racing_check)
    path = write_csv(tmp_path / "race.csv", [("2", "Examplumab", "Nausea")])
    with pytest.raises(CommandError, match="another import wrote some of the same"):
        run_import(path, "--source", "s")
    assert list(CaseReport.objects.values_list("case_key", flat=True)) == ["1"]
    assert ReportImport.objects.count() == 1
    assert list(Product.objects.values_list("name", flat=True)) == ["Otherine"]


@pytest.mark.django_db
def test_the_formulary_and_the_terminology_are_unchanged_by_an_import(tmp_path, officer):
    """The nurses' drug list, the term search, the pages listing the formulary and the drugs
    an all-drugs detection run covers are the same after importing unknown drugs and events
    (and drugs and events the product knows)."""
    client = APIClient()
    client.force_login(officer)
    formulary("Examplumab")
    names = ("Unheardofmab", "5-HOUR ENERGY", "Emotional distress", "Energy increased")
    before = formulary_snapshot(client, names)
    rows = [
        ("1", "Unheardofmab", "Emotional distress"),
        ("1", "5-HOUR ENERGY", "Energy increased"),
        ("2", "5 HOUR ENERGY", "Nausea"),
        ("3", "Examplumab", "Headache"),
        ("3", "Examplumab", "EMOTIONAL-DISTRESS"),
    ]
    run_import(write_csv(tmp_path / "world.csv", rows))
    assert Product.objects.count() == 4 and Event.objects.count() == 4
    assert formulary_snapshot(client, names) == before


@pytest.mark.django_db
def test_a_product_table_is_sorted_by_eb05_and_filtered(tmp_path):
    run_import(write_csv(tmp_path / "database.csv", database_rows()))
    source = Source.objects.get()
    examplumab = Product.objects.get(name="Examplumab")
    table = product_table(source, [examplumab.pk])
    eb05 = [row.eb05 for row in table if row.eb05 is not None]
    assert len(eb05) == len(table)
    assert table[0].event.name == "Nausea" and eb05[0] >= 2
    assert eb05 == sorted(eb05, reverse=True)
    rows = database_rows()
    for row, figure in zip(table, eb05, strict=True):
        assert (row.a, row.b, row.c, row.d) == naive_table(rows, "Examplumab", row.event.name)
        assert row.met_by["mgps"] == (figure >= 2)
    few = product_table(source, [examplumab.pk], min_count=20)
    assert [r.event.name for r in few] == [r.event.name for r in table if r.a >= 20]
    # Two products as one unit: a report naming either counts once.
    comparols = list(Product.objects.filter(name__in=["Comparol 1", "Comparol 2"]))
    both = {r.event.name: r for r in product_table(source, [p.pk for p in comparols])}
    one = {r.event.name: r for r in product_table(source, [comparols[0].pk])}
    assert both["Headache"].a + both["Headache"].b == 2 * (one["Headache"].a + one["Headache"].b)
    # Serious cases only (a CSV has no outcomes; as FAERS would mark every other case).
    mark_serious(source, [f"R{i}" for i in range(0, 3000, 2)])
    serious = product_table(source, [examplumab.pk], serious=True)
    assert serious and all(r.a + r.b == 75 for r in serious)
    assert sum(r.a for r in serious) < sum(r.a for r in table)


@pytest.mark.django_db
def test_a_drug_is_a_signal_in_each_source_and_an_events_names_are_one_term(tmp_path):
    formulary("Examplumab")
    rows = database_rows()
    run_import(write_csv(tmp_path / "one.csv", rows), "--source", "first")
    # The second source writes nausea under two names, both Nausea in the terminology.
    renamed = [
        (f"X{r[0]}", r[1], "Sickness" if r[2] == "Nausea" and int(r[0][1:]) % 2 else r[2])
        for r in rows
    ]
    from reference.models import TermName

    TermName.objects.create(term=Term.objects.get(name="Nausea"), text="Sickness", kind="synonym")
    run_import(write_csv(tmp_path / "two.csv", renamed), "--source", "second")
    call_command("detect_signals", stdout=io.StringIO())
    signals = Signal.objects.filter(
        kind=Kind.DISPROPORTIONALITY, drug__name="Examplumab", term__name="Nausea"
    )
    assert sorted(str(s.source) for s in signals) == ["first", "second"]
    first, second = sorted(signals, key=lambda s: str(s.source))
    # Both names together: the same reports as the first source's.
    assert (second.statistics["a"], second.statistics["c"]) == (
        first.statistics["a"],
        first.statistics["c"],
    )
    assert second.statistics["eb05"] >= 2


@pytest.mark.django_db
def test_a_product_named_with_its_salt_and_strength_links_to_the_formulary_drug(tmp_path):
    [drug] = formulary("examplumab")
    rows = [("1", "EXAMPLUMAB HYDROCHLORIDE 10 MG", "Nausea"), ("2", "Examplumab-X", "Nausea")]
    run_import(write_csv(tmp_path / "salt.csv", rows), "--source", "db")
    links = dict(Product.objects.values_list("name", "drug"))
    assert links == {"EXAMPLUMAB HYDROCHLORIDE 10 MG": drug.pk, "Examplumab-X": None}


@pytest.mark.django_db
def test_the_pair_rows_counted_are_exactly_the_sources(tmp_path):
    """The baseline reads a source's pair rows in one pass (a binary COPY on PostgreSQL):
    they are the rows of that source, of its serious cases when asked, and none at all
    for a selection without rows."""
    from spontaneous.baseline import pair_rows, source_counts, source_pairs

    run_import(write_csv(tmp_path / "sample.csv", cohort_rows()))
    run_import(write_csv(tmp_path / "other.csv", database_rows()))
    sample = Source.objects.get(name="sample")
    mark_serious(sample, [f"R{i}" for i in range(0, 100, 3)])
    for source in Source.objects.all():
        for serious in (False, True):
            pairs = source_pairs(source, serious=serious)
            expected = set(pairs.values_list("report_id", "product_id", "event_id"))
            reports, products, events = pair_rows(pairs)
            assert reports.dtype == products.dtype == events.dtype == "int64"
            found = set(zip(reports.tolist(), products.tolist(), events.tolist(), strict=True))
            assert found == expected and len(reports) == len(expected)
    counted = source_counts(sample, serious=True)
    assert counted.n_reports == 34
    nothing = pair_rows(source_pairs(sample).filter(report__case_key="no such case"))
    assert [len(column) for column in nothing] == [0, 0, 0]
