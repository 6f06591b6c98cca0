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
    """A report of site A, filed twice: the second is a suspected duplicate of the first,
    so an officer's duplicate decision on it is allowed and succeeds."""
    client = APIClient()
    client.force_authenticate(nurse)
    for _ in range(2):
        body = client.post("/api/v1/reports/", report_payload(reaction("Nausea")), format="json")
    report = Report.objects.get(pk=body.json()["id"])
    assert report.duplicate_status == "suspected"
    return report


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
        [401, 403, 403, 200, 403],
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
    assert api_as(people["nurse"]).get("/api/v1/reports/").json()["count"] == 2
    assert api_as(people["other_site_nurse"]).get("/api/v1/reports/").json()["count"] == 0
    assert api_as(people["officer"]).get("/api/v1/reports/").json()["count"] == 2


def test_the_officers_duplicate_decision_is_recorded(people, site_a_report):
    response = api_as(people["officer"]).post(
        f"/api/v1/reports/{site_a_report.pk}/duplicate-decision/",
        {"duplicate": True, "comment": "same event filed twice"},
        format="json",
    )
    assert response.status_code == 200, response.content
    site_a_report.refresh_from_db()
    assert site_a_report.duplicate_status == "confirmed"


def test_a_duplicate_decision_on_a_report_not_suspected_is_a_400(people, site_a_report):
    first = Report.objects.exclude(pk=site_a_report.pk).get()
    response = api_as(people["officer"]).post(
        f"/api/v1/reports/{first.pk}/duplicate-decision/",
        {"duplicate": True, "comment": "same event filed twice"},
        format="json",
    )
    assert response.status_code == 400
    assert "report" in response.json()


def test_a_nurse_cannot_report_for_another_site(people, site_a_report):
    body = report_payload(site="mercy-west")
    response = api_as(people["nurse"]).post("/api/v1/reports/", body, format="json")
    assert response.status_code == 400
    assert "site" in response.json()


def is_void(report: Report) -> bool:
    return report.is_void


def duplicate_decided(report: Report) -> bool:
    return report.duplicate_status != "suspected"


# (method, path, expected answer per role, what an allowed POST changes, changed per role):
# a redirect alone cannot tell an action done from one refused, so the report is read back.
WEB_CASES = [
    ("get", "/reports/", [302, 200, 200, 200, 200], None, None),
    ("get", "/reports/new/", [302, 200, 200, 200, 403], None, None),
    ("get", "/reports/{id}/", [302, 200, 404, 200, 200], None, None),
    ("get", "/reports/{id}/follow-up/", [302, 200, 404, 200, 403], None, None),
    (
        "post",
        "/reports/{id}/void/",
        [302, 302, 404, 302, 403],
        is_void,
        [False, True, False, True, False],
    ),
    (
        "post",
        "/reports/{id}/duplicate/",
        [302, 403, 403, 302, 403],
        duplicate_decided,
        [False, False, False, True, False],
    ),
    ("get", "/exposures/", [302, 200, 200, 200, 403], None, None),
]


@pytest.mark.parametrize(("method", "path", "expected", "effect", "changed"), WEB_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_web_permission_matrix(
    people, site_a_report, role, method, path, expected, effect, changed
):
    client = Client()
    if people[role] is not None:
        client.force_login(people[role])
    url = path.format(id=site_a_report.pk)
    data = {"reason": "entered twice", "duplicate": "no", "comment": "separate"}
    response = getattr(client, method)(url, data if method == "post" else None)
    assert response.status_code == expected[ROLES.index(role)]
    if role == "anonymous":
        assert response["Location"].startswith("/login/")
    elif response.status_code == 302:
        assert response["Location"] == f"/reports/{site_a_report.pk}/"
    if effect is not None:
        site_a_report.refresh_from_db()
        assert effect(site_a_report) is changed[ROLES.index(role)]
