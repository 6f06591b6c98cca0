"""The drugs an ICSR named beyond the first suspect, once kept beside the received case, move to
the report when the database is migrated: nothing is lost."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reference.models import Drug
from reports.models import Report, SuspectReaction

from .e2b_helpers import file_report

BEFORE = [("e2b", "0001_received_case")]
AFTER = [("e2b", "0002_case_drugs_on_the_report")]


@pytest.mark.django_db(transaction=True)
def test_the_drugs_kept_beside_a_received_case_become_the_reports(nurse, inotuzumab):
    second = Drug.objects.create(slug="combimab", name="Combimab", brand_names=["Combix"])
    report = file_report(nurse)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old.get_model("e2b", "ReceivedCase").objects.create(
        safety_report_id="GB-OTHERHOSP-1",
        report_id=report.pk,
        latest_information="20260101",
        content_hash="x",
        other_suspects=[
            {
                "name": "Combix",
                "role": "suspect",
                "dose": "2 mg",
                "route": "IV",
                "start": "2026-01-02",
                "end": None,
            },
            {
                "name": "vincristine",
                "role": "suspect",
                "dose": "",
                "route": "",
                "start": None,
                "end": None,
            },
        ],
        concomitants=[
            {
                "name": "ondansetron",
                "role": "concomitant",
                "dose": "8 mg",
                "route": "Oral",
                "start": None,
                "end": None,
            },
            {
                "name": "Drug B",
                "role": "interacting",
                "dose": "",
                "route": "",
                "start": None,
                "end": None,
            },
        ],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    report = Report.objects.get(pk=report.pk)
    assert [
        (d.position, d.name, d.role, d.drug_id, d.dose, d.route, str(d.therapy_start))
        for d in report.other_drugs.order_by("position")
    ] == [
        (2, "Combix", "suspect", None, "2 mg", "intravenous", "2026-01-02"),
        (3, "vincristine", "suspect", None, "", "", "None"),
        (4, "ondansetron", "concomitant", None, "8 mg", "oral", "None"),
        (5, "Drug B", "interacting", None, "", "", "None"),
    ]
    # Kept by name: no reaction is judged against another label by a migration.
    assert not SuspectReaction.objects.filter(reaction__report=report, drug=second).exists()
