"""The longest names the product accepts fit every column they are copied into.

SQLite does not enforce a varchar's length, so these tests run on PostgreSQL (they skip on
a bare machine and fail under CI=true without it).
"""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import Site
from accounts.services import account_create_or_update
from audit.models import AuditEntry
from reference.models import Drug, Term, TermName
from reference.services import EntryInput, label_import
from reports.models import Report
from reports.services import report_duplicate_decide, report_void
from surveillance.models import Signal
from surveillance.review import signal_assign, signal_move
from surveillance.services import run_create, run_execute

from .cohort import Case, CohortBuilder
from .conftest import need_service
from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db


def _longest(model: type, field: str, stem: str) -> str:
    """A name of exactly the field's maximum length."""
    limit: int = model._meta.get_field(field).max_length
    return (stem + " - Other, specify " + "x" * limit)[:limit]


@pytest.fixture
def postgres() -> None:
    need_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")


@pytest.fixture
def long_drug(postgres) -> Drug:
    name = _longest(Drug, "name", "Long drug name with a combination of active substances")
    entries = [EntryInput(verbatim="Nausea", section="professional", band="common")]
    return label_import(drug_name=name, entries=entries, source="test").label.drug


@pytest.fixture
def long_term(postgres) -> Term:
    name = _longest(Term, "name", "General disorders and administration site conditions")
    term = Term.objects.create(name=name, soc="General disorders")
    TermName.objects.create(term=term, text=name, kind="name")
    return term


@pytest.fixture
def long_site_nurse(postgres):
    name = _longest(Site, "name", "Hospital of the long name, department of")
    user, _, _ = account_create_or_update(username="nurse-long", role=Role.NURSE, site_name=name)
    return user


def test_a_signal_with_the_longest_drug_and_term_names_moves_and_reopens(
    long_drug, long_term, long_site_nurse, officer
):
    cohort = CohortBuilder(long_drug, long_site_nurse, long_site_nurse.site)
    cohort.register(10)
    cohort.report(1, Case(long_term.name, grade=3))
    run_execute(run_create(trigger="manual", drug=long_drug))
    signal = Signal.objects.get(drug=long_drug, term=long_term, kind="unlisted")
    signal_assign(actor=officer, signal=signal, assignee=officer)
    signal_move(actor=officer, signal=signal, status="under_validation", comment="look")
    signal_move(actor=officer, signal=signal, status="not_validated", comment="known")
    cohort.report(2, Case(long_term.name))
    run = run_execute(run_create(trigger="manual", drug=long_drug))
    assert run.status == "succeeded", run.error
    signal.refresh_from_db()
    assert signal.status == "new"
    actions = set(
        AuditEntry.objects.filter(target_type="signal", target_id=signal.pk).values_list(
            "action", flat=True
        )
    )
    assert actions == {"signal.assign", "signal.status", "signal.reopen"}
    entry = AuditEntry.objects.filter(target_id=signal.pk).first()
    assert entry is not None and entry.target_label == str(signal)
    assert long_drug.name in entry.target_label and long_term.name in entry.target_label


def test_a_report_and_exposures_at_the_longest_site_with_the_longest_names_are_audited(
    long_drug, long_term, long_site_nurse, officer
):
    api = APIClient()
    api.force_authenticate(long_site_nurse)
    exposure = api.post(
        "/api/v1/exposures/",
        {"patient": "PT-1", "drug": long_drug.slug, "start_date": "2026-10-01"},
        format="json",
    )
    assert exposure.status_code == 201, exposure.json()
    site_entry = AuditEntry.objects.get(action="exposure.register")
    assert site_entry.target_label == long_site_nurse.site.name
    body = report_payload(reaction(long_term.name), patient="PT-1", drug=long_drug.name)
    first = api.post("/api/v1/reports/", body, format="json")
    assert first.status_code == 201, first.json()
    again = api.post("/api/v1/reports/", {**body, "narrative": "again"}, format="json")
    assert again.status_code == 201, again.json()
    follow_up = api.post(
        f"/api/v1/reports/{first.json()['id']}/follow-up/",
        {"new_reactions": [reaction(long_term.name, onset_date="2026-10-10")]},
        format="json",
    )
    assert follow_up.status_code in (200, 201), follow_up.json()
    second = Report.objects.get(pk=again.json()["id"])
    assert second.duplicate_status == "suspected"
    report_duplicate_decide(actor=officer, report=second, duplicate=False, comment="distinct")
    report_void(actor=officer, report=second, reason="entered twice")
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert actions == {
        "exposure.register",
        "report.create",
        "report.follow_up",
        "report.duplicate_decision",
        "report.void",
    }
