"""A treated cohort built straight in the database, for detection tests and benchmarks."""

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from accounts.models import Site, User
from reference.models import Drug, Term
from reference.selectors import term_code
from reports.models import Exposure, Patient, Reaction, Report, SuspectReaction


@dataclass
class Case:
    term: str
    grade: int = 1
    seriousness: list[str] = field(default_factory=list)
    outcome: str = "recovering"


class CohortBuilder:
    def __init__(self, drug: Drug, reporter: User, site: Site) -> None:
        self.drug, self.reporter, self.site = drug, reporter, site
        self.patients: dict[int, Patient] = {}
        self._number = 0
        self._terms: dict[str, Term] = {}

    def register(self, count: int, *, from_report: bool = False) -> list[Patient]:
        first = len(self.patients) + 1
        numbers = range(first, first + count)
        patients = Patient.objects.bulk_create(
            [Patient(site=self.site, reference=f"C-{self.drug.pk}-{i}") for i in numbers]
        )
        for i, p in zip(numbers, patients, strict=True):
            self.patients[i] = p
        Exposure.objects.bulk_create(
            [
                Exposure(
                    patient=p, drug=self.drug, start_date=date(2026, 9, 1), from_report=from_report
                )
                for p in patients
            ]
        )
        return patients

    def term(self, name: str) -> Term:
        if name not in self._terms:
            [self._terms[name]] = term_code(name)[:1]
        return self._terms[name]

    def report(self, patient: int, *cases: Case, void: bool = False, duplicate: str = "") -> Report:
        self._number += 1
        report = Report.objects.create(
            reference=f"T-{self.drug.pk}-{self._number:06d}",
            site=self.site,
            reporter=self.reporter,
            reporter_qualification="nurse",
            source="api",
            patient=self.patients[patient],
            drug=self.drug,
            therapy_start=date(2026, 9, 1),
            received_at=timezone.now(),
            is_void=void,
            void_reason="entered in error" if void else "",
            duplicate_status=duplicate,
        )
        reactions = Reaction.objects.bulk_create(
            [
                Reaction(
                    report=report,
                    drug=self.drug,
                    patient=report.patient,
                    counted=report.counted,
                    term=self.term(c.term),
                    verbatim=c.term,
                    onset_date=date(2026, 9, 10),
                    grade=c.grade,
                    seriousness=c.seriousness,
                    serious=bool(c.seriousness),
                    outcome="fatal" if c.grade == 5 else c.outcome,
                    listedness="listed",
                )
                for c in cases
            ]
        )
        SuspectReaction.objects.bulk_create(
            [
                SuspectReaction(
                    reaction=r,
                    drug=self.drug,
                    patient=r.patient,
                    term=r.term,
                    grade=r.grade,
                    serious=r.serious,
                    outcome=r.outcome,
                    counted=r.counted,
                    listedness=r.listedness,
                )
                for r in reactions
            ]
        )
        return report


def worked_scenario(drug: Drug, reporter: User, site: Site) -> CohortBuilder:
    """The scenario of the detection issue on the seed label (200 registered patients)."""
    cohort = CohortBuilder(drug, reporter, site)
    cohort.register(200)
    for i in range(1, 131):
        name = "Thrombocytopenia" if i <= 100 else "Platelet count decreased"
        cases = [Case(name)]
        if i <= 30:
            cases.append(Case("Hypersensitivity"))
        cohort.report(i, *cases)
    for i in range(1, 11):
        cohort.report(i, Case("Platelet count decreased"))  # the same patients again
    for i in range(131, 191):
        cohort.report(i, Case("Nausea"))
    cohort.report(191, Case("Retinal haemorrhage", grade=3, seriousness=["hospitalization"]))
    cohort.report(192, Case("Retinal haemorrhage", grade=1))
    cohort.report(193, Case("pneumonia", grade=2))
    cohort.report(194, Case("Vitreous haemorrhage", grade=4), void=True)
    cohort.report(195, Case("Vitreous haemorrhage", grade=4), duplicate="confirmed")
    return cohort


def drug_with_label(name: str, *entries: tuple[str, str, str | None, str | None]) -> Drug:
    """A drug and its label of professional entries (term, band, incidence %, grade >= 3 %)."""
    from decimal import Decimal

    from reference.services import EntryInput, label_import

    result = label_import(
        drug_name=name,
        source="test label",
        entries=[
            EntryInput(
                verbatim=term,
                section="professional",
                band=band,
                incidence_pct=None if incidence is None else Decimal(incidence),
                grade3_pct=None if grade3 is None else Decimal(grade3),
            )
            for term, band, incidence, grade3 in entries
        ],
    )
    return result.label.drug
