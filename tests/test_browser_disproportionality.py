"""An officer reads a drug against a source of spontaneous reports, in Chromium, at a desktop's
and a tablet's width: from the drug page to the table, its filters, its pages and its CSV."""

from pathlib import Path

import pytest

from reference.models import Term
from surveillance.choices import Kind

from .browser import page, sign_in  # noqa: F401
from .test_browser_report_pages import nothing_cut_off
from .test_disproportionality_view import import_source, regional_rows

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def many_events_rows() -> list[tuple[str, ...]]:
    """The regional database, and 60 further events reported with the drug (some of them in
    two cases, with long names), so that the table has two pages."""
    rows = regional_rows()
    for k in range(60):
        event = f"Infusion-related reaction with prolonged localised swelling, type {k}"
        rows.append((f"M{k}", "Inotuzumab ozogamicin", event))
        if k % 3 == 0:
            rows.append((f"N{k}", "Inotuzumab ozogamicin", event))
        rows.append((f"O{k}", "Comparol", event))
    return rows


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_reads_the_drug_in_spontaneous_reports(
    page,  # noqa: F811
    live_server,
    officer,
    inotuzumab,
    tmp_path,
    width,
):
    source = import_source(tmp_path, "Regional database", many_events_rows())
    signal = inotuzumab.signals.create(
        term=Term.objects.get(name="Retinal haemorrhage"),
        kind=Kind.UNLISTED,
        summary="Retinal haemorrhage is not listed for inotuzumab ozogamicin.",
    )
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")

    page.goto(f"{live_server.url}/surveillance/drugs/{inotuzumab.slug}/")
    section = page.locator("section.spontaneous")
    assert "BESPONSA" in section.inner_text()
    section.get_by_role("link", name="Regional database").click()
    page.wait_for_url(f"**/disproportionality/?source={source.slug}")

    table = page.locator("table.disproportionality")
    headers = table.locator("thead th").all_inner_texts()
    assert [h.split()[0] for h in headers] == [
        "Event", "Cases", "Expected", "EBGM", "PRR", "ROR", "IC025", "On", "Hospital",
    ]  # fmt: skip
    assert table.locator("tbody tr").count() == 50
    assert "(1\N{EN DASH}50 of 63)" in page.locator("nav.pager").inner_text()
    retinal = table.locator("tbody tr", has_text="Retinal haemorrhage")
    assert "Not listed" in retinal.inner_text()
    assert retinal.get_by_role("link", name="Not on the label").get_attribute("href") == (
        f"/surveillance/signals/{signal.pk}/"
    )
    # The page fits; a table wider than the window scrolls inside its own box.
    assert nothing_cut_off(page)
    box = page.locator(".table-box")
    assert box.evaluate("b => b.getBoundingClientRect().right <= window.innerWidth")
    page.screenshot(path=str(SCREENSHOTS / f"drug_disproportionality_{width}.png"), full_page=True)

    page.get_by_label("At least this many cases").fill("2")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**min_count=2**")
    rows = table.locator("tbody tr")
    assert rows.count() == 23  # the drug's three events, and every third of the sixty
    assert page.locator("nav.pager").count() == 0
    csv_link = page.get_by_role("link", name="Download as CSV")
    assert csv_link.get_attribute("href") == (
        f"/api/v1/drugs/{inotuzumab.slug}/disproportionality/"
        f"?source={source.slug}&min_count=2&format=csv"
    )
    with page.expect_download() as download:
        csv_link.click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("event,term,a,b,c,d,expected,prr,")
    assert len(lines) == 1 + 23
    assert nothing_cut_off(page)
    page.screenshot(
        path=str(SCREENSHOTS / f"drug_disproportionality_filtered_{width}.png"), full_page=True
    )
