import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.celery import app

from .conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_on_postgresql():
    if IN_CI:
        assert connection.vendor == "postgresql", "CI must run the suite on PostgreSQL"
    elif os.getenv("DATABASE_URL", "").startswith("postgres"):
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor == "sqlite"


def test_the_cache_uses_redis_when_configured(redis_url):
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    key = f"test:{uuid.uuid4()}"
    cache.set(key, {"ok": 1}, 30)
    assert cache.get(key) == {"ok": 1}
    cache.delete(key)


def test_celery_speaks_json_only_with_time_limits():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit > 0
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit
    assert isinstance(app.conf.beat_schedule, dict)


def test_without_a_broker_tasks_run_in_process():
    assert settings.CELERY_TASK_ALWAYS_EAGER is not bool(os.getenv("CELERY_BROKER_URL"))
    if settings.CELERY_TASK_ALWAYS_EAGER:
        assert settings.CELERY_BROKER_URL == "memory://"


def run_manage(*args, **env):
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 60 + "-production-key-for-check-only",
        DJANGO_ALLOWED_HOSTS="ae.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
