import re
from pathlib import Path

import pytest
from django.test import Client

from reports.models import Report

from .browser import page, sign_in  # noqa: F401
from .cohort import drug_with_label
from .test_browser_report import pick
from .test_browser_report_pages import nothing_cut_off
from .test_reports_views import form_data

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_a_nurse_files_a_case_with_two_suspect_drugs_and_reads_listedness_for_each(
    page,  # noqa: F811
    live_server,
    nurse,
    inotuzumab,
    width,
):
    drug_with_label("Combimab", ("Nausea", "common", "5", None))
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/new/")
    page.get_by_label("Patient reference").fill("PT-0042")
    page.locator("select[name='drug']").select_option("inotuzumab-ozogamicin")
    page.get_by_label("Therapy start").fill("2026-10-01")

    page.get_by_role("button", name="Add a suspect drug").click()
    suspect = page.locator("[data-suspect-row]:visible").nth(0)
    assert suspect.locator("legend").inner_text() == "Suspect drug 2"
    suspect.get_by_label("Suspect drug").fill("Combimab")
    suspect.get_by_label("Dose").fill("2 mg")
    suspect.get_by_label("Route").select_option("intravenous")
    page.get_by_role("button", name="Add a suspect drug").click()
    other = page.locator("[data-suspect-row]:visible").nth(1)
    other.get_by_label("Suspect drug").fill("Dexamethasone")

    reaction = page.locator("[data-reaction-row]:visible").nth(0)
    pick(reaction, "Thrombocyt", "Thrombocytopenia")
    # Judged at once against each formulary suspect's label: unlisted for Combimab.
    hint = reaction.locator(".listedness-hint.unlisted")
    hint.wait_for()
    assert "is listed for inotuzumab ozogamicin" in hint.inner_text()
    assert "is not listed for Combimab" in hint.inner_text()
    # Without Combimab the reaction is listed again.
    suspect.get_by_role("button", name="Remove this drug").click()
    reaction.locator(".listedness-hint.listed").wait_for()
    page.get_by_role("button", name="Add a suspect drug").click()
    suspect = page.locator("[data-suspect-row]:visible").nth(1)
    suspect.get_by_label("Suspect drug").fill("Combimab")
    suspect.get_by_label("Suspect drug").dispatch_event("change")
    reaction.locator(".listedness-hint.unlisted").wait_for()
    suspect.get_by_label("Dose").fill("2 mg")
    suspect.get_by_label("Route").select_option("intravenous")
    reaction.get_by_label("Onset").fill("2026-10-08")
    reaction.get_by_label("CTCAE grade").select_option("3")
    reaction.get_by_label("Requires or prolongs hospitalisation").check()
    page.get_by_label("Other medicines taken (not suspected)").fill("paracetamol, ondansetron")
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_form_suspects_{width}.png"), full_page=True)

    page.get_by_role("button", name="File the report").click()
    page.wait_for_url(re.compile(r".*/reports/\d+/$"))
    report = Report.objects.get()
    facts = page.locator("dl.facts")
    assert "Combimab, 2 mg, intravenous" in facts.inner_text()
    assert "Dexamethasone (not in the formulary)" in facts.inner_text()
    assert "paracetamol" in facts.inner_text() and "ondansetron" in facts.inner_text()
    row = page.get_by_role("row", name="Thrombocytopenia")
    text = row.inner_text()
    assert "Unlisted" in text
    assert "Listed for inotuzumab ozogamicin" in text
    assert "Not listed for Combimab" in text
    assert page.get_by_text("Expedited report due").is_visible()
    assert report.expedited
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_suspects_{width}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_a_nurse_adds_a_suspect_drug_in_a_follow_up(
    page,  # noqa: F811
    live_server,
    nurse,
    inotuzumab,
    width,
):
    drug_with_label("Combimab", ("Nausea", "common", "5", None))
    filer = Client()
    filer.force_login(nurse)
    filer.post(
        "/reports/new/",
        form_data({"term": "Thrombocytopenia", "grade": "3", "seriousness": ["hospitalization"]}),
    )
    report = Report.objects.get()
    assert not report.expedited
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    page.get_by_role("link", name="Add follow-up information").click()
    page.wait_for_url("**/follow-up/")
    assert "The case names inotuzumab ozogamicin as suspect." in page.inner_text("main")

    page.get_by_role("button", name="Add a suspect drug").click()
    first = page.locator("[data-suspect-row]:visible").nth(0)
    assert first.locator("legend").inner_text() == "Suspect drug 2"
    first.get_by_label("Suspect drug").fill("Inotuzumab Ozogamicin")
    page.get_by_role("button", name="Add a suspect drug").click()
    second = page.locator("[data-suspect-row]:visible").nth(1)
    assert second.locator("legend").inner_text() == "Suspect drug 3"
    second.get_by_label("Suspect drug").fill("Combimab")
    second.get_by_label("Dose").fill("2 mg")
    second.get_by_label("Route").select_option("intravenous")
    page.get_by_role("button", name="Save the follow-up").click()

    # The drug the case names already: the page comes back with its row marked, and the
    # other row as typed.
    page.wait_for_load_state()
    first = page.locator("[data-suspect-row]:visible").nth(0)
    assert "names Inotuzumab Ozogamicin already" in first.inner_text()
    second = page.locator("[data-suspect-row]:visible").nth(1)
    assert second.get_by_label("Suspect drug").input_value() == "Combimab"
    assert second.get_by_label("Dose").input_value() == "2 mg"
    assert not second.locator(".error").count()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"follow_up_suspects_{width}.png"), full_page=True)

    first.get_by_role("button", name="Remove this drug").click()
    second = page.locator("[data-suspect-row]:visible").nth(0)
    assert second.locator("legend").inner_text() == "Suspect drug 2"
    page.get_by_role("button", name="Save the follow-up").click()
    page.wait_for_url(f"**/reports/{report.pk}/")
    report.refresh_from_db()
    assert report.version == 2 and report.expedited
    assert "Combimab, 2 mg, intravenous" in page.locator("dl.facts").inner_text()
    text = page.get_by_role("row", name="Thrombocytopenia").inner_text()
    assert "Listed for inotuzumab ozogamicin" in text
    assert "Not listed for Combimab" in text
    assert nothing_cut_off(page)

    page.goto(f"{live_server.url}/reports/?drug=combimab")
    row = page.get_by_role("row", name=report.reference)
    assert "inotuzumab ozogamicin\nAlso suspected: Combimab" in row.inner_text()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"report_list_suspects_{width}.png"), full_page=True)
