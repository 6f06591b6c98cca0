"""export_terminology and import_terminology: the names a site grew (learned from coding,
added here) and its local terms, out to a file and back, idempotently."""

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from reference.models import GroupMembership, Term, TermName
from reference.selectors import term_code

pytestmark = pytest.mark.django_db

TAUGHT_AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def grown(officer):
    """A site's own terminology: a learned name on a shipped term, a local term with a name
    added here, in the group Haemorrhage."""
    retinal = Term.objects.get(name="Retinal haemorrhage")
    learned = TermName.objects.create(
        term=retinal, text="zorbly flibs in the eye", kind="learned",
        added_by=officer, added_at=TAUGHT_AT,
    )  # fmt: skip
    local = Term.objects.create(name="Vitreous zorble", soc="Eye disorders", source="local")
    TermName.objects.create(term=local, text="Vitreous zorble", kind="name")
    TermName.objects.create(term=local, text="floaters of blood", kind="lay")
    GroupMembership.objects.create(group=Term.objects.get(name="Haemorrhage"), member=local)
    return learned, local


def export(tmp_path):
    path = tmp_path / "terms.json"
    out = StringIO()
    call_command("export_terminology", str(path), stdout=out)
    return path, out.getvalue()


def run(path):
    out, err = StringIO(), StringIO()
    call_command("import_terminology", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def forget(local):
    """This site as a new database would be: the shipped terminology only."""
    TermName.objects.filter(shipped=False).delete()
    local.delete()


def test_export_writes_every_name_not_shipped_and_the_local_terms(grown, tmp_path):
    path, out = export(tmp_path)
    data = json.loads(path.read_text())
    assert {(n["term"], n["text"], n["kind"]) for n in data["names"]} == {
        ("Retinal haemorrhage", "zorbly flibs in the eye", "learned"),
        ("Vitreous zorble", "Vitreous zorble", "name"),
        ("Vitreous zorble", "floaters of blood", "lay"),
    }
    [learned] = [n for n in data["names"] if n["kind"] == "learned"]
    assert learned["added_by"] == "officer1"
    assert datetime.fromisoformat(learned["added_at"]) == TAUGHT_AT
    assert [t["name"] for t in data["terms"]] == ["Vitreous zorble"]
    assert data["terms"][0]["groups"] == ["Haemorrhage"]
    assert data["terms"][0]["soc"] == "Eye disorders"
    assert "3 name(s) (1 lay, 1 learned, 1 name), 1 local term(s)" in out


def test_an_export_then_an_import_into_a_new_database_gives_it_all_back(grown, tmp_path, officer):
    _, local = grown
    path, _ = export(tmp_path)
    forget(local)
    assert term_code("zorbly flibs in the eye") == []

    out, err = run(path)
    assert "terms: 1 added, 0 already present" in out
    assert "names: 3 added, 0 already present, 0 skipped" in out
    assert "group memberships: 1 added" in out
    assert err == ""
    learned = TermName.objects.get(text="zorbly flibs in the eye")
    assert (learned.term.name, learned.kind, learned.shipped) == (
        "Retinal haemorrhage",
        "learned",
        False,
    )
    assert (learned.added_by, learned.added_at) == (officer, TAUGHT_AT)
    local = Term.objects.get(name="Vitreous zorble")
    assert (local.source, local.soc) == ("local", "Eye disorders")
    assert local.groups.filter(name="Haemorrhage").exists()
    assert not TermName.objects.filter(term=local, shipped=True).exists()
    # The index reads the revision: the names code at once.
    assert [t.name for t in term_code("zorbly flibs in the eye")] == ["Retinal haemorrhage"]
    assert term_code("floaters of blood") == [local]


def test_importing_twice_changes_nothing(grown, tmp_path):
    path, _ = export(tmp_path)
    before = sorted(TermName.objects.values_list("term_id", "key", "kind", "shipped"))
    terms = Term.objects.count()
    out, _ = run(path)
    assert "terms: 0 added, 1 already present" in out
    assert "names: 0 added, 3 already present, 0 skipped" in out
    assert "group memberships: 0 added" in out
    run(path)
    assert sorted(TermName.objects.values_list("term_id", "key", "kind", "shipped")) == before
    assert Term.objects.count() == terms


def test_a_name_of_a_term_this_site_lacks_is_skipped_with_a_reason(tmp_path):
    path = tmp_path / "terms.json"
    path.write_text(
        json.dumps(
            {
                "format": "terminology-local",
                "version": 1,
                "names": [
                    {"term": "Zorbly syndrome", "text": "the zorbles", "kind": "learned"},
                    {"term": "Epistaxis", "text": "zorbly nose", "kind": "learned"},
                ],
            }
        )
    )
    out, _ = run(path)
    assert (
        "skipped: name 'the zorbles': its term 'Zorbly syndrome' is neither in this "
        "terminology nor in the file"
    ) in out
    assert "names: 1 added, 0 already present, 1 skipped" in out
    assert not TermName.objects.filter(text="the zorbles").exists()
    assert TermName.objects.get(text="zorbly nose").term.name == "Epistaxis"


def test_a_name_shipped_here_already_is_present_and_stays_shipped(tmp_path):
    shipped = TermName.objects.get(text="nosebleeds", shipped=True)
    path = tmp_path / "terms.json"
    path.write_text(
        json.dumps(
            {
                "format": "terminology-local",
                "version": 1,
                "names": [{"term": "epistaxis", "text": "Nose-bleeds", "kind": "learned"}],
            }
        )
    )
    out, _ = run(path)
    assert "names: 0 added, 1 already present, 0 skipped" in out
    shipped.refresh_from_db()
    assert (shipped.text, shipped.kind, shipped.shipped) == ("nosebleeds", "lay", True)


def test_an_account_this_site_lacks_keeps_the_name_without_it(grown, tmp_path):
    _, local = grown
    path, _ = export(tmp_path)
    forget(local)
    User.objects.filter(username="officer1").delete()
    out, _ = run(path)
    assert "note: added by accounts this site does not have" in out
    assert "officer1" in out
    name = TermName.objects.get(text="zorbly flibs in the eye")
    assert (name.added_by, name.added_at) == (None, TAUGHT_AT)


def test_a_membership_in_a_group_this_site_lacks_is_skipped(tmp_path):
    path = tmp_path / "terms.json"
    path.write_text(
        json.dumps(
            {
                "format": "terminology-local",
                "version": 1,
                "terms": [{"name": "Zorble", "soc": "Eye disorders", "groups": ["Zorblery"]}],
                "names": [{"term": "Zorble", "text": "Zorble", "kind": "name"}],
            }
        )
    )
    out, _ = run(path)
    assert "skipped: group 'Zorblery' of 'Zorble': no such term here" in out
    assert "terms: 1 added" in out
    assert Term.objects.get(name="Zorble").source == "local"


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"format": "something else", "version": 1}, "format"),
        ({"format": "terminology-local", "version": 1, "names": [{"term": "X"}]}, "names[0].text"),
        (
            {"format": "terminology-local", "version": 1,
             "names": [{"term": "Epistaxis", "text": "nosey", "kind": "shipped"}]},
            "names[0].kind",
        ),
        ({"format": "terminology-local", "version": 1, "terms": [{"name": 5}]}, "terms[0].name"),
        ([1, 2], "the file"),
    ],
)  # fmt: skip
def test_a_malformed_file_lists_its_problems_and_changes_nothing(tmp_path, data, where):
    path = tmp_path / "terms.json"
    path.write_text(json.dumps(data))
    names = TermName.objects.count()
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("import_terminology", str(path), stdout=StringIO(), stderr=err)
    assert where in err.getvalue()
    assert TermName.objects.count() == names


def test_a_file_that_is_not_json_is_a_clear_error(tmp_path):
    path = tmp_path / "terms.json"
    path.write_text("{nope")
    with pytest.raises(CommandError, match="is not JSON"):
        run(path)
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path / "missing.json")
