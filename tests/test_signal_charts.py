# ruff: noqa: RUF001
import itertools
import re
from collections import Counter
from datetime import date
from html import unescape

import numpy as np
import pytest
from django.test import Client

from reports.models import Exposure, Reaction, Report
from surveillance import stats
from surveillance.charts import (
    ForestRow,
    MonthFigure,
    cumulative_by_month,
    cumulative_incidence_chart,
    forest_chart,
    histogram_chart,
    months_between,
    onset_bins,
    percent_words,
)
from surveillance.models import Signal
from surveillance.selectors import cohort_count, signal_incidence_by_month
from surveillance.services import run_create, run_execute

from .cohort import Case, worked_scenario

SEP, OCT, NOV, DEC = (date(2026, m, 1) for m in (9, 10, 11, 12))


def test_months_run_once_each_across_the_new_year():
    assert months_between(date(2026, 11, 20), date(2027, 2, 3)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]
    assert months_between(date(2026, 9, 30), date(2026, 9, 1)) == [SEP]


def test_cumulative_figures_sum_each_month_and_carry_the_exact_interval():
    figures = cumulative_by_month(
        [SEP, OCT, NOV], cases=Counter({SEP: 2, NOV: 3}), treated=Counter({SEP: 40, OCT: 60})
    )
    assert [(f.cases, f.treated) for f in figures] == [(2, 40), (2, 100), (5, 100)]
    low, high = stats.clopper_pearson(np.array([2, 2, 5]), np.array([40, 100, 100]))
    assert [f.low_pct for f in figures] == pytest.approx(low * 100)
    assert [f.high_pct for f in figures] == pytest.approx(high * 100)
    # The worked figure: 5 of 100 lies between 1.6432% and 11.2835%.
    assert figures[-1].pct == 5.0
    assert figures[-1].low_pct == pytest.approx(1.6432, abs=1e-4)
    assert figures[-1].high_pct == pytest.approx(11.2835, abs=1e-4)


def test_earlier_and_undated_treatments_count_from_the_first_month():
    figures = cumulative_by_month(
        [OCT, NOV],
        cases=Counter({SEP: 1}),
        treated=Counter({date(2025, 1, 1): 3, None: 2, NOV: 5}),
    )
    assert [(f.cases, f.treated) for f in figures] == [(1, 5), (1, 10)]


def test_onset_bins_widen_and_show_onsets_before_the_start_only_when_there_are_some():
    days = [0, 7, 8, 14, 15, 28, 29, 56, 57, 84, 85, 400]
    assert onset_bins(days) == [
        ("0–7", 2),
        ("8–14", 2),
        ("15–28", 2),
        ("29–56", 2),
        ("57–84", 2),
        ("> 84", 2),
    ]
    assert onset_bins([-3, 2])[:2] == [("< 0", 1), ("0–7", 1)]
    assert [n for _, n in onset_bins([])] == [0] * 6


def figure(month: date, cases: int, treated: int) -> MonthFigure:
    [low], [high] = stats.clopper_pearson(np.array([cases]), np.array([treated]))
    return MonthFigure(month, cases, treated, 100 * cases / treated, low * 100, high * 100)


def texts(svg: str, cls: str) -> list[str]:
    return [unescape(t) for t in re.findall(rf'class="{cls}"[^>]*>([^<]*)</text>', svg)]


def test_the_incidence_chart_names_each_month_once_and_draws_the_label_line():
    svg = cumulative_incidence_chart(
        [figure(m, 10 * i, 100) for i, m in enumerate([SEP, OCT, NOV, DEC], start=1)],
        51.0,
        summary="Cumulative incidence of Thrombocytopenia",
        reference="Label 51%",
    )
    assert texts(svg, "tick month") == ["Sep 2026", "Oct 2026", "Nov 2026", "Dec 2026"]
    assert texts(svg, "tick legend-text") == ["Observed", "95% interval", "Label 51%"]
    assert texts(svg, "tick reference") == ["Label", "51%"]
    assert 'class="expected"' in svg and 'clip-path="url(#incidence-plot)"' in svg
    assert 'role="img" aria-label="Cumulative incidence of Thrombocytopenia"' in svg
    assert svg.count('class="observed"><title>') == 4
    assert re.findall(r'font-size="(\d+)"', svg) and all(
        int(size) >= 12 for size in re.findall(r'font-size="(\d+)"', svg)
    )


def test_many_months_are_labelled_sparsely_never_twice():
    months = months_between(date(2023, 1, 1), date(2026, 12, 1))
    svg = cumulative_incidence_chart(
        [figure(m, 1, 50) for m in months], 5.0, summary="s", reference="Label 5%"
    )
    labels = texts(svg, "tick month")
    assert len(set(labels)) == len(labels) < len(months)
    assert labels[-1] == "Dec 2026"
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)"[^>]*class="tick month"', svg)]
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert min(gaps) > len("Sep 2026") * 13 * 0.62


def test_the_incidence_chart_handles_one_month_no_cases_no_label_and_all_cases():
    one = cumulative_incidence_chart([figure(SEP, 0, 40)], None, summary="s")
    assert texts(one, "tick month") == ["Sep 2026"]
    assert 'class="expected"' not in one
    assert texts(one, "tick legend-text")[-1] == "Not on the label: no reference line"
    assert "<rect" in one and "0 of 40 treated, 0.0%" in one

    every = cumulative_incidence_chart(
        [figure(SEP, 3, 10), figure(OCT, 10, 10)], 20.0, summary="s", reference="Label 20%"
    )
    assert texts(every, "tick")[-1] == "100%"
    assert "10 of 10 treated, 100.0%" in every


def test_the_histogram_names_its_bins_and_turns_them_only_when_they_would_collide():
    svg = histogram_chart(onset_bins([1, 9, 30]), summary="Onset", x_title="Days")
    assert texts(svg, "tick bin") == ["0–7", "8–14", "15–28", "29–56", "57–84", "> 84"]
    assert "rotate(-45)" not in svg
    crowded = histogram_chart(
        [(f"bin number {i}", i) for i in range(12)], summary="Crowded", x_title="Bins"
    )
    assert "rotate(-45)" in crowded


def test_percent_words_drop_needless_zeros():
    assert [percent_words(v) for v in (51.0, 30.7, 0.01, 100.0)] == [
        "51%",
        "30.7%",
        "0.01%",
        "100%",
    ]


@pytest.fixture
def detected(inotuzumab, nurse):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    return cohort


@pytest.mark.django_db
def test_the_last_month_is_the_cohort_and_cases_detection_counted(detected, inotuzumab):
    signal = Signal.objects.get(term__name="Thrombocytopenia", kind="incidence")
    by_month = signal_incidence_by_month(signal, today=date(2026, 11, 15))
    assert by_month is not None
    assert [f.month for f in by_month.figures] == [SEP, OCT, NOV]
    last = by_month.figures[-1]
    assert (last.cases, last.treated) == (signal.cases, signal.exposed)
    assert last.treated == cohort_count(inotuzumab, []).exposed
    assert last.pct == pytest.approx(signal.observed_pct)
    assert last.low_pct == pytest.approx(signal.ci_low_pct)
    assert last.high_pct == pytest.approx(signal.ci_high_pct)
    assert by_month.undated_cases == 0 and not by_month.grade3


@pytest.mark.django_db
def test_a_reaction_before_its_registered_start_counts_its_patient_from_the_reaction(
    detected, inotuzumab
):
    patient = detected.patients[1]
    Exposure.objects.filter(patient=patient).update(start_date=date(2026, 11, 3))
    Exposure.objects.exclude(patient=patient).update(start_date=date(2026, 10, 3))
    Reaction.objects.filter(patient=detected.patients[2]).update(onset_date=None)
    signal = Signal.objects.get(term__name="Thrombocytopenia", kind="incidence")
    by_month = signal_incidence_by_month(signal, today=date(2026, 11, 15))
    assert by_month is not None
    assert [(f.month, f.cases, f.treated) for f in by_month.figures] == [
        (SEP, 129, 129),
        (OCT, 129, 200),
        (NOV, 129, 200),
    ]
    assert by_month.undated_cases == 1


@pytest.mark.django_db
def test_a_severity_signal_counts_grade_3_or_higher(inotuzumab, nurse, officer):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    for i in range(1, 13):
        cohort.report(i, Case("Thrombocytopenia", grade=3, seriousness=["hospitalization"]))
    run_execute(run_create(trigger="manual"))
    signal = Signal.objects.get(term__name="Thrombocytopenia", kind="incidence")
    signal.kind = "severity"
    by_month = signal_incidence_by_month(signal, today=date(2026, 9, 20))
    assert by_month is not None and by_month.grade3
    assert [(f.cases, f.treated) for f in by_month.figures] == [(12, 200)]

    signal.expected_pct = 42.0
    signal.save()
    client = Client()
    client.force_login(officer)
    html = unescape(client.get(f"/surveillance/signals/{signal.pk}/").content.decode())
    assert "Cumulative incidence of Thrombocytopenia at grade 3 or higher by month" in html
    assert "Label 42% at grade ≥ 3" in html


@pytest.mark.django_db
def test_the_signal_page_draws_both_charts_and_a_table_of_the_figures(detected, officer):
    client = Client()
    client.force_login(officer)
    signal = Signal.objects.get(term__name="Thrombocytopenia", kind="incidence")
    html = client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert 'aria-label="Cumulative incidence of Thrombocytopenia by month of onset' in html
    assert "the label gives 51%" in html
    assert 'aria-label="Cases by days from therapy start to onset' in html
    assert 'aria-label="Cases by grade' in html
    assert 'class="list month-figures"' in html
    assert "Sep 2026" in html
    Report.objects.update(therapy_start=None)
    html = client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert "No case has both an onset date and a therapy start." in html


def test_the_drug_chart_writes_every_labelled_name_whole_and_shortens_only_past_its_margin():
    chart = forest_chart(
        [
            ForestRow("Gamma-glutamyltransferase increased", 2.0, 1.0, 3.0, 10.0),
            ForestRow("Nausea", 31.0, 25.0, 37.0, 30.0),
        ]
    )
    assert ">Gamma-glutamyltransferase increased</text>" in chart
    longer = forest_chart([ForestRow("x" * 60, None, None, None, 5.0)])
    assert f"<title>{'x' * 60}</title>" in longer and "\u2026" in longer
