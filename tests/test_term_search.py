import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from reference.models import Term
from reference.normalize import compact, normalize
from reference.search import PARTIAL_CUTOFF, Tier
from reference.selectors import term_code, term_index, term_search


def names(q, limit=10):
    return [m.name for m in term_search(q=q, limit=limit)]


@pytest.mark.django_db
class TestCoding:
    def test_label_and_ctcae_names_of_one_concept_code_to_one_term(self):
        pairs = [
            ("Thrombocytopenia", "Platelet count decreased"),
            ("Neutropenia", "Neutrophil count decreased"),
            ("Leukopenia", "White blood cell decreased"),
            ("Lymphopenia", "Lymphocyte count decreased"),
            ("Pyrexia", "Fever"),
            ("Stomatitis", "Mucositis oral"),
            ("Decreased appetite", "Anorexia"),
            ("Hyperbilirubinemia", "Blood bilirubin increased"),
            ("QT prolonged", "Electrocardiogram QT corrected interval prolonged"),
            ("Hypersensitivity", "Allergic reaction"),
        ]
        for label_name, ctcae_name in pairs:
            [a] = term_code(label_name)
            [b] = term_code(ctcae_name)
            assert a == b, (label_name, ctcae_name)

    def test_spelling_case_and_hyphens_do_not_matter(self):
        [a] = term_code("post-procedural hematoma")
        [b] = term_code("Post procedural HAEMATOMA")
        assert a == b
        assert term_code("leucopenia") == term_code("Leukopenia")

    def test_lay_phrases_code_to_terms(self):
        assert [t.name for t in term_code("nosebleeds")] == ["Epistaxis"]
        assert [t.name for t in term_code("coughing up blood")] == ["Haemoptysis"]
        assert [t.name for t in term_code("Black, tarry stools")] == ["Melaena"]
        assert [t.name for t in term_code("bleeding gums")] == ["Gingival bleeding"]

    def test_unknown_text_codes_to_nothing(self):
        assert term_code("purple elephant syndrome") == []


@pytest.mark.django_db
class TestSearch:
    def test_a_typo_still_finds_the_term(self):
        assert names("thrombocytopnia")[0] == "Thrombocytopenia"
        assert "Epistaxis" in names("epistaxsis")[:3]

    def test_an_exact_name_ranks_before_synonyms_and_partial_matches(self):
        results = term_search(q="Anaemia")
        assert results[0].name == "Anaemia"
        assert results[0].tier == Tier.EXACT_NAME

    def test_a_synonym_ranks_before_partial_matches(self):
        results = term_search(q="Platelet count decreased")
        assert results[0].name == "Thrombocytopenia"
        assert results[0].tier == Tier.EXACT_SYNONYM
        assert all(r.tier > Tier.EXACT_SYNONYM for r in results[1:])

    def test_a_lay_prefix_offers_the_term_and_shows_the_phrase(self):
        [first, *_] = term_search(q="nosebl")
        assert first.name == "Epistaxis"
        assert first.matched.replace(" ", "").lower().startswith("nosebl")

    def test_word_prefixes_find_multi_word_names(self):
        assert "Retinal haemorrhage" in names("retinal haem")

    def test_partial_matches_come_after_prefix_matches(self):
        results = term_search(q="haemorrhage", limit=50)
        tiers = [r.tier for r in results]
        assert tiers == sorted(tiers)

    def test_groups_are_searchable_and_flagged(self):
        [first, *_] = term_search(q="bleeding")
        assert first.is_group
        assert first.name == "Haemorrhage"

    def test_the_index_sees_a_new_synonym_at_once(self):
        term = Term.objects.get(name="Epistaxis")
        term.names.create(text="bloody nose", kind="lay")
        assert names("bloody nose")[0] == "Epistaxis"

    def test_empty_text_finds_nothing(self):
        assert term_search(q="  - ") == []


@pytest.mark.django_db
class TestRanking:
    def test_a_whole_word_ranks_before_a_mere_prefix(self):
        assert names("ast")[0] == "Aspartate aminotransferase increased"
        assert names("ast").index("Aspartate aminotransferase increased") < names("ast").index(
            "Fatigue"
        )
        bleed = term_search(q="bleed", limit=50)
        order = [m.name for m in bleed]
        # "nosebleeds" / "nose bleed" before a long lay phrase that merely starts with it.
        assert order.index("Epistaxis") < order.index("Rectal haemorrhage")
        assert order[:2] == ["Haemorrhage", "Epistaxis"]

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("bleeding nose", "Epistaxis"),
            ("neutropenic fever", "Febrile neutropenia"),
            ("qt prolongation", "QT prolonged"),
            ("alt raised", "Alanine aminotransferase increased"),
            ("haemorrhage retinal", "Retinal haemorrhage"),
        ],
    )
    def test_word_order_and_endings_do_not_matter(self, q, expected):
        assert names(q)[0] == expected

    @pytest.mark.parametrize(
        ("q", "junk"),
        [("tired", "Feminisation acquired"), ("blood clot", "Blood corticotrophin decreased")],
    )
    def test_junk_close_spellings_are_not_offered(self, q, junk):
        assert junk not in names(q)

    def test_shorter_names_first_within_a_tier(self):
        results = term_search(q="pain", limit=20)
        whole = [len(compact(normalize(r.matched))) for r in results if r.tier == Tier.WHOLE_WORDS]
        assert whole == sorted(whole)

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("SOB", "Dyspnoea"),
            ("AKI", "Acute kidney injury"),
            ("UTI", "Urinary tract infection"),
            ("DVT", "Thromboembolic event"),
            ("PE", "Thromboembolic event"),
            ("low sodium", "Hyponatraemia"),
            ("tingling", "Paraesthesia"),
            ("pale skin", "Pallor"),
        ],
    )
    def test_common_abbreviations_and_phrases_code(self, q, expected):
        assert [t.name for t in term_code(q)] == [expected]

    def test_red_or_dark_brown_urine_names_chromaturia_and_haematuria(self):
        assert [t.name for t in term_code("red or dark brown urine")] == [
            "Chromaturia",
            "Haematuria",
        ]


def misspelt(text, at):
    """The text with two neighbouring letters swapped and one dropped, from place ``at``."""
    at = min(at, max(len(text) - 3, 0))
    return text[:at] + text[at + 1] + text[at] + text[at + 3 :] if len(text) > 3 else text


@pytest.mark.django_db
class TestSearchShortcuts:
    """Search looks only where a match can be; these pin that it never looks past one."""

    @pytest.fixture
    def index(self):
        return term_index()

    @pytest.fixture
    def probes(self, index):
        texts = index.spaced[::7]
        return (
            texts
            + [misspelt(t, 3) for t in texts]
            + [t[2 : 2 + max(8, len(t) // 2)] for t in texts]
            + ["haemorrhage", "bleeding nose", "ane", "nausea and vomiting after chemo"]
        )

    def test_names_containing_the_query_are_all_found_once(self, index, probes):
        for probe in probes:
            key = compact(normalize(probe))
            expected = [i for i, row_key in enumerate(index.keys) if key and key in row_key]
            assert index._rows_containing(key) == expected, probe

    def test_every_name_a_part_of_which_is_close_to_the_query_is_scored(self, index, probes):
        for probe in probes:
            spaced = normalize(probe)
            close = {
                at
                for at, text in enumerate(index.fuzzy_spaced)
                if fuzz.partial_ratio(spaced, text) >= PARTIAL_CUTOFF
            }
            assert close <= set(index._partial_candidates(spaced)), probe

    def test_every_known_word_within_the_edits_is_a_candidate(self, index, probes):
        for word in {w for probe in probes for w in normalize(probe).split()}:
            edits = 2 if len(word) >= 7 else 1
            close = [w for w in index.spelling if OSA.distance(word, w) <= edits]
            assert [w for w in index._spelling_near(len(word), edits) if w in close] == close
