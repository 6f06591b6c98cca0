"""Officers' pages speak in words: their landing page, bands, history and p values."""

import re
from pathlib import Path

import pytest
from django.test import Client

from accounts.choices import Role
from accounts.services import account_create_or_update
from surveillance.models import Signal
from surveillance.services import run_create, run_execute
from surveillance.wording import band_words, label_test_summary, p_figure, signal_history_words

from .browser import page, sign_in  # noqa: F401
from .cohort import worked_scenario

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def signals(inotuzumab, nurse):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    return cohort


@pytest.fixture
def officer_client(client: Client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def second_officer(db):
    user, _, _ = account_create_or_update(
        username="officer2", role=Role.SAFETY_OFFICER, password=PASSWORD, site_name=None
    )
    return user


def _history(html: str) -> str:
    return html.split("<h2>History</h2>", 1)[1].split("</section>", 1)[0]


def test_it_lands_an_officer_on_the_signal_dashboard_after_sign_in(client, officer):
    response = client.post("/login/", {"username": "officer1", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/surveillance/signals/"


def test_it_keeps_a_nurses_landing_page(client, nurse):
    response = client.post("/login/", {"username": "nurse1", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_next_parameter_still_wins_for_an_officer(client, officer):
    response = client.post(
        "/login/?next=/reports/",
        {"username": "officer1", "password": PASSWORD, "next": "/reports/"},
    )
    assert response["Location"] == "/reports/"


def test_a_foreign_next_sends_the_officer_to_the_dashboard(client, officer):
    response = client.post(
        "/login/",
        {"username": "officer1", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/surveillance/signals/"


def test_the_signal_page_names_the_band_in_words(officer_client, signals):
    signal = Signal.objects.get(term__name="Thrombocytopenia", kind="incidence")
    html = officer_client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert "51% (very common)" in html
    assert "very_common" not in html


def test_the_drug_page_names_bands_and_priorities_in_words(officer_client, signals, inotuzumab):
    html = officer_client.get(f"/surveillance/drugs/{inotuzumab.slug}/").content.decode()
    assert "frequency not reported" in html and "very common" in html
    assert "not_reported" not in html and "very_common" not in html
    assert ">High</span>" in html and ">high</span>" not in html


def test_the_signal_history_reads_as_words(officer_client, signals, second_officer):
    signal = Signal.objects.get(term__name="Retinal haemorrhage")
    url = f"/surveillance/signals/{signal.pk}/"
    officer_client.post(url, {"status": "under_validation", "comment": "Checking the cases"})
    officer_client.post(url, {"assigned_to": "officer2"})
    officer_client.post(url, {"assigned_to": ""})
    history = _history(officer_client.get(url).content.decode())
    assert "Status: New → Under validation" in history
    assert "Assigned to officer2" in history
    assert "Assignment removed" in history
    for raw in ("signal.status", "signal.assign", "under_validation", "assigned_to"):
        assert raw not in history


def test_a_reopened_or_confirmed_signal_reads_as_words():
    reopened = signal_history_words(
        "signal.reopen", {"status": ["refuted", "new"], "cases": [2, 3]}
    )
    assert reopened == "Reopened: Refuted (closed) → New; Cases: 2 → 3"
    confirmed = signal_history_words(
        "signal.status",
        {"status": ["under_assessment", "confirmed"], "recommended_action": "label_update"},
    )
    assert confirmed == (
        "Status: Under assessment → Confirmed (closed); Recommended action: Label update"
    )


def test_bands_read_as_a_reader_says_them():
    assert band_words("very_common") == "very common"
    assert band_words("not_reported") == "frequency not reported"
    assert band_words("") == ""


def test_the_summary_and_the_page_round_a_p_value_the_same_way(inotuzumab):
    # 8.37499e-05 is stored as 8.375e-05: rounding the raw value read 8.37e-05 beside 8.38e-05.
    p_value = 8.37499e-05
    entry = inotuzumab.labels.get().entries.get(
        term__name="Thrombocytopenia", section="professional"
    )
    summary = label_test_summary(
        drug=inotuzumab,
        entry=entry,
        kind="incidence",
        cases=130,
        exposed=200,
        expected_pct=51.0,
        source="label figure",
        ci_low_pct=58.0,
        ci_high_pct=71.6,
        p_value=p_value,
        met=True,
    )
    assert "(p = 8.38e-05)" in summary
    assert p_figure(p_value) == p_figure(8.375e-05) == "8.38e-05"


def test_a_p_value_below_storage_precision_reads_as_a_bound():
    assert p_figure(3e-12) == "< 1e-09"
    assert p_figure(None) == "n/a"


def test_every_officer_page_shows_the_summarys_p_value(officer_client, signals):
    dashboard = officer_client.get("/surveillance/signals/").content.decode()
    tested = Signal.objects.exclude(p_value=None)
    assert tested
    for signal in tested:
        stated = re.search(r"\(p = ([^)]+)\)", signal.summary)
        assert stated, signal.summary
        figure = stated.group(1)
        signal_html = officer_client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
        shown = f"{figure} · {p_figure(signal.q_value)}"
        assert shown in signal_html
        assert shown in dashboard


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_signs_in_to_the_dashboard_and_reads_words(
    page,  # noqa: F811
    live_server,
    officer,
    signals,
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, "officer1", PASSWORD)
    assert page.url == f"{live_server.url}/surveillance/signals/"
    page.get_by_role("link", name="Thrombocytopenia").first.click()
    page.wait_for_url("**/surveillance/signals/*/")
    facts = page.locator("dl.facts").first.inner_text()
    assert "51% (very common)" in facts and "very_common" not in facts
    page.get_by_label("Under validation").check()
    page.get_by_label("Comment").fill("Checking the platelet counts")
    page.get_by_role("button", name="Record the move").click()
    history = page.locator("table.history")
    history.get_by_text("Status: New → Under validation").wait_for()
    assert "under_validation" not in history.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.card").first.screenshot(
        path=str(SCREENSHOTS / f"signal_words_summary_{width}.png")
    )
    history.screenshot(path=str(SCREENSHOTS / f"signal_words_history_{width}.png"))
