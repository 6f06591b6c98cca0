import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from reference.models import CtcaeCriteria, Term

from .conftest import DATA

pytestmark = pytest.mark.django_db

CTCAE_TERMS = Path(__file__).resolve().parent.parent / "reference" / "data" / "ctcae_v5.0_terms.csv"


def test_it_attaches_grade_criteria_to_the_terms():
    out = StringIO()
    call_command("import_ctcae", str(DATA / "ctcae_sample.csv"), stdout=out)
    assert "3 CTCAE terms resolved: 3 criteria added" in out.getvalue()
    criteria = Term.objects.get(name="Thrombocytopenia").ctcae
    assert criteria.ctcae_term == "Platelet count decreased"
    assert criteria.grade_3 == "Low; transfusion considered"
    assert criteria.grade_5 == ""


def test_importing_twice_changes_nothing_the_second_time():
    call_command("import_ctcae", str(DATA / "ctcae_sample.csv"), stdout=StringIO())
    out = StringIO()
    call_command("import_ctcae", str(DATA / "ctcae_sample.csv"), stdout=out)
    assert "0 criteria added, 0 updated" in out.getvalue()


def test_an_unknown_term_fails_the_whole_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        (DATA / "ctcae_sample.csv").read_text()
        + "99999999,Gastrointestinal disorders,Nausae gravis,a,b,c,d,e,f,,\n"
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_ctcae", str(bad), stdout=StringIO(), stderr=err)
    assert "'Nausae gravis' is not a known term" in err.getvalue()
    assert CtcaeCriteria.objects.count() == 0


def test_a_file_without_the_columns_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("term,grade\nNausea,1\n")
    with pytest.raises(CommandError):
        call_command("import_ctcae", str(bad), stdout=StringIO(), stderr=StringIO())


def test_every_term_of_the_published_ctcae_resolves(tmp_path):
    """The 837 terms of NCI CTCAE v5.0 (code, SOC and name) in the NCI layout, with grade
    columns of our own: every one resolves to a shipped term."""
    with CTCAE_TERMS.open(encoding="utf-8", newline="") as handle:
        terms = list(csv.DictReader(handle))
    assert len(terms) == 837
    path = tmp_path / "ctcae.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [*terms[0], *(f"Grade {g}" for g in range(1, 6)), "Definition", "Navigational Note"]
        )
        for term in terms:
            writer.writerow([*term.values(), "g1", "g2", "g3", "g4", "-", "", ""])
    out = StringIO()
    call_command("import_ctcae", str(path), stdout=out)
    assert "837 CTCAE terms resolved" in out.getvalue()
    assert CtcaeCriteria.objects.count() == 837


def test_the_form_says_why_a_term_has_no_criteria(api):
    url = "/api/v1/terms/criteria/"
    before = api.get(url, {"term": "nausea"}).json()
    assert before["grades"] == {}
    assert "not loaded" in before["missing"] and "import_ctcae" in before["missing"]

    call_command("import_ctcae", str(DATA / "ctcae_sample.csv"), stdout=StringIO())
    loaded = api.get(url, {"term": "thrombocytopenia"}).json()
    assert loaded["grades"]["3"] == "Low; transfusion considered"
    assert loaded["missing"] is None
    other = api.get(url, {"term": "headache"}).json()
    assert other["missing"] == "CTCAE v5.0 gives no grade criteria for Headache."
