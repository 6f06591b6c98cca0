"""The incidence and severity rules (docs/pharmacovigilance.md, "Detection against the label")
on the seed label, each checked against scipy and with what detection did write beside what
it did not."""

import pytest
from scipy.stats import binomtest  # type: ignore[import-untyped, unused-ignore]

from reference.models import Term
from surveillance.models import DrugRun, Signal
from surveillance.services import run_create, run_execute

from .cohort import Case, CohortBuilder

pytestmark = pytest.mark.django_db


def detect(drug):
    run = run_execute(run_create(trigger="command_line", drug=drug))
    assert run.status == "succeeded", run.error
    return run


def made_by(run, drug) -> dict[tuple[str, str], float]:
    """The incidence and severity tests the run made for the drug: (term, kind) -> p-value."""
    names = dict(Term.objects.values_list("pk", "name"))
    part = DrugRun.objects.get(run=run, drug=drug)
    return {(names[term_id], kind): p for term_id, kind, p in part.tests}


def p_greater(cases, exposed, p0):
    return binomtest(cases, exposed, p0, alternative="greater").pvalue


@pytest.fixture
def cohort(inotuzumab, nurse):
    builder = CohortBuilder(inotuzumab, nurse, nurse.site)
    builder.register(100)
    return builder


def test_grade_3_bleeding_above_the_labelled_5_percent_is_a_high_priority_severity_signal(
    cohort, inotuzumab
):
    # Haemorrhage: 33% of patients, 5% grade >= 3. Here 25 of 100 bled, 20 at grade 3.
    for i in range(1, 21):
        cohort.report(i, Case("Epistaxis", grade=3))
    for i in range(21, 26):
        cohort.report(i, Case("Epistaxis", grade=1))
    run = detect(inotuzumab)
    severity = Signal.objects.get(drug=inotuzumab, term__name="Haemorrhage", kind="severity")
    assert (severity.cases, severity.exposed, severity.met) == (20, 100, True)
    assert severity.priority == "high"
    assert severity.expected_pct == 5.0
    assert severity.p_value == pytest.approx(p_greater(20, 100, 0.05), abs=1e-9)
    assert severity.summary.startswith("Grade >= 3 Haemorrhage in 20 of 100 treated patients")
    # The incidence of bleeding (25% against 33%) was tested too, and is no signal.
    tests = made_by(run, inotuzumab)
    assert tests[("Haemorrhage", "incidence")] == pytest.approx(p_greater(25, 100, 0.33))
    assert not Signal.objects.filter(term__name="Haemorrhage", kind="incidence").exists()


def test_grade_3_cases_within_the_label_are_tested_and_raise_nothing(cohort, inotuzumab):
    # Thrombocytopenia: 51%, 42% grade >= 3. Here 45 of 100, 40 at grade 3.
    for i in range(1, 41):
        cohort.report(i, Case("Thrombocytopenia", grade=3))
    for i in range(41, 46):
        cohort.report(i, Case("Thrombocytopenia", grade=2))
    cohort.report(46, Case("Retinal haemorrhage", grade=2))
    run = detect(inotuzumab)
    tests = made_by(run, inotuzumab)
    assert tests[("Thrombocytopenia", "severity")] == pytest.approx(p_greater(40, 100, 0.42))
    assert tests[("Thrombocytopenia", "incidence")] == pytest.approx(p_greater(45, 100, 0.51))
    assert not Signal.objects.filter(term__name="Thrombocytopenia").exists()
    assert Signal.objects.filter(term__name="Retinal haemorrhage", kind="unlisted").exists()


def test_when_every_labelled_case_was_grade_3_one_incidence_signal_says_both(cohort, inotuzumab):
    # Febrile neutropenia: 26%, all of it grade >= 3. Here 40 of 100, all at grade 4.
    for i in range(1, 41):
        cohort.report(i, Case("Febrile neutropenia", grade=4))
    run = detect(inotuzumab)
    [signal] = Signal.objects.filter(term__name="Febrile neutropenia")
    assert (signal.kind, signal.cases, signal.met) == ("incidence", 40, True)
    assert "every case as grade >= 3" in signal.summary
    assert ("Febrile neutropenia", "severity") not in made_by(run, inotuzumab)


def test_a_not_reported_entry_is_tested_against_its_groups_incidence(cohort, inotuzumab):
    # Epistaxis is listed without a frequency; its group Haemorrhage gives 33%.
    for i in range(1, 51):
        cohort.report(i, Case("Epistaxis"))
    run = detect(inotuzumab)
    signal = Signal.objects.get(term__name="Epistaxis", kind="incidence")
    assert (signal.cases, signal.met, signal.band) == (50, True, "not_reported")
    assert signal.expected_pct == 33.0
    assert signal.p_value == pytest.approx(p_greater(50, 100, 0.33), abs=1e-9)
    assert "the incidence of its group Haemorrhage" in signal.summary
    assert ("Epistaxis", "incidence") in made_by(run, inotuzumab)


def test_a_not_reported_entry_outside_any_numbered_group_has_no_incidence_test(cohort, inotuzumab):
    # Immunogenicity: listed, no frequency, no group with a figure.
    for i in range(1, 31):
        cohort.report(i, Case("Immunogenicity"), Case("Nausea"))
    run = detect(inotuzumab)
    tests = made_by(run, inotuzumab)
    assert ("Nausea", "incidence") in tests
    assert not any(term == "Immunogenicity" for term, _ in tests)
    assert not Signal.objects.filter(term__name="Immunogenicity").exists()
