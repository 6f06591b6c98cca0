"""Consumer wording that no term codes: kept on the label, shown as awaiting coding, and coded
from the queue so that the label shows it under its term from then on."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from reference.listedness import LabelListing
from reference.models import Label, LabelEntry, TermName
from reference.revision import reference_revision
from reference.selectors import term_code
from reference.services import label_wording_code, label_wording_pending

from .test_import_label import consumer, page_with_new_lay_phrases, run_import

pytestmark = pytest.mark.django_db

ZORBLY = "zorbly flibs"


@pytest.fixture
def page(tmp_path):
    return page_with_new_lay_phrases(tmp_path, [ZORBLY, "quilted wamble"])


@pytest.fixture
def imported(inotuzumab, page):
    run_import(page, "inotuzumab ozogamicin")
    return Label.objects.get(drug=inotuzumab, is_current=True)


@pytest.fixture
def other_drug_label(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text(
        "For the Consumer\n\nMore common\n  • Zorbly-Flibs!\n\n"
        "For Healthcare Professionals\n\nVery common (10% or more): Nausea (20%)\n"
    )
    run_import(path, "Otherumab")
    return Label.objects.get(drug__name="Otherumab", is_current=True)


def paresthesia():
    [term] = term_code("Paresthesia")
    return term


def test_pending_lists_the_uncoded_wording_of_current_labels(imported, other_drug_label):
    pending = label_wording_pending()
    rows = {(p.drug.name, p.verbatim) for p in pending}
    assert rows == {
        ("inotuzumab ozogamicin", ZORBLY),
        ("inotuzumab ozogamicin", "quilted wamble"),
        ("Otherumab", "Zorbly-Flibs!"),
    }
    entries = LabelEntry.objects.in_bulk([p.entry_id for p in pending])
    assert all(entries[p.entry_id].verbatim == p.verbatim for p in pending)
    assert {p.key for p in pending if p.verbatim != "quilted wamble"} == {"zorblyflibs"}


def test_superseded_labels_are_not_pending(imported, inotuzumab, tmp_path):
    (tmp_path / "v3").mkdir()
    page = page_with_new_lay_phrases(tmp_path / "v3", ["quilted wamble"])
    run_import(page, "inotuzumab ozogamicin")
    assert [p.verbatim for p in label_wording_pending()] == ["quilted wamble"]
    assert LabelEntry.objects.filter(verbatim=ZORBLY, term__isnull=True).count() == 1


def test_coding_wording_codes_every_current_entry_with_those_words(
    imported, other_drug_label, officer
):
    term = paresthesia()
    coded = label_wording_code("ZORBLY  flibs", term, officer)
    assert {e.label_id for e in coded} == {imported.pk, other_drug_label.pk}
    assert consumer(imported)[ZORBLY].term == term
    assert consumer(other_drug_label)["Zorbly-Flibs!"].term == term
    assert consumer(imported)["quilted wamble"].term is None
    assert [p.verbatim for p in label_wording_pending()] == ["quilted wamble"]


def test_coding_is_audited_with_who_and_what(imported, officer):
    term = paresthesia()
    [entry] = label_wording_code(ZORBLY, term, officer)
    audit = AuditEntry.objects.get(target_type="labelentry", target_id=entry.pk)
    assert audit.actor == officer
    assert audit.action == "label_entry.code"
    assert audit.changes == {"term": [None, term.name], "verbatim": ZORBLY}
    assert "inotuzumab ozogamicin label v2" in audit.target_label


def test_coding_given_entries_codes_only_those(imported, other_drug_label, officer):
    entry = consumer(other_drug_label)["Zorbly-Flibs!"]
    coded = label_wording_code([entry.pk], paresthesia(), officer)
    assert [e.pk for e in coded] == [entry.pk]
    assert consumer(imported)[ZORBLY].term is None


def test_coding_words_nothing_awaits_changes_nothing(imported, officer):
    revision = reference_revision()
    assert label_wording_code("nothing like this", paresthesia(), officer) == []
    assert label_wording_code("***", paresthesia(), officer) == []
    assert reference_revision() == revision
    assert not AuditEntry.objects.filter(action="label_entry.code").exists()


def test_coding_changes_the_reference_revision(imported, officer):
    before = reference_revision()
    label_wording_code(ZORBLY, paresthesia(), officer)
    assert reference_revision() != before


def test_coded_consumer_wording_still_lists_nothing(imported, inotuzumab, officer):
    term = paresthesia()
    label_wording_code(ZORBLY, term, officer)
    assert not LabelListing.current(inotuzumab).assess(term).listed


def test_the_same_page_again_keeps_the_label_and_the_coding(imported, inotuzumab, page, officer):
    term = paresthesia()
    label_wording_code(ZORBLY, term, officer)
    out, _ = run_import(page, "inotuzumab ozogamicin")
    assert "unchanged, current version kept" in out
    assert "awaits coding: " in out and ZORBLY not in out
    current = Label.objects.get(drug=inotuzumab, is_current=True)
    assert current.pk == imported.pk
    assert consumer(current)[ZORBLY].term == term


def test_a_new_version_keeps_what_an_officer_coded(imported, inotuzumab, page, officer):
    term = paresthesia()
    label_wording_code(ZORBLY, term, officer)
    page.write_text(page.read_text().replace("Headache (28%)", "Headache (29%)"))
    out, _ = run_import(page, "inotuzumab ozogamicin")
    assert "new current version" in out
    current = Label.objects.get(drug=inotuzumab, is_current=True)
    assert current.version == 3
    assert consumer(current)[ZORBLY].term == term
    assert consumer(current)["quilted wamble"].term is None


def test_label_page_shows_wording_awaiting_coding_then_under_its_term(
    client, nurse, imported, officer, django_assert_max_num_queries
):
    client.force_login(nurse)
    with django_assert_max_num_queries(12):
        html = client.get("/drugs/inotuzumab-ozogamicin/label/").content.decode()
    assert "Consumer wording awaiting coding" in html
    assert f'<li class="lay">“{ZORBLY}”</li>' in html
    label_wording_code(ZORBLY, paresthesia(), officer)
    html = client.get("/drugs/inotuzumab-ozogamicin/label/").content.decode()
    assert f'<li class="lay">“{ZORBLY}”</li>' not in html
    assert '<li class="lay">“quilted wamble”</li>' in html


def test_api_label_gives_uncoded_wording_a_null_term(api, imported):
    body = api.get("/api/v1/drugs/inotuzumab-ozogamicin/label/").json()
    [zorbly] = [r for r in body["reactions"] if r["verbatim"] == ZORBLY]
    assert zorbly["term"] is None and zorbly["soc"] is None
    assert zorbly["awaits_coding"] is True
    assert zorbly["section"] == "consumer" and zorbly["band"] is None
    assert (zorbly["is_group"], zorbly["covers"]) == (False, [])
    [nosebleeds] = [r for r in body["reactions"] if r["verbatim"] == "nosebleeds"]
    assert (nosebleeds["term"], nosebleeds["awaits_coding"]) == ("Epistaxis", False)


def test_the_coding_queue_lists_label_wording_and_an_officers_decision_teaches_it(
    imported, officer
):
    api = APIClient()
    api.force_authenticate(officer)
    [group] = [g for g in api.get("/api/v1/coding/").json() if g["verbatim"] == ZORBLY]
    assert (group["reactions"], group["label_drugs"]) == (0, ["inotuzumab ozogamicin"])
    assert group["first_received"] is None

    response = api.post(
        "/api/v1/coding/", {"verbatim": ZORBLY, "term": "Paresthesia"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["label_entries"], response.json()["reactions"]) == (1, 0)
    entry = LabelEntry.objects.get(label=imported, verbatim=ZORBLY)
    assert str(entry.term) == "Paraesthesia"
    assert TermName.objects.filter(kind="learned", text=ZORBLY).exists()
    queued = {g["verbatim"] for g in api.get("/api/v1/coding/").json()}
    assert ZORBLY not in queued and "quilted wamble" in queued
