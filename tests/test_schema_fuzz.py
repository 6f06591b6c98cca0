"""Schemathesis over the schema the product serves at /api/schema/.

Every operation, as a nurse and as a safety officer, each with a real API token, against the
WSGI application: generated requests, valid and invalid, never get a 5xx, and every answer
(status code, content type, headers, body) is one the schema documents.
"""

import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import resolve
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from reports.models import Exposure, Report
from surveillance.models import DetectionRun, Signal
from surveillance.services import run_create, run_execute

from .cohort import Case, CohortBuilder
from .factories import reaction, report_payload

SCHEMA_URL = "/api/schema/"


class SchemaReader(AnonymousUser):
    """Whoever reads the schema: the schema view wants an account, not a particular one."""

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True


def served_schema() -> dict[str, Any]:
    """The schema as /api/schema/ serves it, read through that URL's own view at collection
    time, when the database is not open yet (the view reads none)."""
    request = APIRequestFactory().get(SCHEMA_URL, {"format": "json"})
    force_authenticate(request, user=SchemaReader())
    response = resolve(SCHEMA_URL).func(request)
    response.render()
    assert response.status_code == 200, response.content
    schema: dict[str, Any] = json.loads(response.content)
    return schema


SERVED = served_schema()
schema = schemathesis.openapi.from_dict(SERVED)
schema.app = application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    # Every operation but the token endpoint refuses a request without a valid token.
    ignored_auth,
]

# Objects that exist in the test database, by path parameter, filled in by a fixture.
KNOWN: dict[str, list[Any]] = {}
KNOWN_BY_PATH = {
    "/api/v1/reports/{id}/": "report",
    "/api/v1/reports/{id}/follow-up/": "report",
    "/api/v1/reports/{id}/void/": "report",
    "/api/v1/reports/{id}/duplicate-decision/": "report",
    "/api/v1/exposures/{id}/": "exposure",
    "/api/v1/signal-runs/{id}/": "run",
    "/api/v1/signals/{id}/": "signal",
    "/api/v1/drugs/{slug}/": "drug",
    "/api/v1/drugs/{slug}/label/": "drug",
    "/api/v1/drugs/{slug}/listedness/": "drug",
    "/api/v1/drugs/{slug}/disproportionality/": "drug",
}


@schema.hook
def before_generate_path_parameters(context: Any, strategy: Any) -> Any:
    """Half the time, an object that exists: otherwise nearly every detail request is a 404."""
    kind = KNOWN_BY_PATH.get(context.operation.path)
    if kind is None:
        return strategy
    name = "slug" if kind == "drug" else "id"
    existing = st.integers(min_value=0, max_value=1000).map(
        lambda i: {name: KNOWN[kind][i % len(KNOWN[kind])]}
    )
    return st.one_of(existing, strategy)


# Most generated bodies name a drug, a term or a patient that cannot exist, and are rightly
# refused; half of the generated ones are steered towards what the test database holds.
SITE = "st-elsewhere"
TERM = "Nausea"
DRUG = "inotuzumab-ozogamicin"
PASSWORD = "correct-horse-battery"  # the standing accounts' (tests/conftest.py)


def steered_reaction(reaction: Any) -> Any:
    if not isinstance(reaction, dict):
        return reaction
    dateless = {k: v for k, v in reaction.items() if k not in {"onset_date", "end_date"}}
    return {**dateless, "term": TERM}


def steered_report(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    body = {k: v for k, v in body.items() if k not in {"therapy_start", "therapy_end"}}
    body.update(drug=DRUG, site=SITE)
    if isinstance(body.get("patient"), dict):
        body["patient"] = {**body["patient"], "reference": "PT-FUZZ-1"}
    for key in ("reactions", "new_reactions"):
        if isinstance(body.get(key), list):
            body[key] = [steered_reaction(r) for r in body[key]]
    return body


def steered_exposures(body: Any) -> Any:
    if isinstance(body, list):
        return [steered_exposures(row) for row in body]
    if not isinstance(body, dict):
        return body
    return {**body, "drug": DRUG, "patient": "PT-FUZZ-2", "site": SITE}


def steered_follow_up(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    new = body.get("new_reactions")
    return {**body, "updates": [], "new_reactions": [steered_reaction(r) for r in new or []]}


def steered_run(body: Any) -> Any:
    return {**body, "drug": DRUG} if isinstance(body, dict) else body


STEERED_BODIES = {
    ("POST", "/api/v1/reports/"): steered_report,
    ("POST", "/api/v1/exposures/"): steered_exposures,
    ("POST", "/api/v1/reports/{id}/follow-up/"): steered_follow_up,
    ("POST", "/api/v1/signal-runs/"): steered_run,
}
STEERED_TERMS = {"/api/v1/drugs/{slug}/listedness/", "/api/v1/terms/criteria/"}
SOURCE = "regional-database"
STEERED_SOURCES = {"/api/v1/drugs/{slug}/disproportionality/"}


@schema.hook
def before_generate_body(context: Any, strategy: Any) -> Any:
    operation = context.operation
    steer = STEERED_BODIES.get((operation.method.upper(), operation.path))
    return strategy if steer is None else st.one_of(strategy.map(steer), strategy)


@schema.hook
def before_generate_query(context: Any, strategy: Any) -> Any:
    if context.operation.path in STEERED_SOURCES:
        steered = strategy.map(lambda q: {**q, "source": SOURCE} if isinstance(q, dict) else q)
        return st.one_of(steered, strategy)
    if context.operation.path not in STEERED_TERMS:
        return strategy
    steered = strategy.map(lambda q: {**q, "term": TERM} if isinstance(q, dict) else q)
    return st.one_of(steered, strategy)


def recent(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def valid_report(patient: str, term: str) -> dict[str, Any]:
    payload: dict[str, Any] = report_payload(
        reaction(term, grade=3, seriousness=["hospitalization"], onset_date=recent(5)),
        patient=patient,
        therapy_start=recent(20),
        site=SITE,
    )
    return payload


# Requests that succeed, tried before the generated ones: a new report, its retry (answered
# with the first report), one key reused with another body (409), exposures one by one and
# in a list, and a detection run for a drug.
EXAMPLES: dict[tuple[str, str], list[tuple[dict[str, str], Any]]] = {
    ("POST", "/api/v1/reports/"): [
        ({"Idempotency-Key": "same-body"}, valid_report("PT-EX-1", "Retinal haemorrhage")),
        ({"Idempotency-Key": "same-body"}, valid_report("PT-EX-1", "Retinal haemorrhage")),
        ({"Idempotency-Key": "other-body"}, valid_report("PT-EX-2", "Nausea")),
        ({"Idempotency-Key": "other-body"}, valid_report("PT-EX-2", "Headache")),
    ],
    ("POST", "/api/v1/exposures/"): [
        ({}, {"patient": "PT-EX-3", "drug": DRUG, "site": SITE}),
        ({}, [{"patient": p, "drug": DRUG, "site": SITE} for p in ("PT-EX-3", "PT-EX-4")]),
    ],
    ("POST", "/api/v1/signal-runs/"): [({}, {"drug": DRUG})],
    ("POST", "/api/v1/auth/token/"): [({}, {"username": "nurse1", "password": PASSWORD})],
}


@schema.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    operation = context.operation
    for headers, body in EXAMPLES.get((operation.method.upper(), operation.path), []):
        examples.append(operation.Case(headers=headers, body=body, media_type="application/json"))


@pytest.fixture
def world(inotuzumab, nurse, other_site_nurse, officer, tmp_path) -> Iterator[dict[str, str]]:
    """Reports of two sites, exposures, a detection run with its signals; and the tokens."""
    cohort = CohortBuilder(inotuzumab, nurse, nurse.site)
    cohort.register(20)
    for patient in (1, 2, 3):
        cohort.report(patient, Case("Retinal haemorrhage", grade=3, seriousness=["disability"]))
    for patient in range(4, 10):
        cohort.report(patient, Case("Nausea"))
    cohort.report(10, Case("Nausea"), duplicate="suspected")
    cohort.report(11, Case("Vitreous haemorrhage", grade=4), void=True)
    run_execute(run_create(trigger="manual"))
    other = APIClient()
    other.force_authenticate(other_site_nurse)
    response = other.post("/api/v1/reports/", report_payload(reaction("Nausea")), format="json")
    assert response.status_code == 201, response.json()
    # A source of spontaneous reports where the drug is reported, for its table.
    spontaneous = tmp_path / "regional.csv"
    spontaneous.write_text(
        "report_id,drug,event\n"
        + "".join(f"S{i},Inotuzumab ozogamicin,Retinal haemorrhage\n" for i in range(4))
        + "".join(f"T{i},Comparol,Nausea\n" for i in range(8)),
        encoding="utf-8",
    )
    call_command(
        "import_reports", str(spontaneous), "--source", "Regional database", stdout=io.StringIO()
    )
    KNOWN.update(
        report=list(Report.objects.order_by("pk").values_list("pk", flat=True)[:20]),
        exposure=list(Exposure.objects.order_by("pk").values_list("pk", flat=True)[:20]),
        run=list(DetectionRun.objects.values_list("pk", flat=True)),
        signal=list(Signal.objects.values_list("pk", flat=True)),
        drug=[inotuzumab.slug],
    )
    assert all(KNOWN.values()), KNOWN
    yield {
        "nurse": Token.objects.get(user=nurse).key,
        "safety_officer": Token.objects.get(user=officer).key,
    }
    KNOWN.clear()


@pytest.fixture
def in_test_transaction(db) -> Iterator[None]:
    """Requests run inside the test's transaction, as Django's test client runs them: the
    handler must not close the connection at the start and end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_fuzzed_schema_is_the_one_served_to_an_account(nurse):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=nurse).key}")
    response = api.get(SCHEMA_URL, {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content) == SERVED
    assert len(SERVED["paths"]) >= 19


@schema.parametrize()
@pytest.mark.parametrize("role", ["nurse", "safety_officer"])
@settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    # The examples of an operation share the test's database on purpose: what one request
    # writes, the next may read.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_no_5xx_and_every_answer_as_documented(case, role, world, in_test_transaction):
    case.call_and_validate(headers={"Authorization": f"Token {world[role]}"}, checks=CHECKS)


# What the fuzzer found, pinned as plain tests.


def test_an_overlong_username_at_the_token_endpoint_is_a_400_not_a_500(db):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "x" * 300, "password": "pw"}, format="json"
    )
    assert response.status_code == 400
    assert "username" in response.json()


def test_an_api_path_that_no_route_matches_is_a_json_404(api):
    response = api.get("/api/v1/reports/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_boolean_filter_reads_1_and_0_and_refuses_other_words(api, nurse, inotuzumab):
    body = report_payload(reaction("Retinal haemorrhage", grade=3, seriousness=["disability"]))
    assert api.post("/api/v1/reports/", body, format="json").json()["expedited"] is True
    api.post("/api/v1/reports/", report_payload(reaction("Nausea"), patient="PT-2"), format="json")
    assert api.get("/api/v1/reports/", {"expedited": "1"}).json()["count"] == 1
    assert api.get("/api/v1/reports/", {"expedited": "0"}).json()["count"] == 1
    assert api.get("/api/v1/reports/", {"expedited": ""}).json()["count"] == 2
    refused = api.get("/api/v1/reports/", {"expedited": "maybe"})
    assert refused.status_code == 400
    assert "expedited" in refused.json()


def test_the_api_reads_json_bodies_only(api, inotuzumab):
    response = api.post("/api/v1/exposures/", {"patient": "PT-1", "drug": "inotuzumab-ozogamicin"})
    assert response.status_code == 415
