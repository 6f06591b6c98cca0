import random
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.services import account_create_or_update
from reference.models import Drug
from reports.choices import Coding
from reports.inputs import DrugInput, PatientInput, ReactionInput, ReportInput
from reports.models import Patient, Reaction
from reports.services import ExposureRow, exposures_register, report_submit
from surveillance.choices import Trigger
from surveillance.services import run_create, run_execute
from surveillance.triggers import detection_paused

DEMO_SITE = "Demo General Hospital"
PREFIX = "DEMO-"

# Synthetic reactions, in patients per 300 treated, chosen so that detection raises each kind
# of signal on the seed label: more frequent than labelled, more often severe than labelled,
# and unlisted (among them a bleeding site the label does not name).
PLAN: list[tuple[str, int, tuple[int, int], list[str]]] = [
    # term, patients, grade range, seriousness
    ("Thrombocytopenia", 190, (1, 2), []),
    ("Hypersensitivity", 45, (1, 2), []),
    ("Nausea", 80, (1, 2), []),
    ("Febrile neutropenia", 95, (3, 4), ["hospitalization"]),
    # Anaemia at its labelled 36%, but grade >= 3 far above the labelled 24%.
    ("Anaemia", 95, (3, 4), []),
    ("Epistaxis", 30, (1, 1), []),
    ("Retinal haemorrhage", 4, (3, 3), ["hospitalization"]),
    ("Haemoptysis", 2, (2, 2), []),
    ("pneumonia", 25, (2, 3), []),
]

# Reactions filed in the nurses' own words, with no term: the coder codes the first at once;
# the others no term matches, so they wait in the officers' coding queue.
WORDS: list[tuple[str, int, int, list[str]]] = [
    # words, patients, grade, seriousness
    ("bleeding at the back of the eye", 1, 3, ["hospitalization"]),
    ("legs felt like jelly on the stairs", 2, 2, []),
    ("funny turn after the infusion", 1, 3, ["other_medically_important"]),
]

# Drugs given with the seed drug (it is used with low-intensity chemotherapy): a further
# suspect outside the formulary, kept by name, and concomitant drugs, in patients per 300
# reports.
CASE_DRUGS: list[tuple[str, bool, str, str, int]] = [
    # name, suspect, dose, route, reports
    ("vincristine", True, "1.4 mg/m2", "intravenous", 40),
    ("dexamethasone", False, "10 mg", "oral", 60),
    ("ondansetron", False, "8 mg", "oral", 90),
]


class Command(BaseCommand):
    help = (
        "Load a synthetic demo cohort (DEMO- patients at the demo site) on the seed drug and "
        "run detection, so that the officers' pages show signals at once. Demo data only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=300)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        drug = Drug.objects.filter(slug="inotuzumab-ozogamicin").first()
        if drug is None:
            self.stdout.write("The seed drug is not loaded; run migrate first.")
            return
        if Patient.objects.filter(reference__startswith=PREFIX).exists():
            self.stdout.write("The demo cohort is already loaded.")
            return
        nurse, _, _ = account_create_or_update(
            username="demo-loader", role=Role.NURSE, site_name=DEMO_SITE
        )
        assert nurse.site is not None
        rng = random.Random(options["seed"])  # noqa: S311 - synthetic demo data, not secrets
        count = options["patients"]
        start = timezone.localdate() - timedelta(days=120)
        with detection_paused(), transaction.atomic():
            exposures_register(
                actor=nurse,
                site=nurse.site,
                rows=[
                    ExposureRow(
                        patient=f"{PREFIX}{i:04d}",
                        drug=drug.slug,
                        start_date=start + timedelta(days=rng.randint(0, 30)),
                        route="intravenous",
                    )
                    for i in range(1, count + 1)
                ],
            )
            reactions: dict[int, list[ReactionInput]] = {}
            for term, patients, (low, high), seriousness in PLAN:
                for i in rng.sample(range(1, count + 1), min(patients * count // 300, count)):
                    grade = rng.randint(low, high)
                    reactions.setdefault(i, []).append(
                        ReactionInput(
                            term=term,
                            onset_date=start + timedelta(days=rng.randint(31, 60)),
                            grade=grade,
                            seriousness=list(seriousness),
                            outcome="recovering",
                        )
                    )
            words = random.Random(options["seed"] + 1)  # noqa: S311 - synthetic demo data
            for text, patients, grade, seriousness in WORDS:
                for i in words.sample(range(1, count + 1), min(patients, count)):
                    reactions.setdefault(i, []).append(
                        ReactionInput(
                            verbatim=text,
                            onset_date=start + timedelta(days=words.randint(31, 60)),
                            grade=grade,
                            seriousness=list(seriousness),
                            outcome="recovering",
                        )
                    )
            given = random.Random(options["seed"] + 2)  # noqa: S311 - synthetic demo data
            for i, items in sorted(reactions.items()):
                drugs = [
                    (suspect, DrugInput(drug=name, dose=dose, route=route, therapy_start=start))
                    for name, suspect, dose, route, per_300 in CASE_DRUGS
                    if given.random() < per_300 / 300
                ]
                report_submit(
                    reporter=nurse,
                    data=ReportInput(
                        patient=PatientInput(
                            reference=f"{PREFIX}{i:04d}",
                            age=rng.randint(20, 80),
                            sex=rng.choice(["female", "male"]),
                        ),
                        drug=drug.slug,
                        therapy_start=start,
                        narrative="Synthetic demo case.",
                        reactions=items,
                        other_suspect_drugs=[d for suspect, d in drugs if suspect],
                        concomitant_drugs=[d for suspect, d in drugs if not suspect],
                    ),
                )
        run = run_execute(run_create(trigger=Trigger.COMMAND_LINE))
        pending = Reaction.objects.filter(
            coding=Coding.PENDING, patient__reference__startswith=PREFIX
        ).count()
        self.stdout.write(
            f"Demo cohort: {count} treated patients, {len(reactions)} reports (synthetic, "
            f"references {PREFIX}...). Detection run {run.pk} {run.status}: "
            f"{run.counts.get('signals_new', 0)} new signals. "
            f"{pending} reaction{'s' if pending != 1 else ''} in the nurses' words await "
            "coding."
        )
