# ruff: noqa: RUF001
import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest

from reports.models import Exposure, Reaction, Report
from surveillance.models import Signal
from surveillance.services import run_create, run_execute

from .browser import page, sign_in  # noqa: F401
from .cohort import worked_scenario
from .test_browser_report_pages import nothing_cut_off

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"

# Every text of a chart, with its rendered box and the chart's own scale.
CHART_TEXTS = """
svg => [...svg.querySelectorAll('text')].map(t => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, cls: t.getAttribute('class'), height: r.height,
          left: r.left, right: r.right, top: r.top, bottom: r.bottom,
          px: parseFloat(getComputedStyle(t).fontSize)
              * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width};
})
"""

LAST_POINT = """
svg => { const c = [...svg.querySelectorAll('circle.observed')].pop().getBoundingClientRect();
         return {left: c.left, right: c.right, top: c.top, bottom: c.bottom}; }
"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return bool(
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def spread_over_months(cohort) -> None:
    """Treatment starts over four months from July 2026, each reaction days to weeks after."""
    for number, patient in cohort.patients.items():
        start = date(2026, 7, 1) + timedelta(days=31 * (number % 4))
        Exposure.objects.filter(patient=patient).update(start_date=start)
        Report.objects.filter(patient=patient).update(therapy_start=start)
        Reaction.objects.filter(patient=patient).update(
            onset_date=start + timedelta(days=3 + 6 * (number % 9))
        )


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_reads_cumulative_incidence_and_onset_from_the_charts(
    page,  # noqa: F811
    live_server,
    officer,
    nurse,
    inotuzumab,
    width,
):
    spread_over_months(worked_scenario(inotuzumab, nurse, nurse.site))
    run_execute(run_create(trigger="manual"))
    signal = Signal.objects.get(term__name="Thrombocytopenia", kind="incidence")
    page.set_viewport_size({"width": width, "height": 1000})
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.goto(f"{live_server.url}/surveillance/signals/{signal.pk}/")

    incidence = page.get_by_role("img", name="Cumulative incidence of Thrombocytopenia")
    assert incidence.is_visible()
    assert "the label gives 51%" in incidence.get_attribute("aria-label")
    texts = incidence.evaluate(CHART_TEXTS)
    assert min(t["height"] for t in texts) >= 12, texts
    assert min(t["px"] for t in texts) >= 12
    months = [t for t in texts if t["cls"] == "tick month"]
    assert [t["text"] for t in months][:2] == ["Jul 2026", "Aug 2026"]
    assert len({t["text"] for t in months}) == len(months) == 6
    for a, b in itertools.pairwise(months):
        assert not overlap(a, b), (a, b)
    last_point = incidence.evaluate(LAST_POINT)
    for label in (t for t in texts if "reference" in (t["cls"] or "")):
        assert not overlap(label, last_point)
    legend = [t["text"] for t in texts if "legend-text" in (t["cls"] or "")]
    assert legend == ["Observed", "95% interval", "Label 51%"]

    onset = page.get_by_role("img", name="Cases by days from therapy start to onset")
    onset_texts = onset.evaluate(CHART_TEXTS)
    assert min(t["height"] for t in onset_texts) >= 12
    bins = [t for t in onset_texts if t["cls"] == "tick bin"]
    assert [t["text"] for t in bins] == ["0–7", "8–14", "15–28", "29–56", "57–84", "> 84"]
    for a, b in itertools.pairwise(bins):
        assert not overlap(a, b), (a, b)
    grades = page.get_by_role("img", name="Cases by grade")
    assert min(t["height"] for t in grades.evaluate(CHART_TEXTS)) >= 12

    page.get_by_text("The figures by month").click()
    figures = page.locator("table.month-figures")
    assert "Jul 2026" in figures.inner_text()
    assert nothing_cut_off(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"signal_charts_{width}.png"), full_page=True)
    charts_top = page.evaluate(
        "document.querySelector('.incidence-card').getBoundingClientRect().top + scrollY - 20"
    )
    page.screenshot(
        path=str(SCREENSHOTS / f"signal_charts_close_{width}.png"),
        full_page=True,
        clip={"x": 0, "y": charts_top, "width": width, "height": 1300},
    )

    unlisted = Signal.objects.get(term__name="Retinal haemorrhage")
    page.goto(f"{live_server.url}/surveillance/signals/{unlisted.pk}/")
    chart = page.get_by_role("img", name="Cumulative incidence of Retinal haemorrhage")
    assert "not on the label" in chart.get_attribute("aria-label")
    legend = [t["text"] for t in chart.evaluate(CHART_TEXTS) if "legend" in (t["cls"] or "")]
    assert legend[-1] == "Not on the label: no reference line"
    assert chart.locator("line.expected").count() == 0
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"signal_charts_unlisted_{width}.png"), full_page=True)
    page.screenshot(
        path=str(SCREENSHOTS / f"signal_charts_unlisted_close_{width}.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": 1400},
    )


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_the_drug_page_chart_reads_at_12_px_with_every_reaction_named_in_full_view(
    page,  # noqa: F811
    live_server,
    officer,
    nurse,
    inotuzumab,
    width,
):
    worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    page.set_viewport_size({"width": width, "height": 1000})
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")
    page.goto(f"{live_server.url}/surveillance/drugs/{inotuzumab.slug}/")
    chart = page.get_by_role("img", name="Observed incidence of each of the")
    texts = chart.evaluate(CHART_TEXTS)
    assert min(t["height"] for t in texts) >= 12
    assert min(t["px"] for t in texts) >= 12
    box = chart.bounding_box()
    assert all(t["left"] >= box["x"] for t in texts if t["cls"] == "tick row-name")
    legend = [t["text"] for t in texts if "legend-text" in (t["cls"] or "")]
    assert legend == ["Observed, with its 95% interval", "Labelled incidence"]
    assert nothing_cut_off(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOTS / f"drug_chart_{width}.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": 1200},
    )
