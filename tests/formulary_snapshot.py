"""What the formulary and the terminology look like to the product's users, for tests that
show an import of spontaneous reports leaves them unchanged: the drug list of the API, the
term search, the pages that list the formulary's drugs, and the number of drugs an
all-drugs detection run fans out to."""

import io
import re
from collections.abc import Iterable
from typing import Any

from django.core.management import call_command

from surveillance.models import DetectionRun

# Events and drugs every spontaneous-report test file is likely to name, and a few words
# that would find new terms or drugs by a part of their name.
QUERIES = ("nausea", "headache", "pyrexia", "fever", "haemorrhage", "emotional", "energy", "a")
PAGES = ("/", "/reports/new/", "/exposures/")
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _all_pages(client: Any, url: str) -> list[Any]:
    results: list[Any] = []
    while url:
        body = client.get(url).json()
        results += body["results"]
        url = body["next"]
    return results


def detection_fan_out() -> int:
    """The drugs a detection run over every drug makes a part for."""
    call_command("detect_signals", stdout=io.StringIO())
    run = DetectionRun.objects.filter(drug__isnull=True).order_by("-pk").first()
    assert run is not None
    return run.parts.count()


def formulary_snapshot(client: Any, queries: Iterable[str] = ()) -> dict[str, Any]:
    """Everything a user sees of the formulary and the terminology; ``client`` is logged in
    (an officer sees every page). ``queries`` adds term searches to the usual ones, such as
    the names of the events a test imports."""
    drugs = _all_pages(client, "/api/v1/drugs/")
    terms = {q: client.get("/api/v1/terms/", {"q": q}).json() for q in (*QUERIES, *queries)}
    pages = {}
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = _CSRF.sub("", response.content.decode())
    return {
        "drugs": drugs,
        "terms": terms,
        "pages": pages,
        "detection_parts": detection_fan_out(),
    }
