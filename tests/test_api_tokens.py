"""API tokens expire, can be rotated and revoked, and a locked-out account gets a 429."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the standing accounts' (tests/conftest.py)


def with_token(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def age(token_key: str, days: float) -> None:
    Token.objects.filter(key=token_key).update(created=timezone.now() - timedelta(days=days))


def create_account(*args: str) -> str:
    out = StringIO()
    call_command("create_account", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def ask_for_token(username="nurse1", password=PASSWORD, **headers):
    body = {"username": username, "password": password}
    return APIClient().post("/api/v1/auth/token/", body, format="json", **headers)


def test_failed_sign_ins_at_the_token_endpoint_lock_it_with_a_429(nurse):
    for _ in range(4):
        assert ask_for_token(password="wrong").status_code == 400
    locked = ask_for_token(password="wrong")
    assert locked.status_code == 429
    assert "Retry-After" in locked
    again = ask_for_token()
    assert again.status_code == 429
    assert "token" not in again.json()


def test_a_token_expires_after_the_configured_days(nurse, settings):
    settings.API_TOKEN_TTL_DAYS = 90
    key = nurse.auth_token.key
    age(key, 89)
    assert with_token(key).get("/api/v1/me/").status_code == 200
    age(key, 91)
    response = with_token(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_tokens_never_expire_when_the_days_are_zero(nurse, settings):
    settings.API_TOKEN_TTL_DAYS = 0
    age(nurse.auth_token.key, 3650)
    assert with_token(nurse.auth_token.key).get("/api/v1/me/").status_code == 200
    assert ask_for_token().json()["expires_at"] is None


def test_signing_in_again_after_expiry_gives_a_new_token(nurse, settings):
    settings.API_TOKEN_TTL_DAYS = 90
    old = nurse.auth_token.key
    same = ask_for_token()
    assert same.status_code == 200
    assert same.json()["token"] == old
    assert same.json()["expires_at"]
    age(old, 91)
    # A stale token sent along out of habit does not stand in the way of asking for a new one.
    fresh = ask_for_token(HTTP_AUTHORIZATION=f"Token {old}")
    assert fresh.status_code == 200
    new = fresh.json()["token"]
    assert new != old
    assert with_token(new).get("/api/v1/me/").status_code == 200
    assert with_token(old).get("/api/v1/me/").status_code == 401


def test_create_account_rotate_token_prints_a_new_token_and_the_old_one_stops(nurse):
    old = nurse.auth_token.key
    assert create_account("nurse1", "--role", "nurse") == old
    new = create_account("nurse1", "--role", "nurse", "--rotate-token")
    assert new != old
    assert Token.objects.get(user=nurse).key == new
    assert with_token(old).get("/api/v1/me/").status_code == 401
    assert with_token(new).get("/api/v1/me/").status_code == 200
    assert AuditEntry.objects.filter(action="token.rotate", target_id=nurse.pk).exists()


def test_create_account_prints_a_working_token_for_an_account_whose_token_expired(nurse):
    old = nurse.auth_token.key
    age(old, 3650)
    new = create_account("nurse1", "--role", "nurse")
    assert new != old
    assert with_token(new).get("/api/v1/me/").status_code == 200


def test_delete_on_the_token_endpoint_revokes_the_callers_token(nurse, officer):
    key = nurse.auth_token.key
    other = officer.auth_token.key
    response = with_token(key).delete("/api/v1/auth/token/")
    assert response.status_code == 204
    refused = with_token(key).get("/api/v1/me/")
    assert refused.status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke", target_id=nurse.pk).exists()
    assert with_token(other).get("/api/v1/me/").status_code == 200
    # Without a token there is nothing to revoke.
    assert APIClient().delete("/api/v1/auth/token/").status_code == 401
    # Signing in again issues a new token.
    assert ask_for_token().json()["token"] != key
