"""Who may do what with reports and exposures, over every endpoint and page."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from reports.models import Exposure, Report

from .factories import reaction, report_payload

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "nurse", "other_site_nurse", "officer", "admin"]


@pytest.fixture
def people(nurse, other_site_nurse, officer, admin_account):
    return {
        "anonymous": None,
        "nurse": nurse,
        "other_site_nurse": other_site_nurse,
        "officer": officer,
        "admin": admin_account,
    }


@pytest.fixture
def site_a_report(nurse, inotuzumab):
    client = APIClient()
    client.force_authenticate(nurse)
    body = client.post("/api/v1/reports/", report_payload(reaction("Nausea")), format="json").json()
    return Report.objects.get(pk=body["id"])


def api_as(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# (method, path, body, expected answer per role in ROLES order)
API_CASES = [
    ("get", "/api/v1/reports/", None, [401, 200, 200, 200, 200]),
    ("get", "/api/v1/reports/{id}/", None, [401, 200, 404, 200, 200]),
    ("post", "/api/v1/reports/", "report", [401, 201, 201, 201, 403]),
    ("post", "/api/v1/reports/{id}/follow-up/", {"narrative": "more"}, [401, 200, 404, 200, 403]),
    ("post", "/api/v1/reports/{id}/void/", {"reason": "entered twice"}, [401, 200, 404, 200, 403]),
    (
        "post",
        "/api/v1/reports/{id}/duplicate-decision/",
        {"duplicate": False, "comment": "separate"},
        [401, 403, 403, 400, 403],
    ),
    ("get", "/api/v1/exposures/", None, [401, 200, 200, 200, 200]),
    ("get", "/api/v1/exposures/{exposure}/", None, [401, 200, 404, 200, 200]),
    ("post", "/api/v1/exposures/", "exposure", [401, 201, 201, 201, 403]),
    ("put", "/api/v1/reports/{id}/", {}, [401, 405, 405, 405, 405]),
    ("delete", "/api/v1/reports/{id}/", None, [401, 405, 405, 405, 405]),
    ("delete", "/api/v1/exposures/{exposure}/", None, [401, 405, 405, 405, 405]),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), API_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_api_permission_matrix(people, site_a_report, role, method, path, body, expected):
    user = people[role]
    exposure = Exposure.objects.get(patient=site_a_report.patient)
    url = path.format(id=site_a_report.pk, exposure=exposure.pk)
    if body == "report":
        body = report_payload(reaction("Headache"), patient="PT-NEW", site="st-elsewhere")
        if role != "officer":
            body.pop("site")
    elif body == "exposure":
        body = {"patient": "PT-EXP", "drug": "inotuzumab-ozogamicin"}
        if role == "officer":
            body["site"] = "st-elsewhere"
    response = getattr(api_as(user), method)(url, body, format="json")
    assert response.status_code == expected[ROLES.index(role)], response.content


def test_a_nurse_lists_only_her_sites_reports(people, site_a_report):
    assert api_as(people["nurse"]).get("/api/v1/reports/").json()["count"] == 1
    assert api_as(people["other_site_nurse"]).get("/api/v1/reports/").json()["count"] == 0
    assert api_as(people["officer"]).get("/api/v1/reports/").json()["count"] == 1


def test_a_nurse_cannot_report_for_another_site(people, site_a_report):
    body = report_payload(site="mercy-west")
    response = api_as(people["nurse"]).post("/api/v1/reports/", body, format="json")
    assert response.status_code == 400
    assert "site" in response.json()


WEB_CASES = [
    ("get", "/reports/", [302, 200, 200, 200, 200]),
    ("get", "/reports/new/", [302, 200, 200, 200, 403]),
    ("get", "/reports/{id}/", [302, 200, 404, 200, 200]),
    ("get", "/reports/{id}/follow-up/", [302, 200, 404, 200, 403]),
    ("post", "/reports/{id}/void/", [302, 302, 404, 302, 403]),
    ("post", "/reports/{id}/duplicate/", [302, 403, 403, 302, 403]),
    ("get", "/exposures/", [302, 200, 200, 200, 403]),
]


@pytest.mark.parametrize(("method", "path", "expected"), WEB_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_web_permission_matrix(people, site_a_report, role, method, path, expected):
    client = Client()
    if people[role] is not None:
        client.force_login(people[role])
    url = path.format(id=site_a_report.pk)
    data = {"reason": "entered twice", "duplicate": "no", "comment": "separate"}
    response = getattr(client, method)(url, data if method == "post" else None)
    assert response.status_code == expected[ROLES.index(role)]
    if role == "anonymous":
        assert response["Location"].startswith("/login/")
