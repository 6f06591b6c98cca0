import pytest

from reports.models import Exposure

from .browser import page, sign_in  # noqa: F401
from .test_browser_report_pages import SCREENSHOTS, nothing_cut_off

BAD = (
    "patient,drug,start_date,end_date\n"
    "PT-0201,inotuzumab ozogamicin,2026-09-01,\n"
    "PT-0202,aspirinumab,2026-09-01,\n"
    "PT-0203,Besponsa,,\n"
    "PT-0204,Besponsa,01/09/2026,\n"
    "PT-0205,Besponsa,2026-09-10,2026-09-01\n"
)
GOOD = " Patient ; DRUG ; Start Date ; End Date\nPT-0301;Besponsa;2026-09-01;2026-10-15\n"


def choose(page, name: str, text: str) -> None:  # noqa: F811
    page.get_by_label("CSV file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_a_nurse_uploads_a_file_sees_every_bad_line_then_uploads_a_good_one(
    page,  # noqa: F811
    live_server,
    nurse,
    inotuzumab,
    width,
):
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "nurse1", "correct-horse-battery")
    page.goto(f"{live_server.url}/exposures/")
    assert page.get_by_text("Headers in any case").is_visible()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"exposures_help_{width}.png"), full_page=True)

    choose(page, "cohort.csv", BAD)
    problems = page.get_by_role("alert").filter(has_text="Line 3:")
    listed = problems.inner_text()
    for expected in (
        "Line 3: Unknown drug 'aspirinumab'.",
        "Line 4: The start date is required.",
        "Line 5: start_date: Date has wrong format.",
        "Line 6: The end date 2026-09-01 is before the start date 2026-09-10.",
    ):
        assert expected in listed
    assert page.get_by_text("Nothing was registered: correct the lines listed below").is_visible()
    assert Exposure.objects.count() == 0
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"exposures_bad_file_{width}.png"), full_page=True)

    choose(page, "cohort.csv", GOOD)
    assert page.get_by_text("1 row read: 1 exposure registered").is_visible()
    assert page.get_by_role("row", name="PT-0301").is_visible()
    assert Exposure.objects.get().drug == inotuzumab
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"exposures_good_file_{width}.png"), full_page=True)
