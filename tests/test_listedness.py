import pytest

from reference.listedness import LabelListing, listed_term, listedness_assess
from reference.selectors import term_code

pytestmark = pytest.mark.django_db


def assess(drug, text):
    [term] = term_code(text)
    return listedness_assess(drug=drug, term=term)


@pytest.mark.parametrize(
    "text",
    [
        "Epistaxis",
        "nosebleeds",
        "Platelet count decreased",
        "pneumonia",
        "bone marrow failure",
        "Thrombocytopenia",
        "ALT increased",
        "Upper GI haemorrhage",
        "Tumor lysis syndrome",
    ],
)
def test_listed_on_the_seed_label(inotuzumab, text):
    assert assess(inotuzumab, text).listed


@pytest.mark.parametrize(
    "text", ["Retinal haemorrhage", "Vitreous hemorrhage", "coughing up blood", "Alopecia"]
)
def test_unlisted_on_the_seed_label(inotuzumab, text):
    assert not assess(inotuzumab, text).listed


def test_each_listed_term_names_the_rule_and_entry(inotuzumab):
    assert assess(inotuzumab, "Epistaxis").rule == "entry"
    covered = assess(inotuzumab, "bone marrow failure")
    assert covered.rule == "covered"
    assert covered.entry is not None and covered.entry.term.name == "Pancytopenia"
    member = assess(inotuzumab, "pneumonia")
    assert member.rule == "group"
    assert member.entry is not None and member.entry.term.name == "Infection"


def test_an_unlisted_bleeding_site_names_the_labelled_group(inotuzumab):
    [term] = term_code("Retinal haemorrhage")
    result = listedness_assess(drug=inotuzumab, term=term)
    assert result.group_entry is not None
    assert listed_term(result.group_entry).name == "Haemorrhage"
    assert result.explain(term, inotuzumab) == (
        "Retinal haemorrhage is not listed for inotuzumab ozogamicin; the label lists "
        "Haemorrhage (33%, 5% grade >= 3) and names other sites, not this one."
    )


def test_consumer_wording_never_makes_a_term_listed(inotuzumab):
    # "coughing up blood" is on the consumer section only.
    result = assess(inotuzumab, "Haemoptysis")
    assert not result.listed


def test_a_drug_without_label_lists_nothing(db):
    from reference.models import Drug

    drug = Drug.objects.create(slug="nolabel", name="Nolabel")
    assert not assess(drug, "Nausea").listed


def test_one_listing_answers_many_terms_in_a_fixed_number_of_queries(
    inotuzumab, django_assert_max_num_queries
):
    terms = [term_code(t)[0] for t in ["Nausea", "Retinal haemorrhage", "pneumonia", "Epistaxis"]]
    with django_assert_max_num_queries(4):
        listing = LabelListing.current(inotuzumab)
        results = [listing.assess(t) for t in terms]
    assert [r.listed for r in results] == [True, False, True, True]


def test_a_change_of_a_group_covering_its_members_reaches_existing_labels(inotuzumab):
    from reference.models import Term

    assert not assess(inotuzumab, "Retinal haemorrhage").listed
    Term.objects.filter(name="Haemorrhage").update(covers_members=True)
    assert assess(inotuzumab, "Retinal haemorrhage").listed
    Term.objects.filter(name="Infection").update(covers_members=False)
    assert not assess(inotuzumab, "pneumonia").listed


def test_the_term_of_an_entry_without_one_is_a_clear_error(inotuzumab):
    from reference.models import LabelEntry

    entry = LabelEntry(section="consumer", band=None, verbatim="zorbly flibs")
    with pytest.raises(ValueError, match="'zorbly flibs'"):
        listed_term(entry)
