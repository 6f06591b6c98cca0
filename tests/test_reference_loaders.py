"""Reloading the shipped reference data: labels on their own fingerprint, never over a
site's own label; the terminology loader removes what the file no longer has."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from reference import loaders
from reference.models import GroupMembership, Label, ReferenceDataset, Term, TermName
from reference.selectors import term_code, term_search

pytestmark = pytest.mark.django_db


def current(drug):
    return Label.objects.get(drug=drug, is_current=True)


def import_local_label(tmp_path, drug):
    """A site imports its own (newer) label for the seed drug."""
    path = tmp_path / "local.txt"
    path.write_text(
        "For Healthcare Professionals\n"
        "Very common (10% or more): Thrombocytopenia (60%), Nausea (30%)\n"
    )
    call_command(
        "import_label", str(path), "--drug", drug.name, "--source", "site pharmacy",
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    return current(drug)


def test_a_terminology_change_does_not_reload_the_labels(inotuzumab, tmp_path):
    local = import_local_label(tmp_path, inotuzumab)
    ReferenceDataset.objects.filter(name="terminology").update(fingerprint="changed")
    done = loaders.reference_data_sync()
    assert [line for line in done if not line.startswith("terminology")] == []
    assert current(inotuzumab) == local


def test_force_keeps_a_newer_local_label(inotuzumab, tmp_path):
    local = import_local_label(tmp_path, inotuzumab)
    out = StringIO()
    call_command("load_reference_data", "--force", stdout=out)
    assert current(inotuzumab) == local
    assert Label.objects.filter(drug=inotuzumab).count() == 2
    assert "the local label is kept" in out.getvalue()


def test_a_changed_shipped_file_keeps_a_newer_local_label(inotuzumab, tmp_path):
    local = import_local_label(tmp_path, inotuzumab)
    ReferenceDataset.objects.filter(name="label:inotuzumab-ozogamicin").update(fingerprint="old")
    done = loaders.reference_data_sync()
    assert any("the local label is kept" in line for line in done)
    assert current(inotuzumab) == local


def test_a_changed_shipped_file_replaces_the_shipped_label(inotuzumab, tmp_path, monkeypatch):
    shipped = current(inotuzumab)
    data = json.loads((loaders.LABELS_DIR / "inotuzumab-ozogamicin.json").read_text())
    for entry in data["entries"]:
        if entry["term"] == "Nausea":
            entry["incidence_pct"] = 32
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "inotuzumab-ozogamicin.json").write_text(json.dumps(data))
    monkeypatch.setattr(loaders, "LABELS_DIR", tmp_path / "labels")
    loaders.reference_data_sync()
    new = current(inotuzumab)
    assert new.version == shipped.version + 1
    assert ReferenceDataset.objects.get(name="label:inotuzumab-ozogamicin").label == new
    # Unchanged file: nothing to do.
    assert loaders.reference_data_sync() == []


def test_the_loader_removes_shipped_names_and_memberships_the_file_no_longer_has(
    inotuzumab, tmp_path
):
    data = json.loads(loaders.TERMINOLOGY_PATH.read_text())
    for term in data["terms"]:
        if term["name"] == "Epistaxis":
            term["lay"].remove("nose bleed")
            term["groups"] = []
    path = tmp_path / "terminology.json"
    path.write_text(json.dumps(data))
    epistaxis = Term.objects.get(name="Epistaxis")
    epistaxis.names.create(text="bloody nose", kind="lay")  # a site's own name
    assert term_search(q="nose bleed")[0].name == "Epistaxis"
    counts = loaders.terminology_load(path)
    assert counts["names_removed"] == 1 and counts["memberships_removed"] == 1
    assert not TermName.objects.filter(text="nose bleed").exists()
    assert TermName.objects.filter(text="bloody nose", shipped=False).exists()
    assert not GroupMembership.objects.filter(member=epistaxis).exists()
    # The search index sees the removal at once.
    assert all(m.matched != "nose bleed" for m in term_search(q="nose bleed"))


def test_the_search_index_sees_an_edit_that_keeps_row_counts(db):
    assert term_code("Lip haemorrhage")
    name = TermName.objects.get(text="Lip haemorrhage", kind="name")
    name.text = "Labial haemorrhage"
    name.save()
    assert [t.name for t in term_code("Labial haemorrhage")] == ["Lip haemorrhage"]
    assert term_code("Lip haemorrhage") == []


def test_a_renamed_ctcae_term_keeps_its_identity(tmp_path):
    data = json.loads(loaders.TERMINOLOGY_PATH.read_text())
    nausea = Term.objects.get(name="Nausea")
    for term in data["terms"]:
        if term["name"] == "Nausea":
            term["name"] = "Nausea (feeling sick)"
    path = tmp_path / "terminology.json"
    path.write_text(json.dumps(data))
    terms = Term.objects.count()
    loaders.terminology_load(path)
    nausea.refresh_from_db()
    assert nausea.name == "Nausea (feeling sick)"
    assert Term.objects.count() == terms
    assert [t.pk for t in term_code("Nausea (feeling sick)")] == [nausea.pk]
