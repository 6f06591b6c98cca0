"""Every URL of the URL configuration, for an anonymous visitor, a nurse and a safety officer:
a new page or endpoint cannot escape this test, which fails on a URL it does not know."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from reports.models import Exposure, Report
from reports.services.reports import version_save
from spontaneous.models import ImportRun, Source
from surveillance.models import DetectionRun, Signal
from surveillance.services import run_create, run_execute

from .cohort import worked_scenario

pytestmark = pytest.mark.django_db

OPEN = {"login", "api-token", "api:api-token"}
OFFICER_ONLY_PREFIXES = (
    "signal-",
    "detection-runs",
    "drug-overview",
    "api:signal",
    "api:drug-disproportionality",
    "coding-queue",
    "api:coding",
    "expedited-due",
    "spontaneous-",
)
# URL names of this project's own pages and endpoints (Django admin and static are apart).
KNOWN = {
    "home",
    "label-detail",
    "report-list",
    "report-new",
    "report-detail",
    "report-follow-up",
    "report-version",
    "report-void",
    "report-duplicate",
    "report-recode",
    "coding-queue",
    "expedited-due",
    "exposure-register",
    "detection-runs",
    "signal-dashboard",
    "signal-mark-seen",
    "signal-page",
    "signal-csv",
    "signal-cases-csv",
    "drug-overview",
    "drug-overview-disproportionality",
    "spontaneous-sources",
    "spontaneous-run-progress",
    "login",
    "logout",
    "schema",
    "api-docs",
    "api:api-root",
    "api:api-token",
    "api:me",
    "api:term-search",
    "api:term-criteria",
    "api:drug-listedness",
    "api:drug-disproportionality",
    "api:report-e2b",
    "api:icsr",
    "report-e2b-download",
    "expedited-due-e2b",
    "api:drug-list",
    "api:drug-detail",
    "api:drug-label",
    "api:report-list",
    "api:report-detail",
    "api:report-follow-up",
    "api:report-void",
    "api:report-duplicate-decision",
    "api:report-recode",
    "api:coding",
    "api:exposure-list",
    "api:exposure-detail",
    "api:signal-list",
    "api:signal-detail",
    "api:signal-run-list",
    "api:signal-run-detail",
}


QUERY = {
    "api:term-search": {"q": "nausea"},
    "api:term-criteria": {"term": "nausea"},
    "api:drug-listedness": {"term": "nausea"},
}


def named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from named_patterns(pattern, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            keys = set(pattern.pattern.regex.groupindex)
            if "format" in keys:
                continue  # the router's format-suffix twins of the same views
            yield f"{namespace}{pattern.name}", keys


@pytest.fixture
def world(inotuzumab, nurse, officer):
    worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    Source.objects.create(slug="faers", name="FAERS")  # the one source: the table's default
    ImportRun.objects.create(files=["faers_ascii_2017q2.zip"], folder="faers/gone")
    # The scenario writes its reports directly; the first one gets the version filing saves.
    first = Report.objects.order_by("pk")[0]
    version_save(first, nurse, "Initial report", list(first.reactions.all()))
    return {
        "pk": Report.objects.order_by("pk")[0].pk,
        "slug": inotuzumab.slug,
    }


def url_for(name, keys, world):
    kwargs = {}
    for key in keys:
        if key == "slug":
            kwargs[key] = world["slug"]
        elif key == "number":
            kwargs[key] = 1  # a report's first version
        elif name.startswith(("signal-", "api:signal-detail")):
            kwargs[key] = Signal.objects.order_by("pk")[0].pk
        elif name.startswith("api:signal-run"):
            kwargs[key] = DetectionRun.objects.order_by("pk")[0].pk
        elif name.startswith("spontaneous-run"):
            kwargs[key] = ImportRun.objects.order_by("pk")[0].pk
        elif name.startswith("api:exposure"):
            kwargs[key] = Exposure.objects.order_by("pk")[0].pk
        else:
            kwargs[key] = world["pk"]
    return reverse(name, kwargs=kwargs)


def test_every_url_is_known_to_this_test():
    names = {name for name, _ in named_patterns()}
    assert names - KNOWN == set(), "a new URL: add it to KNOWN and check who may use it"


def test_anonymous_visitors_reach_nothing_but_the_sign_in(world):
    for name, keys in named_patterns():
        url = url_for(name, keys, world)
        response = (APIClient() if url.startswith("/api/") else Client()).get(url)
        if name in OPEN:
            assert response.status_code in {200, 405}, name
        elif url.startswith("/api/") and name != "api-docs":
            assert response.status_code == 401, name
        else:
            # Pages, the API's documentation among them, send the visitor to sign in.
            assert response.status_code == 302, name
            assert response["Location"].startswith("/login/"), name


def test_nurses_reach_no_officer_page_or_endpoint(world, nurse):
    web, api = Client(), APIClient()
    web.force_login(nurse)
    api.force_authenticate(nurse)
    for name, keys in named_patterns():
        if not name.startswith(OFFICER_ONLY_PREFIXES) or name in OPEN:
            continue
        url = url_for(name, keys, world)
        response = (api if url.startswith("/api/") else web).get(url)
        assert response.status_code in {403, 404}, name


def test_officers_reach_every_page_and_endpoint(world, officer, settings):
    settings.E2B_MEDDRA_VERSION = "27.0"  # the scenario's reactions carry CTCAE codes
    web, api = Client(), APIClient()
    web.force_login(officer)
    api.force_authenticate(officer)
    for name, keys in named_patterns():
        if name in {
            "logout",
            "api:api-token",
            "report-void",
            "report-duplicate",
            "report-recode",
            "signal-mark-seen",
        }:
            continue  # POST only
        url = url_for(name, keys, world)
        response = (api if url.startswith("/api/") else web).get(url, QUERY.get(name))
        if name == "expedited-due-e2b":
            # The scenario has no expedited case: back to the list, which says so.
            assert response.status_code == 302, name
            assert response["Location"] == reverse("expedited-due"), name
            continue
        assert response.status_code in {200, 405}, (name, response.status_code)
