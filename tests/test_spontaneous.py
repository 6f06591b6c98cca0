"""Spontaneous reports: import_reports, and disproportionality signals in detection runs."""

import csv
import io
import random

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from reference.models import Drug, Term
from reference.selectors import term_code
from reports.choices import Sex
from spontaneous.models import CaseReport, CaseReportPair, DisproportionalityBaseline, ReportImport
from spontaneous.services import NEW_TERM_SOC
from surveillance.choices import Kind
from surveillance.models import Signal, SignalEvaluation

from .spontaneous_data import EVENTS, database_rows, pvda_rows, run_import, write_csv


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
def test_import_codes_drugs_and_events_and_counts_unique_reports(tmp_path):
    path = write_csv(tmp_path / "sample.csv", cohort_rows())
    out = run_import(path, "--new-drugs")
    assert "100 reports from sample" in out
    assert "3 new drugs" in out
    assert CaseReport.objects.count() == 100
    examplumab = Drug.objects.get(name="Examplumab")
    nausea = Term.objects.get(name="Nausea")
    assert CaseReportPair.objects.filter(drug=examplumab, term=nausea).count() == 12
    # Every event coded to the terminology, the repeated lower-case pair included.
    assert CaseReportPair.objects.count() == len(set(cohort_rows())) - 1


@pytest.mark.django_db
def test_a_file_imported_twice_changes_nothing(tmp_path):
    path = write_csv(tmp_path / "sample.csv", cohort_rows())
    run_import(path, "--new-drugs")
    out = run_import(path, "--new-drugs")
    assert "already imported" in out
    assert ReportImport.objects.count() == 1
    assert CaseReport.objects.count() == 100


@pytest.mark.django_db
def test_bad_rows_are_all_listed_and_nothing_is_imported(tmp_path):
    rows = [
        ("1", "Examplumab", "Nausea", "Female"),
        ("2", "", "Nausea", "Male"),
        ("3", "Examplumab", "Nausae", "Male"),
        ("1", "Examplumab", "Headache", "Male"),
        ("4", "Examplumab", "Headache", "Martian"),
    ]
    path = write_csv(tmp_path / "bad.csv", rows, header=("id", "var1", "var2", "strat1"))
    with pytest.raises(CommandError) as caught:
        run_import(path, "--new-drugs")
    text = str(caught.value)
    assert "line 3: no drug" in text
    assert "line 4: event 'Nausae' codes to no term; closest: Nausea" in text
    assert "line 5: report 1 has another sex than on line 2" in text
    assert "line 6: sex 'Martian'" in text
    assert "nothing imported: 4 problems" in text
    assert not CaseReport.objects.exists()
    assert not Drug.objects.filter(name="Examplumab").exists()


@pytest.mark.django_db
def test_the_sexes_of_imported_reports_are_kept_as_the_product_records_a_patients(tmp_path):
    rows = [
        ("1", "Examplumab", "Nausea", "F"),
        ("2", "Examplumab", "Nausea", "Male"),
        ("3", "Examplumab", "Nausea", ""),
        ("4", "Examplumab", "Nausea", "not reported"),
    ]
    path = write_csv(tmp_path / "sexes.csv", rows, header=("id", "drug", "event", "gender"))
    run_import(path, "--new-drugs")
    sexes = dict(CaseReport.objects.values_list("source_id", "sex"))
    assert sexes == {"1": Sex.FEMALE, "2": Sex.MALE, "3": Sex.UNKNOWN, "4": Sex.UNKNOWN}


@pytest.mark.django_db
def test_unknown_drugs_and_events_are_refused_unless_allowed(tmp_path):
    path = write_csv(tmp_path / "new.csv", [("1", "Examplumab", "Emotional distress")])
    with pytest.raises(CommandError) as caught:
        run_import(path)
    assert "line 2: unknown drug 'Examplumab'" in str(caught.value)
    assert "codes to no term" in str(caught.value)

    out = run_import(path, "--new-drugs", "--new-terms")
    assert "1 new terms" in out
    term = Term.objects.get(name="Emotional distress")
    assert term.soc == NEW_TERM_SOC
    # The new term is part of the terminology at once: the next file codes to it.
    assert term_code("EMOTIONAL DISTRESS") == [term]


@pytest.mark.django_db
def test_a_report_id_already_imported_from_the_source_is_refused(tmp_path):
    run_import(write_csv(tmp_path / "one.csv", [("1", "Examplumab", "Nausea")]), "--new-drugs")
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
        run_import(path, "--new-drugs")
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
    run_import(write_csv(tmp_path / "database.csv", rows), "--new-drugs")
    call_command("detect_signals", stdout=io.StringIO())
    met = Signal.objects.filter(kind=Kind.DISPROPORTIONALITY, drug__name="Examplumab", met=True)
    assert [s.term.name for s in met] == ["Nausea"]
    signal = met.get()
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
    assert DisproportionalityBaseline.objects.count() == 1
    # The comparators' pairs are reported at the background rates: none is a signal.
    assert not Signal.objects.filter(
        kind=Kind.DISPROPORTIONALITY, drug__name__startswith="Comparol", met=True
    ).exists()

    evaluations = SignalEvaluation.objects.count()
    call_command("detect_signals", stdout=io.StringIO())
    assert SignalEvaluation.objects.count() == evaluations

    client = APIClient()
    client.force_authenticate(officer)
    body = client.get(f"/api/v1/signals/{signal.pk}/").json()
    assert body["kind"] == "disproportionality"
    assert body["disproportionality"]["a"] == a
    # The API's figures of every kind: the drug's reports and the other drugs' share.
    assert (body["cases"], body["exposed"]) == (a, a + b)
    assert body["expected_pct"] == pytest.approx(100 * c / (c + d))
    assert body["evaluations"][-1]["exposed"] == a + b
    assert body["disproportionality"]["ror"] == pytest.approx(a * d / (b * c))

    client.force_login(officer)
    page = client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert f"a = {a}" in page and f"d = {d}" in page
    assert f"b = {b}</td><td>{a + b}</td>" in page
    for method in ("MGPS (EBGM)", "PRR", "ROR", "IC"):
        assert method in page
    listing = client.get("/surveillance/signals/", {"kind": "disproportionality"})
    text = listing.content.decode()
    assert "Nausea" in text and f"EB05 {n['eb05']:.2f}" in text
    assert f">{a} / {a + b}</td>" in text
    exported = client.get("/surveillance/signals.csv", {"kind": "disproportionality"})
    exported_rows = csv.DictReader(io.StringIO(exported.content.decode()))
    nausea = next(r for r in exported_rows if r["term"] == "Nausea")
    assert (nausea["a"], nausea["d"]) == (str(a), str(d))
    assert nausea["exposed"] == str(a + b)
    assert float(nausea["expected_pct"]) == pytest.approx(100 * c / (c + d))
    assert float(nausea["eb05"]) == pytest.approx(n["eb05"])


@pytest.mark.django_db
def test_the_rule_is_configurable(tmp_path, settings):
    settings.DISPROPORTIONALITY_RULE = "prr"
    run_import(write_csv(tmp_path / "database.csv", database_rows()), "--new-drugs")
    call_command("detect_signals", stdout=io.StringIO())
    signal = Signal.objects.get(kind=Kind.DISPROPORTIONALITY, drug__name="Examplumab", met=True)
    assert signal.statistics["rule"] == "prr"


@pytest.mark.django_db
def test_pvda_figures_through_the_database(settings, tmp_path):
    """The published pvda figures, from reports with the same 2x2 tables imported into the
    database and counted there (the statistics alone are tested in test_disproportionality)."""
    # Every pair with IC025 > 0 is a signal, so both pairs below are kept.
    settings.DISPROPORTIONALITY_RULE = "ic"
    run_import(write_csv(tmp_path / "pvda.csv", pvda_rows()), "--new-drugs", "--new-terms")
    call_command("detect_signals", "--drug", "drug_z", stdout=io.StringIO())
    signals = {
        s.term.name: s.statistics
        for s in Signal.objects.filter(kind=Kind.DISPROPORTIONALITY, drug__name="Drug_Z")
    }
    one = signals["Event_1"]
    assert one["a"] == 88
    assert one["expected"] == pytest.approx(55.568, abs=1e-3)
    assert one["ic"] == pytest.approx(0.65849985, abs=1e-6)
    assert one["ic025"] == pytest.approx(0.34117708, abs=1e-6)
    assert one["prr"] == pytest.approx(1.767077, abs=1e-6)
    assert (one["prr_low"], one["prr_high"]) == pytest.approx((1.497466, 2.085230), abs=1e-6)
    assert one["ror"] == pytest.approx(2.838549, abs=1e-6)
    assert (one["ror_low"], one["ror_high"]) == pytest.approx((1.992917, 4.042998), abs=1e-6)
    assert signals["Event_2"]["ic025"] == pytest.approx(0.16814416, abs=1e-6)


@pytest.mark.django_db
def test_a_database_too_small_for_a_prior_still_runs(tmp_path):
    run_import(write_csv(tmp_path / "one.csv", [("1", "Examplumab", "Nausea")]), "--new-drugs")
    out = io.StringIO()
    call_command("detect_signals", stdout=out)
    assert "succeeded" in out.getvalue()
    baseline = DisproportionalityBaseline.objects.get()
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
    run_import(write_csv(tmp_path / "confounded.csv", rows, header=header), "--new-drugs")

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
    out = run_import(path, "--new-drugs", "--new-terms", "--check")
    assert "Check only, nothing kept: would import 1 reports" in out
    assert "1 new drugs, 1 new terms" in out
    assert not ReportImport.objects.exists()
    assert not Drug.objects.filter(name="Examplumab").exists()
    assert not Term.objects.filter(name="Emotional distress").exists()
    assert term_code("Emotional distress") == []
    # The real import afterwards is not taken for a repeat of the check.
    assert "1 reports from new" in run_import(path, "--new-drugs", "--new-terms")


@pytest.mark.django_db
def test_an_import_that_loses_a_race_says_so_and_keeps_nothing(tmp_path, monkeypatch):
    """Two imports creating the same drug at once: the second one's insert fails on the
    unique name; it reports that and leaves nothing behind."""
    from spontaneous import services

    real_create = services._create_drugs

    def racing_create(names):
        # The other import commits the same drug between our check and our insert.
        Drug.objects.create(name="Examplumab", slug="examplumab-other")
        return real_create(names)

    monkeypatch.setattr(services, "_create_drugs", racing_create)
    path = write_csv(tmp_path / "race.csv", [("1", "Examplumab", "Nausea")])
    with pytest.raises(CommandError, match="another import wrote some of the same"):
        run_import(path, "--new-drugs")
    assert not CaseReport.objects.exists()
    assert not ReportImport.objects.exists()
