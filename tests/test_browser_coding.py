"""In the browser: a nurse's words that no term matches are filed as written; an officer codes
them from the queue; the next report saying them is coded on its own."""

from pathlib import Path

import pytest

from reference.models import TermName
from reports.models import Reaction, Report

from .browser import page, sign_in  # noqa: F401

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
WORDS = "went all wobbly and strange"


def file_words(page, base_url, patient, hint):  # noqa: F811
    page.goto(f"{base_url}/reports/new/")
    page.get_by_label("Patient reference").fill(patient)
    row = page.locator("[data-reaction-row]:visible").first
    row.get_by_label("Reaction").fill(WORDS)
    row.get_by_label("Reaction").press("Tab")
    row.get_by_label("CTCAE grade").select_option("3")
    row.get_by_label("Requires or prolongs hospitalisation").check()
    row.locator(f".listedness-hint.{hint}").wait_for()
    page.get_by_role("button", name="File the report").click()
    page.wait_for_url("**/reports/*/")


@pytest.mark.browser
def test_words_go_from_pending_to_the_queue_to_coded_and_are_learned(
    page,  # noqa: F811
    live_server,
    nurse,
    officer,
    inotuzumab,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    file_words(page, live_server.url, "PT-0101", "pending")
    assert page.get_by_text("a safety officer will code them").first.is_visible()
    assert page.get_by_text("Awaiting coding").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "report_pending.png"), full_page=True)
    first = Report.objects.get()
    assert first.reactions.get().coding == "pending"
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.get_by_role("link", name="Coding", exact=True).click()
    queue_row = page.get_by_role("row", name=WORDS)
    assert "1 serious" in queue_row.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "coding_queue.png"), full_page=True)
    queue_row.get_by_label("Another term").fill("Dizziness")
    queue_row.get_by_role("button", name="Code", exact=True).click()
    assert page.get_by_text("Coded 1 reaction").is_visible()
    assert page.get_by_text("Nothing awaits coding.").is_visible()
    reaction = Reaction.objects.get(report=first)
    assert (str(reaction.term), reaction.coding) == ("Dizziness", "officer")
    assert TermName.objects.filter(kind="learned", term__name="Dizziness").exists()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/new/")
    row = page.locator("[data-reaction-row]:visible").first
    row.get_by_label("Reaction").press_sequentially(WORDS[:12], delay=30)
    option = row.get_by_role("option", name="Dizziness")
    option.first.wait_for()
    file_words(page, live_server.url, "PT-0102", "unlisted")
    second = Report.objects.exclude(pk=first.pk).get()
    assert second.reactions.get().coding == "auto"
    assert str(second.reactions.get().term) == "Dizziness"
    assert page.get_by_role("row", name="Dizziness").is_visible()
