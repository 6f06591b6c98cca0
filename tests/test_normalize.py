import pytest

from reference.normalize import compact, normalize


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
