"""An officer sorts and pages the signal dashboard and a signal's 40 cases, at desktop and
tablet widths."""

import pytest

from .browser import page, sign_in  # noqa: F401
from .signals_bulk import make_signals
from .test_browser_report_pages import SCREENSHOTS, nothing_cut_off
from .test_signal_lists import CASES, retinal  # noqa: F401

# Within the content box of the table's container, not over its padding.
TABLE_FITS = """
(selector) => [...document.querySelectorAll(selector)].every(t => {
  const box = t.parentElement, style = getComputedStyle(box);
  const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return t.scrollWidth <= Math.ceil(room);
})
"""


def column_texts(page, table, column):  # noqa: F811
    return page.locator(f"{table} tbody tr").evaluate_all(
        f"rows => rows.map(r => r.children[{column}].innerText.trim())"
    )


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_sorts_and_pages_the_signal_dashboard(
    page,  # noqa: F811
    live_server,
    officer,
    retinal,  # noqa: F811
    width,
):
    make_signals(120)
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.goto(f"{live_server.url}/surveillance/signals/")
    page.screenshot(path=str(SCREENSHOTS / f"signals_{width}.png"), full_page=True)
    page.locator("table.signals").evaluate("t => t.scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / f"signals_table_{width}.png"))
    assert nothing_cut_off(page)
    assert page.evaluate(TABLE_FITS, "table.signals")
    assert page.get_by_role("columnheader", name="Status").is_visible()

    status = page.get_by_role("columnheader", name="Status")
    status.get_by_role("link").click()
    page.wait_for_url("**/signals/?sort=status")
    assert page.get_by_role("columnheader", name="Status").get_attribute("aria-sort") == (
        "ascending"
    )
    page.get_by_role("columnheader", name="Status").get_by_role("link").click()
    page.wait_for_url("**/signals/?sort=-status")
    assert page.get_by_role("columnheader", name="Status").get_attribute("aria-sort") == (
        "descending"
    )
    statuses = column_texts(page, "table.signals", 7)
    assert statuses[0] == "Validated" and statuses[-1] != "Validated"

    filters = page.get_by_role("form", name="Filter the signals")
    filters.get_by_label("Per page").select_option("25")
    filters.get_by_label("Kind").select_option("Not on the label")
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/signals/?*per_page=25*")
    assert page.locator("table.signals tbody tr").count() == 25
    assert set(column_texts(page, "table.signals", 2)) == {"Not on the label"}
    pager = page.get_by_role("navigation", name="Pages")
    assert "Page 1 of" in pager.inner_text()
    pager.get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2")
    assert "Page 2 of" in pager.inner_text()
    assert page.get_by_role("columnheader", name="Status").get_attribute("aria-sort") == (
        "descending"
    )
    assert page.get_by_label("Per page").input_value() == "25"
    assert set(column_texts(page, "table.signals", 2)) == {"Not on the label"}
    assert nothing_cut_off(page)
    assert page.evaluate(TABLE_FITS, "table.signals")
    page.screenshot(path=str(SCREENSHOTS / f"signals_sorted_page2_{width}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_sorts_and_pages_the_cases_of_a_signal(
    page,  # noqa: F811
    live_server,
    officer,
    retinal,  # noqa: F811
    width,
):
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.goto(f"{live_server.url}/surveillance/signals/{retinal.pk}/")
    cases = page.locator("#cases")
    assert cases.get_by_role("heading", name=f"Cases ({CASES})").is_visible()
    assert cases.locator("tbody tr").count() == 25

    cases.get_by_role("columnheader", name="Grade").get_by_role("link").click()
    page.wait_for_url("**sort=-grade#cases")
    grade = page.locator("#cases").get_by_role("columnheader", name="Grade")
    assert grade.get_attribute("aria-sort") == "descending"
    grades = column_texts(page, "#cases table", 4)
    assert grades == sorted(grades, reverse=True) and grades[0] == "4"

    page.locator("#cases").get_by_role("columnheader", name="Serious").get_by_role("link").click()
    page.wait_for_url("**sort=-serious#cases")
    assert column_texts(page, "#cases table", 5)[:8] == ["Yes"] * 8
    page.get_by_role("navigation", name="Pages of cases").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2#cases")
    cases = page.locator("#cases")
    assert cases.get_by_role("heading", name=f"Cases ({CASES})").is_visible()
    assert cases.locator("tbody tr").count() == CASES - 25
    assert set(column_texts(page, "#cases table", 5)) == {"No"}
    assert cases.get_by_role("columnheader", name="Serious").get_attribute("aria-sort") == (
        "descending"
    )
    page.screenshot(path=str(SCREENSHOTS / f"signal_cases_{width}.png"), full_page=True)
    cases.screenshot(path=str(SCREENSHOTS / f"signal_cases_list_{width}.png"))
    assert nothing_cut_off(page)
    assert page.evaluate(TABLE_FITS, "#cases table")
