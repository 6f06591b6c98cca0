"""import_meddra on a made-up release: terms gain codes, current LLTs become names, nothing the
product added is lost; re-import changes nothing, a newer release says what changed, an
older one is refused, a malformed one saves nothing; SMQ groups."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from reference.meddra import release_read
from reference.models import GroupMembership, MeddraRelease, Term, TermName
from reference.selectors import term_code, term_search
from reference.services import meddra_version
from reference.services.terminology_io import terminology_local_export

from .meddra_release import SMQ_NAME, release_write

pytestmark = pytest.mark.django_db


def run(*args: object) -> str:
    out = StringIO()
    call_command("import_meddra", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def meddra_names(term: Term) -> set[str]:
    return set(term.names.filter(kind="meddra").values_list("text", flat=True))


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return release_write(tmp_path / "meddra_90_0")


@pytest.fixture
def newer(tmp_path: Path) -> Path:
    return release_write(tmp_path / "meddra_90_1", version="90.1", newer=True)


def test_the_reader_reads_every_file_of_the_layout(release):
    read = release_read(release)
    assert (read.version, read.language) == ("90.0", "English")
    assert len(read.pts) == 7 and len(read.llts) == 14
    assert read.pts["92000010"].soc_code == "90000002"
    assert read.llts["92000015"].name == "Zorbic fi\u00e8vre"  # cp1252, read as such
    assert not read.llts["92000012"].current
    assert read.smqs is not None and len(read.smqs) == 2


def test_first_import_codes_terms_and_adds_current_llts_as_names(release):
    names_before = TermName.objects.exclude(kind="meddra").count()
    out = run(release)
    assert "MedDRA 90.0 English imported" in out

    ctcae = Term.objects.get(name="Abdominal distension")
    assert (ctcae.meddra_pt_code, ctcae.meddra_llt_code) == ("10000060", "10000060")
    assert ctcae.meddra_soc_code == "90000001"
    assert ctcae.meddra_code == "10000060"  # the shipped code is kept
    assert meddra_names(ctcae) == {"Belly bloating zorbic"}  # not the non-current one

    site = Term.objects.get(name="Gingival bleeding")
    assert site.source == "label"
    assert (site.meddra_pt_code, site.e2b_llt_code) == ("92000001", "92000001")
    assert meddra_names(site) == {"Gum zorbic bleeding"}

    new = Term.objects.get(name="Zorbic fever")
    assert (new.source, new.soc, new.meddra_pt_code) == (
        "meddra",
        "Zorbic general disorders",
        "92000010",
    )
    assert meddra_names(new) == {"Zorbic pyrexia", "Zorbic fi\u00e8vre"}
    assert not TermName.objects.filter(text="Old zorbic fever").exists()
    # Another term's name stays that term's alone.
    assert [t.name for t in term_code("Epistaxis")] == ["Epistaxis"]
    # The group keeps its name; the PT of that name gets no term of its own.
    haemorrhage = Term.objects.get(name="Haemorrhage")
    assert haemorrhage.is_group and haemorrhage.meddra_pt_code == ""
    assert Term.objects.filter(name__iexact="haemorrhage").count() == 1
    # Nothing the product had is lost or renamed.
    assert TermName.objects.exclude(kind="meddra").count() == names_before + 4  # 4 new PT terms

    record = MeddraRelease.objects.get()
    assert (record.version, record.imported_by, record.pts, record.llts) == (
        "90.0",
        "command",
        7,
        14,
    )
    assert record.current_llts == 12
    assert meddra_version() == "90.0"


def test_search_and_coding_find_a_term_by_an_llt_name(release):
    run(release / "MedAscii")
    assert term_search(q="Zorbic pyrexia")[0].name == "Zorbic fever"
    assert term_search(q="belly bloating zorbic")[0].name == "Abdominal distension"
    assert [t.name for t in term_code("gum zorbic bleeding")] == ["Gingival bleeding"]


def test_meddra_names_and_terms_stay_out_of_the_local_terminology_export(release):
    run(release)
    exported = terminology_local_export()
    assert not [n for n in exported["names"] if "orbic" in n["text"]]
    assert not [t for t in exported["terms"] if "orbic" in t["name"]]


def test_importing_the_same_release_again_changes_nothing(release):
    run(release)
    names = list(TermName.objects.order_by("pk").values_list("pk", "term_id", "text", "kind"))
    terms = list(Term.objects.order_by("pk").values())
    out = run(release)
    assert "already loaded: nothing changed" in out
    assert list(TermName.objects.order_by("pk").values_list("pk", "term_id", "text", "kind")) == (
        names
    )
    assert list(Term.objects.order_by("pk").values()) == terms
    assert MeddraRelease.objects.count() == 1


def test_a_newer_release_updates_names_and_codes_and_says_what_changed(release, newer):
    run(release)
    fever = Term.objects.get(name="Zorbic fever")
    out = run(newer)
    assert "MedDRA 90.1 English imported" in out
    assert "codes changed: 1: Zorbic fever" in out
    assert "new terms (PTs no term had): 1: Zorbic cough" in out
    assert "MedDRA names: 1 added, 1 removed" in out
    fever.refresh_from_db()
    assert fever.meddra_soc_code == "90000001"
    assert "Zorbic temperature" in meddra_names(fever)
    # A retired LLT stops being a name; its term stays, with its other names.
    ctcae = Term.objects.get(name="Abdominal distension")
    assert meddra_names(ctcae) == set()
    assert ctcae.names.filter(kind="name").exists()
    assert Term.objects.filter(name="Zorbic cough", meddra_pt_code="92000060").exists()
    assert meddra_version() == "90.1"
    assert MeddraRelease.objects.count() == 2


def test_an_older_release_is_refused_unless_forced(release, newer):
    run(newer)
    with pytest.raises(CommandError, match=r"90\.0 is older than the loaded 90\.1"):
        run(release)
    assert meddra_version() == "90.1"
    out = run(release, "--force")
    assert "MedDRA 90.0 English imported" in out
    assert meddra_version() == "90.0"
    assert "Belly bloating zorbic" in meddra_names(Term.objects.get(name="Abdominal distension"))


def test_a_wrong_field_count_names_file_and_line_and_saves_nothing(release):
    llt = release / "MedAscii" / "llt.asc"
    lines = llt.read_text(encoding="cp1252").splitlines()
    lines[2] = lines[2] + "extra$"
    llt.write_text("\n".join(lines) + "\n", encoding="cp1252")
    terms, names = Term.objects.count(), TermName.objects.count()
    with pytest.raises(CommandError, match=r"llt\.asc, line 3: 12 fields where the layout has 11"):
        run(release)
    assert (Term.objects.count(), TermName.objects.count()) == (terms, names)
    assert not MeddraRelease.objects.exists()


def test_a_missing_file_is_named(release):
    (release / "MedAscii" / "hlt.asc").unlink()
    with pytest.raises(CommandError, match=r"hlt\.asc: missing from"):
        run(release)
    assert not MeddraRelease.objects.exists()


def test_a_folder_without_a_release_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no MedDRA release here"):
        run(tmp_path)


def test_an_smq_makes_a_group_of_its_narrow_active_terms(release):
    out = run(release, "--smq", "zorbic bleeding events")
    assert f"group '{SMQ_NAME}' made: 3 members" in out
    group = Term.objects.get(name=SMQ_NAME)
    assert group.is_group and not group.covers_members
    members = set(group.members.values_list("name", flat=True))
    # Narrow PT, narrow LLT (its PT's term) and the sub-SMQ's narrow PT; not the broad
    # term nor the inactive one.
    assert members == {
        "Zorbic haemorrhage of the knee",
        "Gingival bleeding",
        "Zorbic bleed of the shin",
    }
    again = run(release, "--smq", SMQ_NAME)
    assert f"group '{SMQ_NAME}' brought up to date: 3 members (0 added, 0 removed)" in again
    assert GroupMembership.objects.filter(group=group).count() == 3


def test_an_smq_group_may_be_named_and_cover_its_members(release):
    run(release, "--smq", SMQ_NAME, "--group-name", "Zorbic bleeds", "--covers-members")
    group = Term.objects.get(name="Zorbic bleeds")
    assert group.covers_members and group.members.count() == 3


def test_an_unknown_smq_or_a_name_the_terminology_has_is_refused(release):
    with pytest.raises(CommandError, match="no SMQ named 'Nothing like it'"):
        run(release, "--smq", "Nothing like it")
    with pytest.raises(CommandError, match="'Haemorrhage' is a term the MedDRA import did not"):
        run(release, "--smq", SMQ_NAME, "--group-name", "Haemorrhage")
    with pytest.raises(CommandError, match="'Bleeding gums' is already a name of Gingival"):
        run(release, "--smq", SMQ_NAME, "--group-name", "Bleeding gums")
    assert not MeddraRelease.objects.exists()


def test_the_version_falls_back_to_the_setting(settings):
    settings.E2B_MEDDRA_VERSION = "27.1"
    assert meddra_version() == "27.1"
    settings.E2B_MEDDRA_VERSION = ""
    assert meddra_version() is None


def test_an_admin_sets_a_terms_codes_checked_as_eight_digits(admin_account):
    client = Client()
    client.force_login(admin_account)
    term = Term.objects.get(name="Gingival bleeding")
    url = f"/admin/reference/term/{term.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "members"}
    for formset in page.context["inline_admin_formsets"]:
        # The term's names and groups are left as they are.
        for name in ("TOTAL_FORMS", "INITIAL_FORMS"):
            data[f"{formset.formset.prefix}-{name}"] = 0
    data.update({"meddra_llt_code": "1234", "meddra_pt_code": "12345678"})
    bad = client.post(url, data)
    assert bad.status_code == 200
    assert "A MedDRA code has 8 digits." in bad.content.decode()
    term.refresh_from_db()
    assert term.meddra_pt_code == ""
    data["meddra_llt_code"] = "12345679"
    assert client.post(url, data).status_code == 302
    term.refresh_from_db()
    assert (term.e2b_llt_code, term.meddra_pt_code) == ("12345679", "12345678")
