"""Bodies built to break the product: each is a clear refusal, and nothing is saved."""

import json

import pytest
from rest_framework.test import APIClient

from reports.models import Exposure, Report

from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000


def test_deeply_nested_json_on_the_token_endpoint_is_a_400_without_signing_in():
    api = APIClient(raise_request_exception=False)
    response = api.post("/api/v1/auth/token/", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/reports/", "/api/v1/exposures/"])
def test_deeply_nested_json_is_a_400_for_an_account(nurse, path):
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(nurse)
    response = api.generic("POST", path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


def test_a_deep_field_the_report_does_not_read_is_refused_before_it_is_stored(nurse, inotuzumab):
    # Shallow enough for the parser, deep enough to break whatever walks it next (the
    # idempotency record hashes the whole body).
    body = json.dumps(report_payload(reaction("Nausea"))).rstrip("}")
    body += ', "extra": ' + "[" * 900 + "]" * 900 + "}"
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(nurse)
    response = api.post(
        "/api/v1/reports/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]
    assert Report.objects.count() == 0
    assert Exposure.objects.count() == 0


def test_ordinary_nesting_still_parses(nurse, inotuzumab):
    api = APIClient()
    api.force_authenticate(nurse)
    response = api.post("/api/v1/reports/", report_payload(reaction("Nausea")), format="json")
    assert response.status_code == 201
