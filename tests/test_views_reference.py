import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_require_an_account():
    client = Client()
    for url in ["/", "/drugs/inotuzumab-ozogamicin/label/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_login_page_is_open_and_signs_in(nurse):
    client = Client()
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "nurse1", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_password_redisplays_the_form_with_the_username(nurse):
    client = Client()
    response = client.post("/login/", {"username": "nurse1", "password": "nope"})
    assert response.status_code == 200
    assert b'value="nurse1"' in response.content
    assert b'role="alert"' in response.content


def test_home_lists_the_drugs(client, nurse, inotuzumab):
    client.force_login(nurse)
    response = client.get("/")
    assert b"inotuzumab ozogamicin" in response.content
    assert b"/drugs/inotuzumab-ozogamicin/label/" in response.content


def test_label_page_groups_entries_by_soc_with_bars_and_lay_wording(
    client, nurse, inotuzumab, django_assert_max_num_queries
):
    client.force_login(nurse)
    with django_assert_max_num_queries(12):
        response = client.get("/drugs/inotuzumab-ozogamicin/label/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h2>Blood and lymphatic system disorders</h2>" in html
    assert "<h2>Nervous system disorders</h2>" in html
    assert 'aria-label="51% all grades, 42% grade 3 or higher"' in html
    assert "“nosebleeds”" in html
    assert "each site must be named" in html


def test_label_page_of_unknown_drug_is_404(client, nurse):
    client.force_login(nurse)
    assert client.get("/drugs/nope/label/").status_code == 404
