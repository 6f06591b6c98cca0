from decimal import Decimal

import pytest

from reference.label_text import band_of_head, expand_slash, parse_label_text

from .conftest import DATA


def parsed():
    return parse_label_text((DATA / "examplumab.txt").read_text())


def test_it_reads_terms_bands_and_incidences():
    items = {i.verbatim: i for i in parsed().professional}
    assert items["Nausea"].band == "very_common"
    assert items["Nausea"].incidence_pct == Decimal("20")
    assert items["Nausea"].grade3_pct is None
    assert items["thrombocytopenia"].grade3_pct == Decimal("9")
    assert items["Rash maculo-papular"].band == "common"


def test_all_of_which_means_grade3_equals_incidence():
    items = {i.verbatim: i for i in parsed().professional}
    assert items["Hemorrhage"].incidence_pct == items["Hemorrhage"].grade3_pct == Decimal("0.5")


def test_examples_in_parentheses_are_covered_by_the_entry():
    items = {i.verbatim: i for i in parsed().professional}
    assert items["Pancytopenia"].covers == ["bone marrow failure"]


def test_a_slash_pair_names_two_entries():
    names = [i.verbatim for i in parsed().professional]
    assert "upper GI hemorrhage" in names
    assert "lower GI hemorrhage" in names
    assert expand_slash("Hemorrhage") == ["Hemorrhage"]


def test_consumer_bullets_are_lay_wording():
    assert [i.verbatim for i in parsed().consumer] == ["nosebleeds", "feeling sick"]


def test_every_line_not_read_is_reported_with_a_reason():
    unread = {u.text: u.reason for u in parsed().unread}
    assert unread["Skin"] == "heading"
    assert unread["1. A reference line."] == "reference"
    assert "Examplumab Side Effects" in unread
    assert "Applies to examplumab: injection" in unread


def test_the_grade_3_typo_is_understood():
    text = (
        "For Healthcare Professionals\n"
        "Very common: Lymphopenia (18%) (16% of which were Grade 3 of higher)"
    )
    [item] = parse_label_text(text).professional
    assert item.grade3_pct == Decimal("16")


def test_an_unknown_qualifier_is_reported_not_dropped():
    text = "For Healthcare Professionals\nCommon (1% to 10%): Rash (mostly mild)"
    result = parse_label_text(text)
    assert [i.verbatim for i in result.professional] == ["Rash"]
    assert "qualifier not understood" in result.unread[0].reason


def _page(*lines):
    return parse_label_text("For Healthcare Professionals\n" + "\n".join(lines))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Common (1% to 10%): Rash (31%", "never closed"),
        ("Very common (10% or more): Nausea (31%) in adults", "text after the figures"),
        ("Very common (10% or more): Nausea (all of which were Grade 3 or higher)", "without an"),
        ("Very common (10% or more): Nausea (3.1.2%)", "figure not understood"),
        ("Very common (10% or more): Nausea (~20%)", "figure not understood"),
        ("Very common (10% or more): Nausea (1,5%)", "figure not understood"),
    ],
)
def test_an_item_read_only_in_part_is_a_problem_with_its_line(line, reason):
    result = _page(line)
    [problem] = result.problems
    assert problem.line_no == 2
    assert reason in problem.reason


def test_a_byte_order_mark_does_not_hide_the_first_heading():
    result = parse_label_text("\ufeffFor Healthcare Professionals\nCommon (1% to 10%): Rash")
    assert [i.verbatim for i in result.professional] == ["Rash"]
    assert result.unread == []


@pytest.mark.parametrize(
    ("head", "band"),
    [
        ("Common (1% to 10%)", "common"),
        ("Very common (10% or more)", "very_common"),
        ("Frequency not reported", "not_reported"),
        ("Uncommon", "uncommon"),
        ("Common adverse reactions in adults were", None),
        ("Rare cases of", None),
        ("Common (in adults)", None),
    ],
)
def test_a_band_line_head_is_a_band_name_and_an_optional_range(head, band):
    assert band_of_head(head) == band


def test_prose_starting_with_a_band_word_is_not_read_as_a_band_line():
    result = _page("Common adverse reactions in adults were: nausea, vomiting")
    assert result.professional == []
    assert result.unread[0].reason == "prose, not a frequency line"
