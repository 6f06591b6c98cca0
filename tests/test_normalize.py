# Look-alike letters of other scripts are the point of these tests.
# ruff: noqa: RUF001
import json
import re
import unicodedata

import pytest

from reference.loaders import TERMINOLOGY_PATH
from reference.normalize import _american, compact, normalize


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("Haemorrhage", "hemorrhage"),
        ("Diarrhoea", "diarrhea"),
        ("Anaemia", "anemia"),
        ("Oesophageal varices haemorrhage", "esophageal varices hemorrhage"),
        ("Oedema limbs", "edema limbs"),
        ("Subdural haematoma", "subdural hematoma"),
        ("Tumour lysis syndrome", "tumor lysis syndrome"),
        ("Leucopenia", "leukopenia"),
        ("Dyspnoea", "dyspnea"),
        ("Leukaemia", "leukemia"),
    ],
)
def test_it_maps_british_spelling_to_one_key(british, american):
    assert normalize(british) == normalize(american) == american


def test_it_ignores_case_hyphens_and_spacing():
    assert compact(normalize("Post-procedural  HAEMATOMA")) == compact(
        normalize("post procedural hematoma")
    )
    assert compact(normalize("Intra-abdominal hemorrhage")) == compact(
        normalize("intraabdominal haemorrhage")
    )


def test_it_keeps_words_that_only_look_british():
    assert normalize("Aerophagia") == "aerophagia"
    assert normalize("Does") == "does"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Тошнота", "тошнота"),
        ("Érythème", "erytheme"),
        ("Übelkeit", "UBELKEIT"),
        ("Лёгкое", "легкое"),
        ("Ναυτία", "ΝΑΥΤΙΑ"),
        ("Straße", "strasse"),
        ("Anæmia", "anemia"),
        ("Œdème", "edeme"),
        ("ＮＡＵＳＥＡ", "nausea"),
        ("grade ٣", "grade 3"),
        ("صُداع", "صداع"),
        ("Foo bar baz", "FOO-BAR-BAZ"),
    ],
)
def test_it_folds_case_accents_and_width_in_every_script(one, other):
    assert compact(normalize(one)) == compact(normalize(other)) != ""


def test_it_keeps_the_letters_of_every_script_apart():
    keys = [compact(normalize(t)) for t in ["тошнота", "головная боль", "吐き気", "頭痛", "सिरदर्द"]]
    assert all(keys) and len(set(keys)) == len(keys)
    # The voicing mark makes another kana, and an Indic vowel sign another syllable.
    assert normalize("ガ") != normalize("カ")
    assert normalize("कुछ") != normalize("कछ")


@pytest.mark.parametrize("text", ["?", "...", "---", "", " ", "!?", "–—", "()"])
def test_a_text_with_no_letter_or_digit_has_an_empty_key(text):
    assert normalize(text) == ""


def _ascii_key(text):
    """The key as the product computed it before it read other scripts."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(_american(w) for w in re.findall(r"[a-z0-9]+", folded))


def test_every_shipped_name_keeps_its_key():
    data = json.loads(TERMINOLOGY_PATH.read_text(encoding="utf-8"))
    texts = [
        text
        for spec in data["groups"] + data["terms"]
        for text in [spec["name"], *spec.get("synonyms", []), *spec.get("lay", [])]
    ]
    assert len(texts) > 1000
    assert [normalize(t) for t in texts] == [_ascii_key(t) for t in texts]
