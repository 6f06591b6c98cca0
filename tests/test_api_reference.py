import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_anonymous_requests_get_401(db):
    client = APIClient()
    for url in ["/api/v1/drugs/", "/api/v1/terms/?q=nausea", "/api/schema/"]:
        assert client.get(url).status_code == 401, url


def test_a_token_from_create_account_authenticates(nurse):
    token = nurse.auth_token.key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/drugs/").status_code == 200


def test_the_token_endpoint_trades_a_password_for_the_token(nurse):
    client = APIClient()
    ok = client.post(
        "/api/v1/auth/token/",
        {"username": "nurse1", "password": "correct-horse-battery"},
        format="json",
    )
    assert ok.status_code == 200
    assert ok.json()["token"] == nurse.auth_token.key
    assert ok.json()["expires_at"]
    bad = client.post(
        "/api/v1/auth/token/", {"username": "nurse1", "password": "wrong"}, format="json"
    )
    assert bad.status_code == 400
    assert "non_field_errors" in bad.json()


def test_drug_list_is_paginated(api, inotuzumab):
    body = api.get("/api/v1/drugs/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert {
        "slug": "inotuzumab-ozogamicin",
        "name": "inotuzumab ozogamicin",
        "brand_names": ["Besponsa"],
    } in body["results"]


def test_label_lists_every_reaction(api, inotuzumab):
    response = api.get("/api/v1/drugs/inotuzumab-ozogamicin/label/")
    assert response.status_code == 200
    body = response.json()
    assert body["drug"] == "inotuzumab-ozogamicin"
    professional = {r["term"]: r for r in body["reactions"] if r["section"] == "professional"}
    assert len(professional) == 62
    thrombo = professional["Thrombocytopenia"]
    assert (thrombo["band"], thrombo["incidence_pct"], thrombo["grade3_pct"]) == (
        "very_common",
        51.0,
        42.0,
    )
    assert thrombo["soc"] == "Blood and lymphatic system disorders"
    assert professional["Pancytopenia"]["covers"] == [
        "Bone marrow failure",
        "Febrile bone marrow aplasia",
    ]
    assert professional["Hypersensitivity"]["incidence_pct"] is None
    assert professional["Hypersensitivity"]["expected_pct"] == 10.0
    assert professional["Haemorrhage"]["is_group"] is True
    consumer = [r for r in body["reactions"] if r["section"] == "consumer"]
    assert any(r["verbatim"] == "nosebleeds" and r["term"] == "Epistaxis" for r in consumer)


def test_label_of_unknown_drug_is_404(api):
    assert api.get("/api/v1/drugs/nope/label/").status_code == 404


def test_term_search_ranks_and_reports_what_matched(api):
    response = api.get("/api/v1/terms/", {"q": "nosebl"})
    assert response.status_code == 200
    first = response.json()[0]
    assert first["name"] == "Epistaxis"
    assert first["matched"].replace(" ", "").lower().startswith("nosebl")
    assert first["soc"] == "Respiratory, thoracic and mediastinal disorders"
    assert first["is_group"] is False
    assert (first["match_kind"], first["match_type"]) == ("lay", "prefix")
    # One typo a word is the coder's to read; a spelling further off is a close spelling.
    typo = api.get("/api/v1/terms/", {"q": "thrombocytopnia"}).json()[0]
    assert (typo["name"], typo["match_type"]) == ("Thrombocytopenia", "coded")
    far = api.get("/api/v1/terms/", {"q": "trombocitopenya"}).json()[0]
    assert (far["name"], far["match_type"]) == ("Thrombocytopenia", "close_spelling")
    site = api.get("/api/v1/terms/", {"q": "bleeding at the back of the eye"}).json()[0]
    assert (site["name"], site["match_type"], site["is_group"]) == (
        "Retinal haemorrhage",
        "coded",
        False,
    )


def test_term_search_without_q_is_a_400_naming_the_field(api):
    response = api.get("/api/v1/terms/")
    assert response.status_code == 400
    assert "q" in response.json()


def test_term_search_limit_is_checked(api):
    assert api.get("/api/v1/terms/", {"q": "pain", "limit": 500}).status_code == 400
    assert len(api.get("/api/v1/terms/", {"q": "pain", "limit": 3}).json()) == 3


def test_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/terms/" in paths
    assert "/api/v1/drugs/{slug}/label/" in paths
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()


def test_consumer_wording_has_no_band(api, inotuzumab):
    body = api.get("/api/v1/drugs/inotuzumab-ozogamicin/label/").json()
    consumer = [r for r in body["reactions"] if r["section"] == "consumer"]
    assert consumer and all(r["band"] is None for r in consumer)
    assert all(r["expected_pct"] is None for r in consumer)
    professional = [r for r in body["reactions"] if r["section"] == "professional"]
    assert all(r["band"] is not None for r in professional)


@pytest.mark.django_db
def test_term_search_offers_what_some_words_say(api):
    response = api.get("/api/v1/terms/", {"q": "bleeding from a weird spot on the tongue"})

    assert response.status_code == 200
    first = response.json()[0]
    assert (first["name"], first["match_type"]) == ("Tongue haemorrhage", "some_words")
