"""Term names in every script: each codes to its own term, and a name with no letter or
digit names nothing and is refused where a term would be made or chosen from it."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError

from reference.models import Drug, Label, Term, TermName
from reference.normalize import compact, normalize
from reference.selectors import term_code
from reference.services import EntryInput, LabelImportError, label_import
from reports.models import Report
from spontaneous.models import CaseReportPair, Event, Product

from .factories import reaction, report_payload
from .spontaneous_data import run_import, write_csv

pytestmark = pytest.mark.django_db


def test_events_in_other_scripts_are_events_of_their_own(tmp_path):
    path = write_csv(tmp_path / "one.csv", [("1", "Examplumab", "тошнота")])
    run_import(path)
    nausea_ru = Event.objects.get(name="тошнота")
    assert nausea_ru.key == "тошнота"
    rows = [
        ("2", "Examplumab", "головная боль"),
        ("3", "Examplumab", "ТОШНОТА"),
        ("4", "X", "吐き気"),
    ]
    run_import(write_csv(tmp_path / "two.csv", rows), "--source", "one")
    names = {"тошнота", "головная боль", "吐き気"}
    assert set(Event.objects.values_list("name", flat=True)) == names
    assert CaseReportPair.objects.filter(event=nausea_ru).count() == 2
    # They name no term, and the terminology gains none.
    assert not Event.objects.filter(term__isnull=False).exists()
    assert term_code("тошнота") == []


def test_events_with_no_letter_or_digit_are_refused_with_their_lines(tmp_path):
    first = write_csv(tmp_path / "one.csv", [("1", "Examplumab", "тошнота")])
    run_import(first)
    rows = [("2", "Examplumab", "?"), ("3", "Examplumab", "..."), ("4", "Examplumab", "---")]
    with pytest.raises(CommandError) as caught:
        run_import(write_csv(tmp_path / "two.csv", rows))
    text = str(caught.value)
    for line, event in ((2, "?"), (3, "..."), (4, "---")):
        assert f"line {line}: event {event!r} has no letter or digit" in text
    assert CaseReportPair.objects.count() == 1


def test_events_differing_in_case_or_hyphens_are_one_event(tmp_path):
    rows = [("1", "Examplumab", "Foo bar baz"), ("2", "Examplumab", "FOO-BAR-BAZ")]
    out = run_import(write_csv(tmp_path / "one.csv", rows), "--source", "db")
    assert "1 new events" in out
    event = Event.objects.get(name="Foo bar baz")
    assert CaseReportPair.objects.filter(event=event).count() == 2
    run_import(
        write_csv(tmp_path / "two.csv", [("3", "Examplumab", "foo bar-baz")]), "--source", "db"
    )
    assert CaseReportPair.objects.filter(event=event).count() == 3


@pytest.mark.parametrize("term", ["?", "...", "---"])
def test_the_api_refuses_a_reaction_term_with_no_letter_or_digit(api, inotuzumab, term):
    # A term whose key was empty before names were read in every script must not catch it.
    Term.objects.create(name="тошнота", soc="Not yet classified")
    TermName.objects.create(term=Term.objects.get(name="тошнота"), text="тошнота", kind="name")
    response = api.post("/api/v1/reports/", report_payload(reaction(term)), format="json")
    assert response.status_code == 400
    [message] = response.json()["reactions"]["0"]["term"]
    assert "has no letter or digit" in message
    assert not Report.objects.exists()


def test_the_api_codes_a_reaction_term_in_another_script(api, inotuzumab):
    term = Term.objects.create(name="тошнота", soc="Gastrointestinal disorders")
    TermName.objects.create(term=term, text="тошнота", kind="name")
    response = api.post("/api/v1/reports/", report_payload(reaction("Тошнота")), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["reactions"][0]["term"] == "тошнота"


def test_a_label_entry_with_no_letter_or_digit_is_refused():
    labels = Label.objects.count()
    entries = [
        EntryInput(verbatim="Nausea", section="professional", line_no=3),
        EntryInput(verbatim="---", section="professional", line_no=4),
    ]
    with pytest.raises(LabelImportError) as caught:
        label_import(drug_name="Dashumab", entries=entries, source="test")
    assert [str(u) for u in caught.value.uncoded] == [
        "line 4: '---' has no letter or digit, so it cannot name a term"
    ]
    assert Label.objects.count() == labels


def test_a_term_or_name_with_no_letter_or_digit_cannot_be_made():
    with pytest.raises(ValidationError):
        Term(name="?", soc="Not yet classified").full_clean()
    term = Term.objects.create(name="Fooitis", soc="Not yet classified")
    with pytest.raises(ValidationError):
        TermName(term=term, text="...", kind="synonym").full_clean()
    with pytest.raises(ValueError, match="no letter or digit"):
        TermName.objects.create(term=term, text="...", kind="synonym")
    TermName(term=term, text="Фуит", kind="synonym").full_clean()


def test_the_migration_recomputes_the_keys_of_names_in_other_scripts():
    migration = importlib.import_module("reference.migrations.0003_name_keys_of_every_script")
    term = Term.objects.create(name="Anaemia of note", soc="Blood")
    keep = TermName.objects.create(term=term, text="Anaemia of note", kind="name")
    # With the keys the ASCII-only function stored.
    TermName.objects.bulk_create(
        [
            TermName(term=term, text="Anæmia of note", key="anmiaofnote", kind="synonym"),
            TermName(term=term, text="тошнота", key="", kind="synonym"),
        ]
    )
    migration.recompute_keys(apps, None)
    assert dict(TermName.objects.filter(term=term).values_list("text", "key")) == {
        "Anaemia of note": compact(normalize("Anaemia of note")),
        "тошнота": "тошнота",
    }
    assert TermName.objects.filter(pk=keep.pk).exists()
    shipped = TermName.objects.filter(shipped=True)
    assert shipped.count() > 1000
    assert all(n.key == compact(normalize(n.text)) for n in shipped)


def test_products_named_in_other_scripts_are_kept_and_drugs_get_numbered_slugs(tmp_path, api):
    rows = [("1", "Тошнотин", "Nausea"), ("2", "頭痛薬", "Headache"), ("3", "?!", "Nausea")]
    with pytest.raises(CommandError) as caught:
        run_import(write_csv(tmp_path / "one.csv", rows))
    assert "line 4: drug name '?!' has no letter or digit" in str(caught.value)
    run_import(write_csv(tmp_path / "two.csv", rows[:2]))
    assert sorted(Product.objects.values_list("name", flat=True)) == ["Тошнотин", "頭痛薬"]
    assert not Drug.objects.filter(name__in=["Тошнотин", "頭痛薬"]).exists()
    entries = [EntryInput(verbatim="Nausea", section="professional", band="common")]
    label = label_import(drug_name="Головин", entries=entries, source="test").label
    assert label.drug.slug == "drug"
    entries = [EntryInput(verbatim="Headache", section="professional", band="common")]
    assert (
        label_import(drug_name="頭痛薬", entries=entries, source="test").label.drug.slug == "drug-2"
    )
    body = report_payload(reaction("Nausea"), drug="Головин")
    response = api.post("/api/v1/reports/", body, format="json")
    assert response.status_code == 201, response.json()
    assert api.get("/api/v1/drugs/drug/label/").json()["reactions"][0]["term"] == "Nausea"
