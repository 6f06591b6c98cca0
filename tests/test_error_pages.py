"""The error pages (401, 403, 404, 429, 500 and 503) are in the product's look with a way home;
every unknown address under /api/ is a JSON 404, whatever DEBUG is; the API docs send a
visitor who is not signed in to the sign-in page."""

from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from reference import views as reference_views

from .browser import page  # noqa: F401

pytestmark = pytest.mark.django_db

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def assert_product_page(response, status: int, way: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html: str = response.content.decode()
    assert "css/app.css" in html and 'class="brand"' in html
    assert f'href="{way}"' in html
    return html


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_address_is_a_json_404(settings, debug):
    settings.DEBUG = debug
    for accept in ("application/json", "text/html", "*/*"):
        response = APIClient().get("/api/v1/nope/", HTTP_ACCEPT=accept)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}
    assert APIClient().post("/api/nothing/here/", {}, format="json").json() == {
        "detail": "Not found."
    }


def test_an_api_404_of_the_api_itself_keeps_its_words(nurse):
    api = APIClient()
    api.force_authenticate(nurse)
    response = api.get("/api/v1/reports/999999/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_an_api_address_without_its_slash_is_still_redirected():
    response = APIClient().get("/api/v1/reports")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/reports/"


def test_an_unknown_page_is_the_products_404_with_a_way_home(client, nurse):
    client.force_login(nurse)
    html = assert_product_page(client.get("/no/such/page/"), 404, "/")
    assert "There is no page at this address" in html
    # The page names no account: it is the same for everyone, and needs no database.
    assert "nurse1" not in html


def test_an_unknown_page_is_the_products_404_for_a_visitor_not_signed_in():
    # No route matches, so there is nothing to sign in for: the 404 comes at once.
    assert_product_page(Client().get("/no/such/page/"), 404, "/")


def test_a_page_for_another_role_is_the_products_403_with_the_reason(client, nurse):
    client.force_login(nurse)
    html = assert_product_page(client.get("/coding/"), 403, "/")
    assert "Only safety officers code reporters" in html


def test_an_api_403_stays_json(nurse):
    api = APIClient()
    api.force_authenticate(nurse)
    response = api.get("/api/v1/signals/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


def test_a_browser_opening_an_api_address_unsigned_gets_the_401_page_with_sign_in():
    response = Client().get("/api/v1/reports/", HTTP_ACCEPT="text/html")
    html = assert_product_page(response, 401, "/login/?next=/api/v1/reports/")
    assert "Sign in to see this page" in html
    assert 'href="/"' in html


def test_an_api_client_unsigned_still_gets_a_json_401():
    response = APIClient().get("/api/v1/reports/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    schema = APIClient().get("/api/schema/")
    assert schema.status_code == 401


def test_the_api_docs_send_a_visitor_not_signed_in_to_sign_in():
    response = Client().get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/api/docs/"


def test_the_api_docs_open_for_a_signed_in_user(client, nurse):
    client.force_login(nurse)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def lock_out(client: Client) -> None:
    wrong = {"username": "nurse1", "password": "wrong"}
    for _ in range(4):
        assert client.post("/login/", wrong).status_code == 200


def test_the_lock_out_page_says_for_how_long_and_leads_back_to_sign_in(nurse):
    client = Client()
    lock_out(client)
    response = client.post("/login/", {"username": "nurse1", "password": "wrong"})
    html = assert_product_page(response, 429, "/login/")
    assert "Too many failed sign-ins" in html
    assert "locked for <strong>15 minutes</strong>" in html
    assert "nurse1" in html and "5 wrong passwords" in html
    assert response["Retry-After"] == "900"
    # The right password is refused in the same words while the lock lasts.
    again = client.post("/login/", {"username": "nurse1", "password": "correct-horse-battery"})
    assert again.status_code == 429
    assert "15 minutes" in again.content.decode()


def test_the_lock_out_duration_follows_the_setting(settings, nurse):
    settings.AXES_COOLOFF_TIME = 1.5
    client = Client()
    lock_out(client)
    response = client.post("/login/", {"username": "nurse1", "password": "wrong"})
    assert "locked for <strong>1 hour 30 minutes</strong>" in response.content.decode()
    assert response["Retry-After"] == "5400"


def test_a_failure_on_a_page_is_the_products_500_with_a_way_home(nurse, monkeypatch):
    def broken():
        raise RuntimeError("a bug")

    monkeypatch.setattr(reference_views, "drug_list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(nurse)
    html = assert_product_page(client.get("/"), 500, "/")
    assert "Something went wrong on our side" in html
    assert "a bug" not in html


def test_a_database_outage_on_a_page_is_the_products_503(nurse, monkeypatch):
    def down():
        raise OperationalError("connection refused")

    monkeypatch.setattr(reference_views, "drug_list", down)
    client = Client(raise_request_exception=False)
    client.force_login(nurse)
    html = assert_product_page(client.get("/"), 503, "/")
    assert "The database is unavailable; nothing was saved" in html
    assert client.get("/")["Retry-After"] == "30"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_the_404_page_reads_well_at_desk_and_tablet_width(page, live_server, width):  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(f"{live_server.url}/no/such/page/")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="There is no page at this address").is_visible()
    home = page.get_by_role("link", name="Go to the start page")
    assert home.is_visible()
    box = home.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    # Nothing wider than the window: no sideways scrolling at tablet width.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"error-404-{width}.png"), full_page=True)


def test_a_form_sent_from_an_expired_page_is_the_products_403(nurse):
    client = Client(enforce_csrf_checks=True)
    client.force_login(nurse)
    html = assert_product_page(client.post("/reports/new/", {}), 403, "/")
    assert "The form could not be sent" in html and "Nothing was saved" in html


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_the_lock_out_page_reads_well_and_leads_back(page, live_server, nurse, width):  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/login/")
    for _ in range(5):
        page.get_by_label("Username").fill("nurse1")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    assert page.get_by_role("heading", name="Too many failed sign-ins").is_visible()
    assert "15 minutes" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"error-429-{width}.png"), full_page=True)
    page.get_by_role("link", name="Back to sign in").click()
    page.wait_for_url("**/login/")
    assert page.get_by_role("heading", name="Sign in").is_visible()
