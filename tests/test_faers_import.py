"""import_faers: FAERS quarters into the FAERS source, de-duplicated as FAERS users do it."""

import io
import zipfile
from datetime import date
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from reference.models import Drug, Term, TermName
from reference.revision import reference_revision
from spontaneous.faers import quarter_open
from spontaneous.faers_load import faers_import
from spontaneous.models import (
    CaseReport,
    CaseReportPair,
    DisproportionalityBaseline,
    Event,
    Product,
    ReportImport,
    Source,
)

from .conftest import DATA
from .faers_quarters import Case, quarter_write
from .formulary_snapshot import formulary_snapshot

SAMPLES = DATA / "faers"
CURRENT_SAMPLE = SAMPLES / "faers_ascii_2017q2.zip"
LEGACY_SAMPLE = SAMPLES / "aers_ascii_2004q1.zip"

pytestmark = pytest.mark.django_db


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command("import_faers", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def formulary() -> dict[str, Any]:
    """Everything of the formulary and terminology an import must leave alone."""
    return {
        "drugs": list(Drug.objects.order_by("pk").values_list("pk", "slug", "name", "brand_names")),
        "terms": list(Term.objects.order_by("pk").values_list("pk", "name", "soc", "is_group")),
        "names": list(TermName.objects.order_by("pk").values_list("pk", "term_id", "key", "kind")),
        "revision": reference_revision(),
    }


def pairs_of(case_key: str) -> set[tuple[str, str]]:
    return set(
        CaseReportPair.objects.filter(report__case_key=case_key).values_list(
            "product__key", "event__name"
        )
    )


def case(case_key: str) -> CaseReport:
    return CaseReport.objects.get(source__slug="faers", case_key=case_key)


def test_both_samples_import_and_leave_the_formulary_alone(officer):
    """The rows of the formulary and terminology, and what users see of them (drug list,
    term search, formulary pages, detection fan-out), are the same after both samples."""
    client = APIClient()
    client.force_login(officer)
    Drug.objects.create(slug="risperidone", name="Risperidone", brand_names=["Risperdal"])
    names = ("Risperdal", "TAVOR", "Abnormal weight gain", "Gynaecomastia", "DIARRHOEA")
    before = formulary(), formulary_snapshot(client, names)
    out = run(CURRENT_SAMPLE, LEGACY_SAMPLE)
    assert (formulary(), formulary_snapshot(client, names)) == before
    lines = out.strip().splitlines()
    # Oldest quarter first.
    assert lines[0].startswith("2004Q1 (legacy layout, aers_ascii_2004q1.zip): read 100 reports")
    assert lines[1].startswith("2017Q2 (current layout, faers_ascii_2017q2.zip): read 100 reports")
    assert "kept 100 (100 new, 0 superseding an earlier version)" in lines[1]
    source = Source.objects.get(slug="faers")
    assert CaseReport.objects.filter(source=source).count() == 200
    assert CaseReport.objects.filter(case_key__startswith="L").count() == 100
    current = ReportImport.objects.get(summary__quarter="2017Q2")
    assert current.kind == "faers"
    assert current.reports == 100
    assert current.summary["layout"] == "current"
    assert current.summary["drug_rows"] == 328
    assert current.pairs == CaseReportPair.objects.filter(report__batch=current).count() > 0
    risperdal = case("10979236")
    assert (risperdal.version, risperdal.fda_dt, risperdal.sex) == (4, date(2017, 4, 6), "male")
    assert pairs_of("10979236") == {
        ("risperidone", "Abnormal weight gain"),
        ("risperidone", "Emotional distress"),
        ("risperidone", "Gynaecomastia"),
    }
    outcomes = case("11144077")
    assert (outcomes.outcomes, outcomes.serious) == ("OT", True)
    assert not case("10979236").serious
    # Every pair is a suspect product of its case with one of its events, once.
    assert CaseReportPair.objects.count() == sum(
        r.summary["pairs"] for r in ReportImport.objects.all()
    )
    # The drug tables' baselines (every case, serious cases) are ready for the last import.
    last = ReportImport.objects.filter(source=source).latest("pk")
    baselines = DisproportionalityBaseline.objects.filter(source=source, revision=last.pk)
    assert baselines.count() == 2
    assert {b.n_reports for b in baselines} == {
        CaseReportPair.objects.values("report").distinct().count(),
        CaseReportPair.objects.filter(report__serious=True).values("report").distinct().count(),
    }
    assert lines[-1].startswith("Done: drug tables read from it until the next import")


def test_products_and_events_link_to_the_formulary_and_terms_without_creating_any():
    drug = Drug.objects.create(slug="risperidone", name="Risperidone", brand_names=["Risperdal"])
    before = formulary()
    run(CURRENT_SAMPLE)
    assert formulary() == before
    product = Product.objects.get(source__slug="faers", key="risperidone")
    assert product.drug == drug
    linked = Event.objects.filter(source__slug="faers", term__isnull=False)
    assert linked.exists()
    for event in linked:
        assert TermName.objects.filter(term=event.term, key=event.key).exists()
    assert Product.objects.filter(drug__isnull=True).exists()  # most have no formulary drug


def test_a_drug_registered_after_the_import_is_linked_at_the_next_read(officer):
    from reference.services.drugs import drug_get_or_create
    from surveillance.findings_disproportionality import disproportionality_findings

    run(CURRENT_SAMPLE)
    product = Product.objects.get(source__slug="faers", key="risperidone")
    assert product.drug is None
    drug = drug_get_or_create(name="Risperidone", brand_names=["Risperdal"])
    # A detection run for the new drug reads the FAERS products linked to it now.
    disproportionality_findings(drug)
    product.refresh_from_db()
    assert product.drug == drug
    client = APIClient()
    client.force_authenticate(officer)
    body = client.get(f"/api/v1/drugs/{drug.slug}/disproportionality/?source=faers").json()
    assert body["products"] == [product.name] and body["count"] > 0


def test_a_brand_name_links_a_product(tmp_path):
    drug = Drug.objects.create(slug="examplumab", name="Examplumab", brand_names=["Exampla"])
    path = quarter_write(tmp_path / "q.zip", [Case(1, drugs=[("PS", "EXAMPLA 10 MG", "")])])
    run(path)
    assert Product.objects.get(source__slug="faers").drug == drug


def cases_v1_v2() -> tuple[list[Case], list[Case]]:
    older = [Case(100, version=1, events=["Nausea"], drugs=[("PS", "A", "ALPHA")])]
    newer = [Case(100, version=2, fda_dt="20170801", events=["Rash"], drugs=[("PS", "B", "BETA")])]
    return older, newer


@pytest.mark.parametrize("newer_first", [False, True])
def test_the_higher_version_wins_across_quarters_in_either_order(tmp_path, newer_first):
    older, newer = cases_v1_v2()
    first = quarter_write(tmp_path / "q2.zip", older, quarter="17Q2")
    second = quarter_write(tmp_path / "q3.zip", newer, quarter="17Q3")
    for path in (second, first) if newer_first else (first, second):
        run(path)  # one path a run: the load order is the one given
    kept = case("100")
    assert kept.version == 2
    assert kept.batch.summary["quarter"] == "2017Q3"
    assert pairs_of("100") == {("beta", "Rash")}
    assert CaseReport.objects.count() == 1
    last = ReportImport.objects.order_by("-pk").first()
    assert last is not None
    assert last.summary["older" if newer_first else "superseded"] == 1


def test_a_tie_in_version_goes_to_the_later_fda_date(tmp_path):
    early = [Case(7, version=3, fda_dt="20170402", events=["Nausea"], drugs=[("PS", "A", "")])]
    late = [Case(7, version=3, fda_dt="20170920", events=["Rash"], drugs=[("PS", "A", "")])]
    run(quarter_write(tmp_path / "late.zip", late, quarter="17Q3"))
    run(quarter_write(tmp_path / "early.zip", early, quarter="17Q2"))
    assert case("7").fda_dt == date(2017, 9, 20)
    assert pairs_of("7") == {("a", "Rash")}
    run(quarter_write(tmp_path / "later.zip", [_later(early[0])], quarter="17Q4"))
    assert case("7").fda_dt == date(2017, 12, 1)
    assert pairs_of("7") == {("a", "Headache")}


def _later(case: Case) -> Case:
    return Case(
        case.caseid, version=case.version, fda_dt="20171201", events=["Headache"], drugs=case.drugs
    )


def test_a_superseding_version_replaces_the_pairs_and_the_case_in_place(tmp_path):
    older, newer = cases_v1_v2()
    run(quarter_write(tmp_path / "q2.zip", older, quarter="17Q2"))
    report_id = case("100").pk
    newer[0].outcomes = ["HO", "DE"]
    newer[0].sex = "M"
    out = run(quarter_write(tmp_path / "q3.zip", newer, quarter="17Q3"))
    assert "kept 1 (0 new, 1 superseding an earlier version)" in out
    kept = case("100")
    assert kept.pk == report_id
    assert (kept.outcomes, kept.serious, kept.sex) == ("HO DE", True, "male")
    assert not CaseReportPair.objects.filter(product__key="alpha").exists()


def test_a_delete_list_removes_cases_for_good(tmp_path):
    cases = [Case(c, events=["Nausea"], drugs=[("PS", "A", "")]) for c in (1, 2, 3)]
    run(quarter_write(tmp_path / "q1.zip", cases, quarter="18Q4"))
    # 19Q1 deletes case 2 (loaded) and case 9 (not loaded yet), and carries case 3 anew.
    update = [Case(3, version=2, events=["Rash"], drugs=[("PS", "A", "")])]
    out = run(quarter_write(tmp_path / "q2.zip", update, quarter="19Q1", deleted=[2, 9]))
    assert "deleted 1 (and 1 not loaded yet, kept out)" in out
    gone = case("2")
    assert gone.deleted_by is not None
    assert gone.deleted_by.summary["quarter"] == "2019Q1"
    assert pairs_of("2") == set()
    assert pairs_of("1") == {("a", "Nausea")}
    # An older quarter loaded later brings back neither case.
    stale = [Case(c, version=5, events=["Fatigue"], drugs=[("PS", "A", "")]) for c in (2, 9)]
    out = run(quarter_write(tmp_path / "q0.zip", stale, quarter="18Q1"))
    assert "2 deleted by an earlier list" in out
    assert pairs_of("2") == pairs_of("9") == set()
    assert case("9").deleted_by is not None
    assert CaseReportPair.objects.filter(report__deleted_by__isnull=False).count() == 0


def test_a_case_on_its_own_quarter_delete_list_is_not_kept(tmp_path):
    cases = [Case(4, events=["Nausea"], drugs=[("PS", "A", "")]), Case(5, events=["Rash"])]
    run(quarter_write(tmp_path / "q.zip", cases, quarter="19Q2", deleted=[4]))
    assert case("4").deleted_by is not None
    assert pairs_of("4") == set()


def test_legacy_and_current_keys_are_kept_apart(tmp_path):
    legacy = [Case(500, version=0, fda_dt="20120801", events=["Nausea"], drugs=[("PS", "A", "")])]
    current = [Case(500, version=1, fda_dt="20121201", events=["Rash"], drugs=[("PS", "A", "")])]
    run(quarter_write(tmp_path / "l.zip", legacy, quarter="12Q3", legacy=True))
    run(quarter_write(tmp_path / "c.zip", current, quarter="12Q4", deleted=[]))
    assert pairs_of("L500") == {("a", "Nausea")}
    assert pairs_of("500") == {("a", "Rash")}
    # A current DELETE list does not reach the legacy case of the same number.
    run(quarter_write(tmp_path / "d.zip", [], quarter="19Q1", deleted=[500]))
    assert pairs_of("L500") == {("a", "Nausea")}
    assert pairs_of("500") == set()


def test_the_same_quarter_again_changes_nothing(tmp_path):
    run(CURRENT_SAMPLE)
    before = (
        list(CaseReport.objects.order_by("pk").values()),
        list(CaseReportPair.objects.order_by("pk").values()),
    )
    out = run(CURRENT_SAMPLE)
    assert "was already imported" in out
    assert "nothing changed" in out
    assert ReportImport.objects.count() == 1
    # The same tables from a folder: another file, but the rules keep what is there.
    folder = tmp_path / "2017q2"
    with zipfile.ZipFile(CURRENT_SAMPLE) as archive:
        archive.extractall(folder)
    out = run(folder)
    assert "kept 0 (0 new, 0 superseding an earlier version); 100 older versions" in out
    after = (
        list(CaseReport.objects.order_by("pk").values()),
        list(CaseReportPair.objects.order_by("pk").values()),
    )
    assert after == before


def test_roles_choose_the_suspects(tmp_path):
    drugs = [("PS", "A", "ALPHA"), ("SS", "B", "BETA"), ("C", "C", "GAMMA"), ("I", "D", "DELTA")]
    path = quarter_write(tmp_path / "q.zip", [Case(1, drugs=drugs, events=["Nausea"])])
    run(path, "--roles", "PS")
    assert {p for p, _ in pairs_of("1")} == {"alpha"}
    other = quarter_write(tmp_path / "q2.zip", [Case(2, drugs=drugs, events=["Nausea"])])
    run(other)
    assert {p for p, _ in pairs_of("2")} == {"alpha", "beta"}
    with pytest.raises(CommandError, match="unknown drug role XX"):
        run(other, "--roles", "PS,XX")


def test_the_active_ingredient_names_the_product_else_the_drug_name(tmp_path):
    drugs = [("PS", "Risperdal 2 mg", "RISPERIDONE"), ("SS", "Tylenol.", "")]
    run(quarter_write(tmp_path / "q.zip", [Case(1, drugs=drugs, events=["Nausea"])]))
    assert {p for p, _ in pairs_of("1")} == {"risperidone", "tylenol"}
    names = dict(Product.objects.values_list("key", "name"))
    assert names == {"risperidone": "RISPERIDONE", "tylenol": "Tylenol."}


def test_crlf_lines_and_upper_case_names_in_an_ascii_folder(tmp_path):
    cases = [Case(1, drugs=[("PS", "A", "ALPHA")], events=["Nausea", "Rash"], outcomes=["HO"])]
    path = quarter_write(
        tmp_path / "faers_ascii_2024q1.zip",
        cases,
        quarter="24Q1",
        crlf=True,
        upper=True,
        folder="ASCII",
        deleted=[],
    )
    run(path)
    assert pairs_of("1") == {("alpha", "Nausea"), ("alpha", "Rash")}
    assert case("1").outcomes == "HO"


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(b"PK\x03\x04 broken"),
        lambda p: zipfile.ZipFile(p, "w").writestr("ascii/DEMO17Q2.txt", "report$case\n1$2\n"),
    ],
)
def test_a_bad_path_imports_nothing_from_any_path(tmp_path, make):
    bad = tmp_path / "bad.zip"
    make(bad)
    with pytest.raises(CommandError, match="nothing imported"):
        run(CURRENT_SAMPLE, bad)
    assert not ReportImport.objects.exists()
    assert not CaseReport.objects.exists()
    assert not Product.objects.exists()


def test_an_unknown_layout_is_refused_with_nothing_saved(tmp_path):
    path = quarter_write(tmp_path / "q.zip", [Case(1, events=["Nausea"])])
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files["ascii/DEMO17Q2.txt"] = b"report_id$case_number$version\n11$1$1\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(CommandError, match="neither primaryid"):
        run(path)
    assert not ReportImport.objects.exists()


def test_a_failure_while_writing_leaves_nothing_half_imported(tmp_path, monkeypatch):
    path = quarter_write(tmp_path / "q.zip", [Case(1, drugs=[("PS", "A", "")], events=["Rash"])])

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("spontaneous.faers_load.links_refresh", fail)
    with pytest.raises(RuntimeError):
        faers_import(quarter=quarter_open(path))
    assert not ReportImport.objects.exists()
    assert not CaseReport.objects.exists()
    assert not CaseReportPair.objects.exists()
    assert not Product.objects.exists()


def test_progress_is_told_for_every_long_step(tmp_path):
    steps: dict[str, tuple[int, int | None]] = {}
    faers_import(
        quarter=quarter_open(CURRENT_SAMPLE),
        progress=lambda step, done, total: steps.__setitem__(step, (done, total)),
    )
    assert list(steps) == [
        "reading DEMO",
        "reading OUTC",
        "reading DRUG",
        "reading REAC",
        "writing reports",
        "writing pairs",
        "linking",
    ]
    for step, (done, total) in steps.items():
        assert done == total, step
    assert steps["writing reports"] == (100, 100)


def foreign_keys() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY 1, 2",
            [[CaseReport._meta.db_table, CaseReportPair._meta.db_table]],
        )
        return list(cursor.fetchall())


def test_a_large_write_on_postgresql_puts_every_foreign_key_back(monkeypatch, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the foreign keys are set aside on PostgreSQL only")
    before = foreign_keys()
    assert len(before) == 6
    monkeypatch.setattr("spontaneous.faers_load.FOREIGN_KEYS_ASIDE_FROM", 1)
    steps: list[str] = []
    older, newer = cases_v1_v2()
    run(quarter_write(tmp_path / "q2.zip", older, quarter="17Q2"))
    faers_import(
        quarter=quarter_open(quarter_write(tmp_path / "q3.zip", newer, quarter="17Q3")),
        progress=lambda step, done, total: steps.append(step),
    )
    assert "checking references" in steps
    assert foreign_keys() == before
    assert pairs_of("100") == {("beta", "Rash")}
    # The constraints are checked again: a pair naming no product is refused.
    event = Event.objects.get(key="rash")
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseReportPair.objects.create(report=case("100"), product_id=10**9, event=event)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_planner_knows_the_tables_an_import_wrote():
    """Read at once after a bulk load, a table the planner believes empty is read the slow
    way; the import refreshes its statistics (ANALYZE) before computing its baselines."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")

    def believed() -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE relname = %s",
                [CaseReportPair._meta.db_table],
            )
            return float(cursor.fetchone()[0])

    run(CURRENT_SAMPLE)
    assert believed() == CaseReportPair.objects.count() > 0
