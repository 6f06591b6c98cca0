"""Chromium for the browser tests: Debian's package, driven by Playwright."""

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import need_service

LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return (
        os.getenv("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    path = chromium_path()
    need_service("Chromium", bool(path), "install Debian's chromium package")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of
    # the live server's fixtures are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1024, "height": 1366})
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Each role lands on its own page: whichever it is, the sign-in form is gone.
    page.wait_for_url(lambda url: not url.startswith(f"{base_url}/login/"))
