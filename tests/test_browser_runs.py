"""An officer starts a detection run from the runs page and watches it, in Chromium at a
desktop and a tablet width."""

import pytest
from django.utils import timezone

from surveillance.choices import RunStatus, Trigger
from surveillance.models import DetectionRun
from surveillance.services import run_create

from .browser import page, sign_in  # noqa: F401
from .test_browser_report_pages import SCREENSHOTS, nothing_cut_off


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_starts_a_run_and_is_shown_the_one_already_running(
    page,  # noqa: F811
    live_server,
    officer,
    inotuzumab,
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")

    page.goto(f"{live_server.url}/surveillance/runs/")
    start = page.get_by_role("form", name="Start a detection run")
    start.get_by_label("Drugs to run detection on").select_option(label=inotuzumab.name)
    start.get_by_role("button", name="Start run").click()
    page.wait_for_url("**/surveillance/runs/?run=*")
    run = DetectionRun.objects.get()
    row = page.locator(f"#run-{run.pk}")
    assert "highlight" in (row.get_attribute("class") or "")
    text = row.inner_text()
    assert "Finished" in text and "1 of 1 drug done" in text
    assert f"started {timezone.localtime(run.started_at):%Y-%m-%d %H:%M}, took " in text
    assert "succeeded" not in text
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"runs_started_{width}.png"), full_page=True)

    # The nightly run over every drug is under way: asking for all drugs shows it.
    nightly = run_create(trigger=Trigger.SCHEDULE)
    DetectionRun.objects.filter(pk=nightly.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), drugs_total=7, drugs_done=3
    )
    nightly.refresh_from_db()
    page.goto(f"{live_server.url}/surveillance/runs/")
    start = page.get_by_role("form", name="Start a detection run")
    start.get_by_label("Drugs to run detection on").select_option(label="All drugs")
    start.get_by_role("button", name="Start run").click()
    page.wait_for_url(f"**/surveillance/runs/?run={nightly.pk}*")
    started = timezone.localtime(nightly.started_at).strftime("%H:%M")
    message = page.locator(".messages li")
    assert (
        f"A run for all drugs is already running (started {started}, 3 of 7 drugs done)"
        in message.inner_text()
    )
    assert DetectionRun.objects.count() == 2
    row = page.locator(f"#run-{nightly.pk}")
    assert "highlight" in (row.get_attribute("class") or "")
    assert "Running" in row.inner_text() and "3 of 7 drugs done" in row.inner_text()

    # The page follows the run without being reloaded.
    DetectionRun.objects.filter(pk=nightly.pk).update(drugs_done=5)
    page.locator(f"#run-{nightly.pk}").filter(has_text="5 of 7 drugs done").wait_for()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"runs_already_running_{width}.png"), full_page=True)
