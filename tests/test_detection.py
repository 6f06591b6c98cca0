import pytest

from audit.models import AuditEntry
from surveillance.choices import ReviewStatus
from surveillance.models import DetectionRun, Signal, SignalEvaluation
from surveillance.services import run_create, run_execute

from .cohort import Case, CohortBuilder, drug_with_label, worked_scenario

pytestmark = pytest.mark.django_db


def detect(drug=None):
    run = run_execute(run_create(trigger="command_line", drug=drug))
    assert run.status == "succeeded", run.error
    return run


def signal(drug, term, kind):
    return Signal.objects.get(drug=drug, term__name=term, kind=kind)


def p_value_of(run, drug, term, kind):
    """The p-value of a test the run made for the drug (None when it made no such test)."""
    from reference.models import Term
    from surveillance.models import DrugRun

    term_id = Term.objects.get(name=term).pk
    tests = DrugRun.objects.get(run=run, drug=drug).tests
    return next((p for t, k, p in tests if (t, k) == (term_id, kind)), None)


@pytest.fixture
def scenario(inotuzumab, nurse):
    return worked_scenario(inotuzumab, nurse, nurse.site)


class TestWorkedScenario:
    def test_thrombocytopenia_in_130_of_200_is_an_incidence_signal(self, scenario, inotuzumab):
        detect(inotuzumab)
        s = signal(inotuzumab, "Thrombocytopenia", "incidence")
        assert (s.cases, s.exposed, s.met) == (130, 200, True)
        assert s.expected_pct == 51.0
        assert s.observed_pct == pytest.approx(65.0)
        assert s.p_value < 0.001
        assert s.ci_low_pct < 65 < s.ci_high_pct

    def test_nausea_in_60_of_200_is_no_signal(self, scenario, inotuzumab):
        run = detect(inotuzumab)
        assert not Signal.objects.filter(term__name="Nausea").exists()
        # Tested (60 of 200 against the labelled 31%) and not met; the run wrote the others.
        from scipy.stats import binomtest  # type: ignore[import-untyped, unused-ignore]

        expected = binomtest(60, 200, 0.31, alternative="greater").pvalue
        assert p_value_of(run, inotuzumab, "Nausea", "incidence") == pytest.approx(expected)
        assert (
            signal(inotuzumab, "Thrombocytopenia", "incidence").evaluations.filter(run=run).exists()
        )

    def test_hypersensitivity_in_30_is_tested_against_the_upper_bound_of_common(
        self, scenario, inotuzumab
    ):
        detect(inotuzumab)
        s = signal(inotuzumab, "Hypersensitivity", "incidence")
        assert s.met and s.cases == 30
        assert s.expected_pct == 10.0
        assert s.band == "common"
        assert s.p_value == pytest.approx(0.0163266, abs=1e-6)
        assert s.ci_low_pct == pytest.approx(10.3550, abs=1e-3)
        assert s.ci_high_pct == pytest.approx(20.7159, abs=1e-3)
        assert s.q_value >= s.p_value

    def test_retinal_haemorrhage_is_one_high_priority_unlisted_signal_worded_with_the_group(
        self, scenario, inotuzumab
    ):
        detect(inotuzumab)
        [s] = Signal.objects.filter(term__name="Retinal haemorrhage")
        assert (s.kind, s.priority, s.cases, s.met) == ("unlisted", "high", 2, True)
        assert s.summary.startswith(
            "Retinal haemorrhage is not listed for inotuzumab ozogamicin; the label lists "
            "Haemorrhage (33%, 5% grade >= 3) and names other sites, not this one."
        )
        assert s.p_value is None and s.expected_pct is None

    def test_pneumonia_is_covered_by_infection(self, scenario, inotuzumab):
        run = detect(inotuzumab)
        assert not Signal.objects.filter(
            kind="unlisted", term__name__in=["Lung infection", "Pneumonia"]
        ).exists()
        # The case counts in the Infection entry's test, and unlisted signals were written.
        assert p_value_of(run, inotuzumab, "Infection", "incidence") is not None
        assert Signal.objects.filter(kind="unlisted", term__name="Retinal haemorrhage").exists()

    def test_void_and_duplicate_reports_change_nothing(self, scenario, inotuzumab):
        detect(inotuzumab)
        assert not Signal.objects.filter(term__name="Vitreous haemorrhage").exists()
        assert signal(inotuzumab, "Thrombocytopenia", "incidence").exposed == 200
        assert signal(inotuzumab, "Retinal haemorrhage", "unlisted").cases == 2


class TestIdentityAndHistory:
    def test_running_twice_on_unchanged_data_changes_nothing(self, scenario, inotuzumab):
        detect(inotuzumab)
        before = list(Signal.objects.order_by("pk").values())
        evaluations = SignalEvaluation.objects.count()
        detect(inotuzumab)
        assert list(Signal.objects.order_by("pk").values()) == before
        assert SignalEvaluation.objects.count() == evaluations

    def test_a_signal_keeps_its_identity_and_review_status_across_runs(self, scenario, inotuzumab):
        detect(inotuzumab)
        s = signal(inotuzumab, "Hypersensitivity", "incidence")
        s.status = ReviewStatus.UNDER_VALIDATION
        s.save()
        for i in range(31, 41):
            scenario.report(i, Case("Hypersensitivity"))
        detect(inotuzumab)
        assert Signal.objects.filter(term__name="Hypersensitivity", kind="incidence").count() == 1
        s.refresh_from_db()
        assert s.status == ReviewStatus.UNDER_VALIDATION
        assert s.cases == 40
        assert [e.cases for e in s.evaluations.order_by("id")] == [30, 40]

    def test_a_closed_signal_reopens_when_new_cases_arrive(self, scenario, inotuzumab):
        detect(inotuzumab)
        s = signal(inotuzumab, "Retinal haemorrhage", "unlisted")
        s.status, s.cases_at_close = ReviewStatus.REFUTED, s.cases
        s.save()
        detect(inotuzumab)
        s.refresh_from_db()
        assert s.status == ReviewStatus.REFUTED
        scenario.report(196, Case("Retinal haemorrhage", grade=2))
        detect(inotuzumab)
        s.refresh_from_db()
        assert s.status == ReviewStatus.NEW
        assert AuditEntry.objects.filter(action="signal.reopen", target_id=s.pk).exists()

    def test_voiding_a_report_takes_its_cases_out_of_the_next_run(
        self, scenario, inotuzumab, nurse
    ):
        from reports.models import Report
        from reports.services import report_void

        detect(inotuzumab)
        report = Report.objects.get(patient__reference__endswith="-192")
        report_void(actor=nurse, report=report, reason="wrong patient")
        detect(inotuzumab)
        assert signal(inotuzumab, "Retinal haemorrhage", "unlisted").cases == 1

    def test_a_signal_no_longer_met_stays_marked_not_met(self, scenario, inotuzumab):
        detect(inotuzumab)
        s = signal(inotuzumab, "Hypersensitivity", "incidence")
        from surveillance.models import Signal as S  # noqa: F401

        scenario.register_more = scenario.register  # keep the API symmetrical
        # Doubling the cohort halves the incidence: 30 of 400 is 7.5%, below 10%.
        extra = CohortBuilder(inotuzumab, scenario.reporter, scenario.site)
        extra.drug = inotuzumab
        from reports.models import Exposure, Patient

        patients = Patient.objects.bulk_create(
            [Patient(site=scenario.site, reference=f"X-{i}") for i in range(200)]
        )
        Exposure.objects.bulk_create([Exposure(patient=p, drug=inotuzumab) for p in patients])
        detect(inotuzumab)
        s.refresh_from_db()
        assert (s.met, s.exposed) == (False, 400)


def test_without_a_registered_cohort_only_unlisted_signals_are_raised(inotuzumab, nurse):
    cohort = CohortBuilder(inotuzumab, nurse, nurse.site)
    cohort.register(20, from_report=True)
    for i in range(1, 21):
        cohort.report(i, Case("Hypersensitivity"), Case("Retinal haemorrhage"))
    run = detect(inotuzumab)
    assert not Signal.objects.filter(kind="incidence").exists()
    assert Signal.objects.filter(kind="unlisted", term__name="Retinal haemorrhage").exists()
    assert any("no registered cohort" in n for n in run.notes)
    assert run.parts.get().tests == []


def test_detection_queries_do_not_grow_with_the_terms(
    inotuzumab, nurse, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from surveillance.rules import evaluate_drug

    cohort = CohortBuilder(inotuzumab, nurse, nurse.site)
    cohort.register(50)
    cohort.report(1, Case("Nausea"))
    with CaptureQueriesContext(connection) as few:
        evaluate_drug(inotuzumab)
    for i, name in enumerate(
        ["Headache", "Fatigue", "Retinal haemorrhage", "Alopecia", "Cough", "Hypersensitivity"],
        start=2,
    ):
        cohort.report(i, Case(name))
    with CaptureQueriesContext(connection) as many:
        evaluate_drug(inotuzumab)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_run_over_every_drug_records_its_progress(scenario, inotuzumab):
    run = detect()
    assert (run.drugs_total, run.drugs_done) == (1, 1)
    assert run.counts["signals_new"] >= 3
    assert run.finished_at is not None
    assert DetectionRun.objects.get(pk=run.pk).parts.get().status == "succeeded"


class TestQValuesAcrossTheRun:
    """Benjamini-Hochberg q-values over every incidence and severity test of a run."""

    @pytest.fixture
    def two_drugs(self, inotuzumab, nurse):
        # Inotuzumab: Hypersensitivity in 16 of 100 against the 10% bound of 'common'.
        first = CohortBuilder(inotuzumab, nurse, nurse.site)
        first.register(100)
        for i in range(1, 17):
            first.report(i, Case("Hypersensitivity"))
        # Testumab: Nausea in 9 of 100 against 5% (not met), Headache in 20 of 100 against 10%.
        testumab = drug_with_label(
            "Testumab", ("Nausea", "common", "5", None), ("Headache", "very_common", "10", None)
        )
        second = CohortBuilder(testumab, nurse, nurse.site)
        second.register(100)
        for i in range(1, 10):
            second.report(i, Case("Nausea"))
        for i in range(11, 31):
            second.report(i, Case("Headache"))
        return inotuzumab, testumab

    @staticmethod
    def expected_q(tests):
        from scipy.stats import (  # type: ignore[import-untyped, unused-ignore]
            binomtest,
            false_discovery_control,
        )

        p = [binomtest(k, n, p0, alternative="greater").pvalue for k, n, p0 in tests]
        return list(false_discovery_control(p))

    def test_a_run_over_every_drug_adjusts_all_its_tests_together(self, two_drugs):
        inotuzumab, testumab = two_drugs
        run = detect()
        pooled = self.expected_q([(16, 100, 0.10), (9, 100, 0.05), (20, 100, 0.10)])
        separate = self.expected_q([(16, 100, 0.10)]) + self.expected_q(
            [(9, 100, 0.05), (20, 100, 0.10)]
        )
        # The family matters here: per drug, the q-values would be different.
        assert pooled[0] != pytest.approx(separate[0], rel=1e-3)
        assert pooled[2] != pytest.approx(separate[2], rel=1e-3)
        hypersensitivity = signal(inotuzumab, "Hypersensitivity", "incidence")
        headache = signal(testumab, "Headache", "incidence")
        assert not Signal.objects.filter(drug=testumab, term__name="Nausea").exists()
        assert hypersensitivity.q_value == pytest.approx(pooled[0], rel=1e-6)
        assert headache.q_value == pytest.approx(pooled[2], rel=1e-6)
        # The run's evaluation carries the same q-value as the signal.
        for s in (hypersensitivity, headache):
            assert s.evaluations.get(run=run).q_value == s.q_value

    def test_a_single_drug_run_adjusts_that_drugs_tests(self, two_drugs):
        _, testumab = two_drugs
        detect(testumab)
        [_, headache_q] = self.expected_q([(9, 100, 0.05), (20, 100, 0.10)])
        assert signal(testumab, "Headache", "incidence").q_value == pytest.approx(
            headache_q, rel=1e-6
        )

    def test_a_q_value_changed_by_another_family_is_recorded_in_the_runs_evaluation(
        self, two_drugs
    ):
        _, testumab = two_drugs
        detect(testumab)
        headache = signal(testumab, "Headache", "incidence")
        alone = headache.q_value
        run = detect()
        headache.refresh_from_db()
        assert headache.q_value != pytest.approx(alone, rel=1e-3)
        assert [e.q_value for e in headache.evaluations.order_by("id")] == [
            alone,
            headache.q_value,
        ]
        assert headache.evaluations.last().run == run
        # Nothing changed since: the next run over every drug adds nothing.
        evaluations = SignalEvaluation.objects.count()
        detect()
        assert SignalEvaluation.objects.count() == evaluations
