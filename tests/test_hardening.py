import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from reports.models import Report

from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db


def test_pages_carry_a_content_security_policy(client, nurse):
    client.force_login(nurse)
    response = client.get("/reports/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self';" in policy


def test_repeated_failed_sign_ins_lock_the_account_for_a_while(nurse):
    client = Client()
    wrong = {"username": "nurse1", "password": "wrong"}
    for _ in range(4):
        assert client.post("/login/", wrong).status_code == 200
    # The fifth failure locks the account, and then even the right password is refused.
    assert client.post("/login/", wrong).status_code == 429
    locked = client.post("/login/", {"username": "nurse1", "password": "correct-horse-battery"})
    assert locked.status_code == 429
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token/",
        {"username": "nurse1", "password": "correct-horse-battery"},
        format="json",
    )
    # The token endpoint refuses the locked account too, with the same 429 as the page.
    assert token.status_code == 429
    assert "token" not in token.json()
    assert "too many" in token.json()["detail"].lower()
    assert int(token["Retry-After"]) > 0


def test_an_unreachable_database_is_a_clear_503_and_nothing_is_saved(
    nurse, inotuzumab, monkeypatch
):
    from reports.services import reports as report_services

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(report_services, "next_case_number", down)
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(nurse)
    response = api.post("/api/v1/reports/", report_payload(reaction("Nausea")), format="json")
    assert response.status_code == 503
    assert "database is unavailable" in response.json()["detail"]
    assert response["Retry-After"] == "30"
    assert Report.objects.count() == 0


def test_an_oversized_body_is_refused_with_a_clear_413(nurse, inotuzumab, settings):
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(nurse)
    body = report_payload(
        reaction("Nausea"), narrative="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    )
    response = api.post("/api/v1/reports/", body, format="json")
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert Report.objects.count() == 0


def test_no_patient_reference_reaches_the_logs(nurse, inotuzumab, caplog):
    api = APIClient()
    api.force_authenticate(nurse)
    with caplog.at_level("DEBUG"):
        api.post(
            "/api/v1/reports/",
            report_payload(reaction("Nausea"), patient="PT-SECRET-77"),
            format="json",
        )
        api.post(
            "/api/v1/reports/",
            report_payload(reaction("no such term"), patient="PT-SECRET-78"),
            format="json",
        )
    assert "PT-SECRET" not in caplog.text


@pytest.mark.parametrize("path", ["/reports/", "/exposures/", "/surveillance/signals/"])
def test_pages_for_an_account_are_never_cached(client, officer, path):
    client.force_login(officer)
    response = client.get(path)
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


def test_api_answers_to_a_token_are_never_cached(nurse, inotuzumab):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {nurse.auth_token.key}")
    created = api.post("/api/v1/reports/", report_payload(reaction("Nausea")), format="json")
    for response in (created, api.get("/api/v1/reports/"), api.get("/api/v1/me/")):
        assert response.status_code in {200, 201}
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives
