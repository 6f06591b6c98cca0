"""The shipped terminology is exactly what scripts/build_terminology.py builds from the
curated lists in scripts/terminology/, so a curator's edit that was not rebuilt fails."""

import importlib
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED = REPO_ROOT / "reference" / "data" / "terminology.json"


@pytest.fixture
def build_terminology(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
    return importlib.import_module("build_terminology")


@pytest.fixture
def curated(tmp_path):
    """A copy of the curated lists to edit."""
    return Path(shutil.copytree(REPO_ROOT / "scripts" / "terminology", tmp_path / "terminology"))


def test_it_rebuilds_the_shipped_terminology_byte_for_byte(build_terminology, tmp_path):
    output = tmp_path / "terminology.json"

    assert build_terminology.main(["--output", str(output)]) == 0

    assert output.read_bytes() == SHIPPED.read_bytes(), (
        "reference/data/terminology.json is stale: run python scripts/build_terminology.py"
    )


def test_an_edit_to_the_curated_lists_changes_the_build(build_terminology, curated):
    with (curated / "lay_phrases.toml").open("a") as handle:
        handle.write('"Headache" = ["splitting head"]\n')

    terms = build_terminology.build(build_terminology.DEFAULT_CSV, curated)["terms"]

    # Lay phrases also come from everyday.toml: the edit adds to them.
    assert "splitting head" in next(t for t in terms if t["name"] == "Headache")["lay"]


def test_a_synonym_naming_another_term_fails_the_build(build_terminology, curated):
    with (curated / "synonyms.toml").open("a") as handle:
        handle.write('"Nausea" = ["Vomiting"]\n')

    with pytest.raises(build_terminology.TerminologyError, match="'Vomiting' names both"):
        build_terminology.build(build_terminology.DEFAULT_CSV, curated)


def test_a_misspelt_key_fails_the_build_instead_of_being_ignored(build_terminology, curated):
    with (curated / "bleeding_sites.toml").open("a") as handle:
        handle.write('\n["Nail bed haemorrhage"]\nsoc = "Skin and subcutaneous tissue disorders"\n')
        handle.write('synonym = ["Subungual haemorrhage"]\n')

    with pytest.raises(build_terminology.TerminologyError, match=r"unknown \['synonym'\]"):
        build_terminology.build(build_terminology.DEFAULT_CSV, curated)


def test_a_group_member_that_is_no_term_fails_the_build(build_terminology, curated):
    groups = curated / "groups.toml"
    groups.write_text(groups.read_text().replace('"Alanine aminotransferase', '"Alanine amino'))

    with pytest.raises(build_terminology.TerminologyError, match="names unknown terms"):
        build_terminology.build(build_terminology.DEFAULT_CSV, curated)
