import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.services import account_create_or_update
from reference.models import Drug

IN_CI = os.getenv("CI", "").lower() == "true"
# The tests' own data: public-domain files and published figures with their cells.
DATA = Path(__file__).resolve().parent / "data"


def need_service(what: str, available: bool, how: str) -> None:
    """Skip a test whose service is missing, except in CI, where that is a failure."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def port_open(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many accounts; a slow hash is a production concern, not a test one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def redis_url() -> str:
    url = os.getenv("REDIS_URL", "")
    need_service("Redis", bool(url) and port_open(url, 6379), "set REDIS_URL to a running Redis")
    return url


def _account(username: str, role: str, site: str | None):
    user, _, _ = account_create_or_update(
        username=username, role=role, password="correct-horse-battery", site_name=site
    )
    return user


@pytest.fixture
def nurse(db):
    return _account("nurse1", Role.NURSE, "St Elsewhere")


@pytest.fixture
def other_site_nurse(db):
    return _account("nurse2", Role.NURSE, "Mercy West")


@pytest.fixture
def officer(db):
    return _account("officer1", Role.SAFETY_OFFICER, None)


@pytest.fixture
def admin_account(db):
    return _account("admin1", Role.ADMIN, None)


@pytest.fixture
def api(nurse) -> APIClient:
    client = APIClient()
    client.force_authenticate(nurse)
    return client


@pytest.fixture
def inotuzumab(db) -> Drug:
    """The seed drug, whose label ships with the product and is loaded by migrate."""
    return Drug.objects.get(slug="inotuzumab-ozogamicin")


@pytest.fixture(autouse=True)
def no_baseline_cached():
    """Each test's spontaneous reports are its own: no disproportionality baseline read by an
    earlier test."""
    from spontaneous.baseline import _baselines

    _baselines.clear()


@pytest.fixture(autouse=True)
def no_detection_on_commit(settings):
    """Reports do not queue detection in tests unless a test asks for it."""
    settings.DETECTION_ON_NEW_REPORTS = False


@pytest.fixture(autouse=True)
def tasks_in_process():
    """Tasks run in the test's process; the end-to-end test starts a real worker instead."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before
