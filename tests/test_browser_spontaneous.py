"""An officer imports a FAERS quarter from the spontaneous sources page and follows an import
under way, in Chromium at a desktop and a tablet width."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from spontaneous.import_runs import PROGRESS_KEY
from spontaneous.models import ImportRun, ReportImport

from .browser import page, sign_in  # noqa: F401
from .conftest import DATA
from .test_browser_report_pages import SCREENSHOTS, nothing_cut_off

SAMPLE = DATA / "faers" / "faers_ascii_2017q2.zip"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_imports_a_faers_quarter_and_follows_an_import_under_way(
    page,  # noqa: F811
    live_server,
    officer,
    settings,
    tmp_path,
    width,
):
    settings.SPONTANEOUS_UPLOAD_DIR = tmp_path / "uploads"
    page.set_viewport_size({"width": width, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sources").click()
    page.wait_for_url("**/spontaneous/")
    assert nothing_cut_off(page)

    # Not a zip: the form says so and nothing starts.
    form = page.get_by_role("form", name="Import FAERS quarters")
    not_zip = tmp_path / "DEMO17Q2.txt"
    not_zip.write_text("primaryid$caseid\n")
    form.get_by_label("FAERS quarterly files").set_input_files(str(not_zip))
    form.get_by_role("button", name="Import").click()
    page.get_by_text("DEMO17Q2.txt is not a zip file").wait_for()
    assert not ImportRun.objects.exists()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"spontaneous_not_zip_{width}.png"), full_page=True)

    form = page.get_by_role("form", name="Import FAERS quarters")
    assert form.get_by_label("PS: primary suspect").is_checked()
    assert form.get_by_label("SS: secondary suspect").is_checked()
    assert not form.get_by_label("C: concomitant").is_checked()
    form.get_by_label("FAERS quarterly files").set_input_files(str(SAMPLE))
    form.get_by_role("button", name="Import").click()
    page.wait_for_url("**/spontaneous/?run=*")
    run = ImportRun.objects.get()
    assert run.status == "succeeded", run.error
    assert "Imported faers_ascii_2017q2.zip" in page.locator(".messages li").inner_text()
    row = page.locator(f"#run-{run.pk}")
    assert "highlight" in (row.get_attribute("class") or "")
    text = row.inner_text()
    assert "Finished" in text and "1 of 1 file imported" in text
    assert "read 100, kept 100, superseded 0, deleted 0" in text
    source = page.locator("#source-faers").inner_text()
    assert "100 kept" in source and "linked to formulary drugs" in source
    batch = ReportImport.objects.get()
    assert "faers_ascii_2017q2.zip" in page.locator(f"#import-{batch.pk}").inner_text()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"spontaneous_imported_{width}.png"), full_page=True)

    # An import under way (by a worker): the page follows it without being reloaded.
    running = ImportRun.objects.create(
        files=["faers_ascii_2017q3.zip", "faers_ascii_2017q4.zip"],
        folder="faers/elsewhere",
        status="running",
        started_at=timezone.now(),
        requested_by=officer,
    )
    key = PROGRESS_KEY.format(running.pk)
    progress = {"file": "faers_ascii_2017q3.zip", "file_number": 1, "step": "reading DRUG"}
    cache.set(key, {**progress, "done": 2_000_000, "total": 8_000_000})
    page.goto(f"{live_server.url}/spontaneous/")
    row = page.locator(f"#run-{running.pk}")
    assert "reading DRUG: 2.0 of 8.0 MB" in row.inner_text()
    cache.set(key, {**progress, "step": "writing pairs", "done": 30_000, "total": 120_000})
    row.filter(has_text="writing pairs: 30,000 of 120,000").wait_for()
    assert row.locator("progress").get_attribute("aria-label") == (
        "faers_ascii_2017q3.zip (file 1 of 2): writing pairs: 30,000 of 120,000"
    )
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"spontaneous_running_{width}.png"), full_page=True)

    # It ends: the page loads again and shows how.
    ImportRun.objects.filter(pk=running.pk).update(
        status="failed",
        finished_at=timezone.now(),
        error="faers_ascii_2017q4.zip (2017Q4): nothing imported from this file: the zip "
        "file is damaged",
    )
    page.locator(f"#run-{running.pk}").filter(has_text="Failed").wait_for()
    assert "nothing imported from this file" in page.locator(f"#run-{running.pk}").inner_text()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"spontaneous_failed_{width}.png"), full_page=True)
