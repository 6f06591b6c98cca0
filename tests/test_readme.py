"""Every command and request the README shows runs as written.

The README's shell blocks are read line by line: `python manage.py` lines run in this
process against the test database, in a folder holding the files they name; lines that
set environment variables before a command run in a shell; `curl` requests are sent to
the API with the demo accounts' tokens. Lines that set up or start services (make,
docker, the worker) are listed here by what they start: a new kind of line fails the test
until it is placed.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User

from .conftest import DATA
from .meddra_release import release_write
from .spontaneous_data import write_csv

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# Lines that start or set up services and servers: run by CI itself (make test), by a
# user at a terminal, or by a Docker engine.
SERVICE_LINES = (
    "make run",
    "make test",
    "createdb ",
    "export",
    "docker compose ",
    ".venv/bin/celery ",
    ".venv/bin/python manage.py runserver ",
)
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def shell_lines(text: str) -> list[str]:
    """The commands of the README's ```sh blocks: continuation lines joined, and the lines
    of a quoted string (a JSON body) kept together as the shell reads them."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        pending = ""
        for line in block.replace("\\\n", " ").splitlines():
            pending = f"{pending}\n{line}" if pending else line.strip()
            try:
                shlex.split(pending, comments=True)
            except ValueError:
                continue  # a quote still open
            if pending:
                lines.append(pending)
            pending = ""
        assert not pending, f"unclosed quote in the README: {pending!r}"
    return lines


def readme_files(folder: Path) -> None:
    """The files the README's commands name, as a user would have them."""
    shutil.copy(DATA / "ctcae_sample.csv", folder / "ctcae_v5.0.csv")
    for quarter in ("faers_ascii_2017q2.zip", "aers_ascii_2004q1.zip"):
        shutil.copy(DATA / "faers" / quarter, folder / quarter)
    write_csv(
        folder / "reports.csv",
        [
            ("R1", "Examplumab", "Nausea"),
            ("R1", "Examplumab", "Emotional distress"),
            ("R2", "inotuzumab ozogamicin", "Headache"),
        ],
    )
    # A made-up release in MedDRA's layout; it gives the bleeding sites the demo's expedited
    # cases name (terms the product added) made-up codes, so that those cases export.
    release_write(
        folder / "MedDRA",
        version="27.0",
        extra={"93000001": "Retinal haemorrhage", "93000002": "Haemoptysis"},
    )


def run_manage(words: list[str]) -> None:
    output = None
    if ">" in words:
        at = words.index(">")
        words, output = words[:at], words[at + 1]
    out = StringIO()
    call_command(*words[2:], stdout=out, stderr=StringIO())
    if output:
        Path(output).write_text(out.getvalue(), encoding="utf-8")


def account_token(username: str, role: str, *extra: str) -> str:
    """The token create_account prints on its last line."""
    out = StringIO()
    call_command("create_account", username, "--role", role, *extra, stdout=out)
    return out.getvalue().splitlines()[-1]


def run_in_shell(line: str) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        ["/bin/bash", "-c", line],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"


def send(words: list[str], tokens: dict[str, str]) -> None:
    headers: dict[str, str] = {}
    method, body, url = "GET", None, None
    words = words[1:]
    while words:
        word = words.pop(0)
        if word == "-H":
            name, value = words.pop(0).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            method, body = ("POST" if method == "GET" else method), words.pop(0)
        elif word == "-X":
            method = words.pop(0)
        elif word.startswith("http"):
            url = word
        else:
            raise AssertionError(f"curl option {word!r} is not understood by this test")
    assert url is not None
    for variable, token in tokens.items():
        headers = {k: v.replace(f"${variable}", token) for k, v in headers.items()}
    client = APIClient()
    extra: dict[str, Any] = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in headers.items()
        if name.lower() != "content-type"
    }
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if body is not None:
        json.loads(body)  # the README shows valid JSON
    response = client.generic(
        method,
        path,
        body or "",
        content_type=headers.get("Content-Type", "application/octet-stream"),
        **extra,
    )
    assert response.status_code < 300, (
        f"{method} {url}: {response.status_code} {response.content!r}"
    )


@pytest.mark.django_db(transaction=True)
def test_every_command_and_request_of_the_readme_runs(tmp_path, monkeypatch):
    lines = shell_lines(README.read_text(encoding="utf-8"))
    readme_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    ran = {"manage": 0, "shell": 0, "curl": 0, "service": 0}
    tokens: dict[str, str] = {}
    for line in lines:
        words = shlex.split(line, comments=True)
        if not words:
            continue  # a comment carried on its own line
        command = " ".join(w for w in words if not ENV_ASSIGNMENT.match(w))
        if command.startswith(SERVICE_LINES):
            ran["service"] += 1
        elif words[:2] in (["python", "manage.py"], [".venv/bin/python", "manage.py"]):
            run_manage(words)
            ran["manage"] += 1
        elif ENV_ASSIGNMENT.match(line):
            run_in_shell(line)
            ran["shell"] += 1
        elif words[0] == "curl":
            tokens = tokens or {
                "TOKEN": account_token("readme-nurse", "nurse", "--site", "St Elsewhere"),
                "OFFICER_TOKEN": account_token("readme-officer", "safety_officer"),
            }
            send(words, tokens)
            ran["curl"] += 1
        else:
            raise AssertionError(f"the README line {line!r} is run by no test: place it here")
    assert ran["manage"] >= 10 and ran["curl"] >= 6 and ran["shell"] >= 1, ran


@pytest.mark.django_db
def test_the_readmes_report_in_a_nurses_words_codes_to_the_site_of_the_bleed(inotuzumab):
    """The README's first request files "bleeding at the back of the eye" with no term: the
    coder gives it Retinal haemorrhage, unlisted, and the serious case is expedited."""
    [line] = [
        line
        for line in shell_lines(README.read_text(encoding="utf-8"))
        if "bleeding at the back of the eye" in line
    ]
    words = shlex.split(line)
    body = json.loads(words[words.index("-d") + 1])
    account_token("readme-nurse", "nurse", "--site", "St Elsewhere")
    client = APIClient()
    client.force_authenticate(User.objects.get(username="readme-nurse"))
    response = client.post("/api/v1/reports/", body, format="json")
    assert response.status_code == 201, response.json()
    [reaction] = response.json()["reactions"]
    assert (reaction["term"], reaction["coding"], reaction["listedness"]) == (
        "Retinal haemorrhage",
        "auto",
        "unlisted",
    )
    assert response.json()["expedited"] is True
