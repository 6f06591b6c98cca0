"""Opt-in proxy and HSTS-preload settings (config/settings.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x" * 60 + "-production-key-for-check-only",
    "DJANGO_ALLOWED_HOSTS": "ae.example.org",
}


def setting(name, **env):
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_BEHIND_PROXY", "DJANGO_HSTS_PRELOAD"}
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        f"print(repr(settings.{name}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "config.settings", **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_proxy_header_is_trusted_only_on_request():
    assert setting("SECURE_PROXY_SSL_HEADER") == "None"
    assert setting("SECURE_PROXY_SSL_HEADER", DJANGO_BEHIND_PROXY="1") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_hsts_preload_and_subdomains_only_on_request():
    assert setting("SECURE_HSTS_PRELOAD") == "False"
    assert setting("SECURE_HSTS_INCLUDE_SUBDOMAINS") == "False"
    assert setting("SECURE_HSTS_PRELOAD", DJANGO_HSTS_PRELOAD="1") == "True"
    assert setting("SECURE_HSTS_INCLUDE_SUBDOMAINS", DJANGO_HSTS_PRELOAD="1") == "True"
    silenced = setting("SILENCED_SYSTEM_CHECKS", DJANGO_HSTS_PRELOAD="1")
    assert "security.W005" not in silenced and "security.W021" not in silenced
