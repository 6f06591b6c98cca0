from pathlib import Path

import pytest

from surveillance.services import run_create, run_execute

from .browser import page, sign_in  # noqa: F401
from .cohort import worked_scenario
from .spontaneous_data import database_rows, formulary, run_import, write_csv

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def officer_on_worked_scenario(page, live_server, officer, nurse, inotuzumab):  # noqa: F811
    """The worked scenario filed by a nurse and detected, with the officer signed in."""
    worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")


@pytest.mark.browser
def test_an_officer_reviews_the_unlisted_bleeding_site(
    page,  # noqa: F811
    officer_on_worked_scenario,
):
    page.get_by_role("link", name="Signals").first.click()
    page.wait_for_url("**/surveillance/signals/")
    first_row = page.locator("table.signals tbody tr").first
    assert "Retinal haemorrhage" in first_row.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    first_row.get_by_role("link", name="Retinal haemorrhage").click()
    page.wait_for_url("**/surveillance/signals/*/")
    assert page.get_by_role("img", name="Cumulative incidence of Retinal haemorrhage").is_visible()
    assert page.get_by_role("heading", name="Cases (2)").is_visible()
    page.get_by_label("Under validation").check()
    page.get_by_label("Comment").fill("Two cases, one serious: validating.")
    page.screenshot(path=str(SCREENSHOTS / "signal.png"), full_page=True)
    page.get_by_role("button", name="Record the move").click()
    page.wait_for_load_state()
    history = page.locator("table.history")
    assert "Status: New → Under validation" in history.inner_text()
    assert "Two cases, one serious: validating." in history.inner_text()


UNLABELLED = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !el.closest('template') && !el.hidden && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)
"""


@pytest.mark.browser
def test_officer_pages_have_labelled_controls_and_work_from_the_keyboard(
    page,  # noqa: F811
    live_server,
    officer_on_worked_scenario,
    inotuzumab,
):
    for path in [
        "/surveillance/signals/",
        f"/surveillance/drugs/{inotuzumab.slug}/",
        "/reports/new/",
    ]:
        page.goto(live_server.url + path)
        assert page.evaluate(UNLABELLED) == [], path
    page.goto(live_server.url + "/surveillance/drugs/" + inotuzumab.slug + "/")
    page.screenshot(path=str(SCREENSHOTS / "drug.png"), full_page=True)

    # From the dashboard, the keyboard alone reaches the first signal and opens it.
    page.goto(live_server.url + "/surveillance/signals/")
    target = page.locator("table.signals tbody tr").first.get_by_role("link").first
    name = target.inner_text()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == name:
            break
    else:
        pytest.fail("the first signal cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/surveillance/signals/*/")
    assert page.get_by_role("heading", name=name, level=1).is_visible()


@pytest.mark.browser
def test_an_officer_reads_a_disproportionality_signal(
    page,  # noqa: F811
    live_server,
    officer,
    tmp_path,
):
    formulary("Examplumab")
    run_import(write_csv(tmp_path / "database.csv", database_rows()))
    run_execute(run_create(trigger="manual"))
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.goto(f"{live_server.url}/surveillance/signals/?kind=disproportionality")
    row = page.locator("table.signals tbody tr").first
    assert "Nausea" in row.inner_text() and "EB05" in row.inner_text()
    assert "in database" in row.inner_text()
    row.get_by_role("link", name="Nausea").click()
    page.wait_for_url("**/surveillance/signals/*/")
    table = page.locator("table.two-by-two")
    assert table.is_visible()
    assert "a = " in table.inner_text() and "Other drugs" in table.inner_text()
    assert "Spontaneous reports of database" in table.inner_text()
    methods = page.locator("table.methods").inner_text()
    for method in ("MGPS (EBGM)", "PRR", "ROR", "IC", "the product's rule"):
        assert method in methods
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "disproportionality.png"), full_page=True)
