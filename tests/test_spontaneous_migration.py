"""The migration that moves spontaneous reports to their own products and events: what
earlier imports added to the formulary and the terminology leaves them, and every report,
pair and reviewed signal stays."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reference.normalize import name_key

BEFORE = [
    ("spontaneous", "0004_case_report_sex_values"),
    ("surveillance", "0008_one_active_manual_run"),
]
AFTER = [("spontaneous", "0007_drop_formulary_columns")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    moved = {app for app, _ in targets}
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in moved]
    return executor.loader.project_state(others + targets).apps


@pytest.fixture(autouse=True)
def latest_schema_after():
    """The other tests find the database at the latest migrations."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _old_data(apps):
    """Two sources of reports as the old imports left them, with what the formulary and
    the terminology were given for them."""
    Drug = apps.get_model("reference", "Drug")
    Term = apps.get_model("reference", "Term")
    TermName = apps.get_model("reference", "TermName")
    ReportImport = apps.get_model("spontaneous", "ReportImport")
    CaseReport = apps.get_model("spontaneous", "CaseReport")
    Pair = apps.get_model("spontaneous", "CaseReportPair")
    Signal = apps.get_model("surveillance", "Signal")
    SignalEvaluation = apps.get_model("surveillance", "SignalEvaluation")
    DetectionRun = apps.get_model("surveillance", "DetectionRun")
    DrugRun = apps.get_model("surveillance", "DrugRun")
    DrugLock = apps.get_model("surveillance", "DrugLock")
    Baseline = apps.get_model("spontaneous", "DisproportionalityBaseline")

    formulary = Drug.objects.get(slug="inotuzumab-ozogamicin")
    nausea = Term.objects.get(name="Nausea")
    created = {
        name: Drug.objects.create(name=name, slug=f"drug-{i}")
        for i, name in enumerate(("Examplumab", "Reviewedol", "Fish oil", "FISH OIL"))
    }
    new_terms = {}
    for name in ("Foo reaction", "Bar reaction"):
        new_terms[name] = Term.objects.create(name=name, soc="Not yet classified", source="local")
        TermName.objects.create(term=new_terms[name], text=name, key=name.lower(), kind="name")
    # An officer coded someone's words to this one: the terminology keeps it.
    TermName.objects.create(term=new_terms["Bar reaction"], text="bar", key="bar", kind="learned")

    pairs = [
        ("CAERS", "1", formulary, nausea),
        ("CAERS", "1", created["Examplumab"], new_terms["Foo reaction"]),
        ("CAERS", "2", created["Examplumab"], nausea),
        ("CAERS", "2", created["Fish oil"], nausea),
        ("CAERS", "2", created["FISH OIL"], nausea),
        ("CAERS", "3", created["Reviewedol"], new_terms["Bar reaction"]),
        ("regional", "1", created["Examplumab"], nausea),
        ("regional", "1", formulary, new_terms["Foo reaction"]),
    ]
    for source in ("CAERS", "regional"):
        mine = [p for p in pairs if p[0] == source]
        batch = ReportImport.objects.create(
            source=source,
            file_name=f"{source}.csv",
            sha256=source * 4,
            rows=len(mine),
            reports=len({p[1] for p in mine}),
            pairs=len(mine),
            drugs_created=4,
            terms_created=2,
        )
        for _, report_id, drug, term in mine:
            report, _ = CaseReport.objects.get_or_create(
                batch=batch, source=source, source_id=report_id
            )
            Pair.objects.create(report=report, batch=batch, drug=drug, term=term)
    Baseline.objects.create(revision=2, n_reports=5, pairs=8, drug_reports={}, term_reports={})

    run = DetectionRun.objects.create(trigger="manual", drug=created["Examplumab"])
    DrugRun.objects.create(run=run, drug=created["Examplumab"])
    DrugLock.objects.create(drug=created["Examplumab"])
    everything = DetectionRun.objects.create(trigger="manual")
    for drug in (formulary, created["Examplumab"]):
        DrugRun.objects.create(run=everything, drug=drug)
    unreviewed = Signal.objects.create(
        drug=created["Examplumab"], term=nausea, kind="disproportionality", summary="s"
    )
    SignalEvaluation.objects.create(signal=unreviewed, run=run, met=True, cases=2, exposed=0)
    Signal.objects.create(
        drug=formulary, term=new_terms["Foo reaction"], kind="disproportionality", summary="s"
    )
    Signal.objects.create(
        drug=created["Reviewedol"],
        term=new_terms["Bar reaction"],
        kind="disproportionality",
        summary="s",
        status="under_validation",
    )
    Signal.objects.create(drug=formulary, term=nausea, kind="disproportionality", summary="s")


@pytest.mark.django_db(transaction=True)
def test_imports_leave_the_formulary_and_keep_every_report_and_reviewed_signal():
    _old_data(_migrate(BEFORE))
    apps = _migrate(AFTER)
    Drug = apps.get_model("reference", "Drug")
    Term = apps.get_model("reference", "Term")
    Source = apps.get_model("spontaneous", "Source")
    Product = apps.get_model("spontaneous", "Product")
    Event = apps.get_model("spontaneous", "Event")
    ReportImport = apps.get_model("spontaneous", "ReportImport")
    CaseReport = apps.get_model("spontaneous", "CaseReport")
    Pair = apps.get_model("spontaneous", "CaseReportPair")
    Signal = apps.get_model("surveillance", "Signal")
    DetectionRun = apps.get_model("surveillance", "DetectionRun")
    DrugRun = apps.get_model("surveillance", "DrugRun")
    DrugLock = apps.get_model("surveillance", "DrugLock")
    Baseline = apps.get_model("spontaneous", "DisproportionalityBaseline")

    assert dict(Source.objects.values_list("name", "slug")) == {
        "CAERS": "caers",
        "regional": "regional",
    }
    caers, regional = Source.objects.get(name="CAERS"), Source.objects.get(name="regional")
    assert set(ReportImport.objects.values_list("file_name", "source__name")) == {
        ("CAERS.csv", "CAERS"),
        ("regional.csv", "regional"),
    }
    assert sorted(CaseReport.objects.values_list("source__name", "case_key")) == [
        ("CAERS", "1"),
        ("CAERS", "2"),
        ("CAERS", "3"),
        ("regional", "1"),
    ]
    # Every pair is kept; the two cases of fish oil are one product now, so report 2's
    # fish oil and nausea is one pair.
    assert Pair.objects.count() == 7
    assert sorted(
        Pair.objects.filter(report__source=caers).values_list(
            "report__case_key", "product__name", "event__name"
        )
    ) == [
        ("1", "Examplumab", "Foo reaction"),
        ("1", "inotuzumab ozogamicin", "Nausea"),
        ("2", "Examplumab", "Nausea"),
        ("2", "Fish oil", "Nausea"),
        ("3", "Reviewedol", "Bar reaction"),
    ]

    # The drugs imports created leave the formulary, except one with a reviewed signal.
    assert set(Drug.objects.values_list("name", flat=True)) == {
        "inotuzumab ozogamicin",
        "Reviewedol",
    }
    links = {
        (p.source.name, p.name): p.drug.name if p.drug else None
        for p in Product.objects.select_related("source", "drug")
    }
    assert links == {
        ("CAERS", "inotuzumab ozogamicin"): "inotuzumab ozogamicin",
        ("CAERS", "Examplumab"): None,
        ("CAERS", "Fish oil"): None,
        ("CAERS", "Reviewedol"): "Reviewedol",
        ("regional", "Examplumab"): None,
        ("regional", "inotuzumab ozogamicin"): "inotuzumab ozogamicin",
    }
    assert Product.objects.get(source=caers, name="Fish oil").key == "fish oil"
    # Likewise the terms: the one an officer's coding taught a name stays.
    assert not Term.objects.filter(name="Foo reaction").exists()
    assert Term.objects.filter(name="Bar reaction").exists()
    events = {
        (e.source.name, e.name): e.term.name if e.term else None
        for e in Event.objects.select_related("source", "term")
    }
    assert events == {
        ("CAERS", "Nausea"): "Nausea",
        ("CAERS", "Foo reaction"): None,
        ("CAERS", "Bar reaction"): "Bar reaction",
        ("regional", "Nausea"): "Nausea",
        ("regional", "Foo reaction"): None,
    }
    assert Event.objects.get(source=regional, name="Foo reaction").key == name_key("FOO-Reaction")

    # Computed data of what left goes; the reviewed signal stays, each naming its source.
    signals = {
        (s.drug.name, s.term.name): (s.status, s.source.name if s.source else None)
        for s in Signal.objects.select_related("drug", "term", "source")
    }
    assert signals == {
        ("Reviewedol", "Bar reaction"): ("under_validation", "CAERS"),
        ("inotuzumab ozogamicin", "Nausea"): ("new", "CAERS"),
    }
    assert list(DetectionRun.objects.values_list("drug", flat=True)) == [None]
    assert list(DrugRun.objects.values_list("drug__name", flat=True)) == ["inotuzumab ozogamicin"]
    assert not DrugLock.objects.exists()
    assert not Baseline.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_undone_the_products_and_events_become_drugs_and_terms_again():
    _old_data(_migrate(BEFORE))
    _migrate(AFTER)
    apps = _migrate(BEFORE)
    Drug = apps.get_model("reference", "Drug")
    Pair = apps.get_model("spontaneous", "CaseReportPair")
    assert Drug.objects.filter(name="Examplumab").exists()
    assert Pair.objects.filter(drug__isnull=True).count() == 0
    assert sorted(
        Pair.objects.filter(report__source="regional").values_list("drug__name", "term__name")
    ) == [("Examplumab", "Nausea"), ("inotuzumab ozogamicin", "Foo reaction")]
