"""Small charts drawn on the server as SVG: no script and nothing fetched at run time."""

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

import numpy as np

from . import stats

FONT = 13
"""Font size of every text of the signal page's charts, in the SVG's own units. The page never
shows those charts narrower than their viewBox (see app.css), so this is what a reader sees."""

_CHAR = 0.62 * FONT  # a generous average character width, to keep labels apart

INCIDENCE_SIZE = (640, 330)
HISTOGRAM_SIZE = (460, 260)


def months_between(first: date, last: date) -> list[date]:
    """The first day of every calendar month from first's month to last's, both included."""
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass(frozen=True)
class MonthFigure:
    """Cumulative incidence at the end of one calendar month: patients with a case by then
    out of patients treated by then, with the exact 95% interval detection reports."""

    month: date
    cases: int
    treated: int
    pct: float | None
    low_pct: float | None
    high_pct: float | None


def cumulative_by_month(
    months: Sequence[date], cases: Mapping[date, int], treated: Mapping[date | None, int]
) -> list[MonthFigure]:
    """Sum new cases and newly treated patients (keyed by the first day of the month they
    start to count) up to the end of each month. Counts before the first month, and treated
    patients with no start date (key None), count from the first month."""
    first = months[0]

    def per_month(counts: Mapping[Any, int]) -> list[int]:
        folded: Counter[date] = Counter()
        for month, n in counts.items():
            folded[first if month is None or month < first else month] += n
        return [folded[m] for m in months]

    case_totals = np.cumsum(per_month(cases))
    treated_totals = np.cumsum(per_month(treated))
    lows, highs = stats.clopper_pearson(case_totals, treated_totals)
    figures = []
    for month, k, n, low, high in zip(
        months, case_totals, treated_totals, lows, highs, strict=True
    ):
        figures.append(
            MonthFigure(
                month=month,
                cases=int(k),
                treated=int(n),
                pct=100.0 * k / n if n else None,
                low_pct=None if np.isnan(low) else float(low) * 100,
                high_pct=None if np.isnan(high) else float(high) * 100,
            )
        )
    return figures


DASH = "\u2013"  # an en dash, for ranges

ONSET_BINS: list[tuple[int, int | None, str]] = [
    (0, 7, f"0{DASH}7"),
    (8, 14, f"8{DASH}14"),
    (15, 28, f"15{DASH}28"),
    (29, 56, f"29{DASH}56"),
    (57, 84, f"57{DASH}84"),
    (85, None, "> 84"),
]
BEFORE_START = "< 0"


def onset_bins(days: Iterable[int]) -> list[tuple[str, int]]:
    """Cases by days from therapy start to onset, in widening bins; a bin for onsets before
    the therapy start only when there are some."""
    counts: Counter[str] = Counter()
    for d in days:
        if d < 0:
            counts[BEFORE_START] += 1
            continue
        for low, high, label in ONSET_BINS:
            if d >= low and (high is None or d <= high):
                counts[label] += 1
                break
    bins = [(label, counts[label]) for _, _, label in ONSET_BINS]
    if counts[BEFORE_START]:
        bins.insert(0, (BEFORE_START, counts[BEFORE_START]))
    return bins


def percent_words(value: float) -> str:
    """51.0 -> "51%", 30.7 -> "30.7%", 0.01 -> "0.01%"."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _scale(peak: float, *, whole: bool = False) -> tuple[float, list[float]]:
    """A round top at or above peak and about five ticks from 0 up to it."""
    peak = max(peak, 1.0)
    magnitude = 10 ** math.floor(math.log10(peak / 5))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude * 5 >= peak)
    if whole:
        step = max(1.0, math.ceil(step))
    top = step * math.ceil(peak / step - 1e-9)
    return top, [round(step * i, 10) for i in range(round(top / step) + 1)]


def _text(x: float, y: float, words: str, *, anchor: str = "middle", cls: str = "tick") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" font-size="{FONT}" '
        f'text-anchor="{anchor}">{escape(words)}</text>'
    )


def _width(words: str) -> float:
    return len(words) * _CHAR


def cumulative_incidence_chart(
    figures: Sequence[MonthFigure],
    expected_pct: float | None,
    *,
    summary: str,
    y_title: str = "Cumulative incidence (%)",
    reference: str = "",
) -> str:
    """Cumulative incidence by month (line and points) with its 95% interval (band) and the
    labelled incidence (dashed line, named in the right margin, clear of the points).

    ``reference`` names the dashed line in the legend; with no labelled figure the legend
    says that there is no line instead.
    """
    width, height = INCIDENCE_SIZE
    left, right, top, bottom = 72, 64, 44, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    plotted = [f for f in figures if f.pct is not None]
    peak = max(
        [f.pct for f in plotted if f.pct is not None]
        + [f.high_pct for f in plotted[-1:] if f.high_pct is not None]
        + [expected_pct or 0.0]
    )
    y_top, ticks = _scale(min(peak * 1.1, 100.0))
    if y_top > 100:
        y_top, ticks = 100.0, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]

    def y(v: float) -> float:
        return top + plot_h * (1 - min(v, y_top) / y_top)

    n = len(figures)
    pad = 36.0

    def x(i: int) -> float:
        if n == 1:
            return left + plot_w / 2
        return left + pad + (plot_w - 2 * pad) * i / (n - 1)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart incidence" role="img" '
        f'aria-label="{escape(summary)}">',
        f'<defs><clipPath id="incidence-plot"><rect x="{left}" y="{top}" width="{plot_w}" '
        f'height="{plot_h}"/></clipPath></defs>',
    ]
    parts += _legend(width, expected_pct is not None, reference)
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" '
            'class="grid"/>' + _text(left - 8, y(tick) + FONT * 0.35, f"{tick:g}%", anchor="end")
        )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" class="axis"/>'
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" class="axis"/>'
    )
    band = [(i, f) for i, f in enumerate(figures) if f.low_pct is not None]
    if len(band) == 1:
        i, f = band[0]
        parts.append(
            f'<rect x="{x(i) - 10:.1f}" y="{y(f.high_pct or 0):.1f}" width="20" '
            f'height="{y(f.low_pct or 0) - y(f.high_pct or 0):.1f}" class="band" '
            'clip-path="url(#incidence-plot)"/>'
        )
    elif band:
        outline = [(x(i), y(f.high_pct or 0)) for i, f in band] + [
            (x(i), y(f.low_pct or 0)) for i, f in reversed(band)
        ]
        parts.append(
            '<polygon points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in outline)
            + '" class="band" clip-path="url(#incidence-plot)"/>'
        )
    if expected_pct is not None:
        ye = y(expected_pct)
        parts.append(
            f'<line x1="{left}" y1="{ye:.1f}" x2="{left + plot_w}" y2="{ye:.1f}" '
            'class="expected"/>'
            + _text(left + plot_w + 8, ye - 5, "Label", anchor="start", cls="tick reference")
            + _text(
                left + plot_w + 8,
                ye + FONT + 1,
                percent_words(expected_pct),
                anchor="start",
                cls="tick reference",
            )
        )
    line = [(x(i), y(f.pct)) for i, f in enumerate(figures) if f.pct is not None]
    if len(line) > 1:
        parts.append(
            '<polyline points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in line)
            + '" class="observed-line"/>'
        )
    for i, f in enumerate(figures):
        if f.pct is None:
            continue
        interval = (
            f" (95% interval {f.low_pct:.1f}{DASH}{f.high_pct:.1f}%)"
            if f.low_pct is not None and f.high_pct is not None
            else ""
        )
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(f.pct):.1f}" r="4.5" class="observed">'
            f"<title>{f.month:%b %Y}: {f.cases} of {f.treated} treated, "
            f"{f.pct:.1f}%{interval}</title></circle>"
        )
    label_w = _width("Sep 2026")
    every = 1 if n == 1 else math.ceil((label_w + 14) / ((plot_w - 2 * pad) / (n - 1)))
    for i, f in enumerate(figures):
        parts.append(
            f'<line x1="{x(i):.1f}" y1="{base}" x2="{x(i):.1f}" y2="{base + 5}" class="axis"/>'
        )
        if (n - 1 - i) % every == 0:
            parts.append(_text(x(i), base + 8 + FONT, f"{f.month:%b %Y}", cls="tick month"))
    parts.append(_text(left + plot_w / 2, height - 10, "Month of onset", cls="axis-title"))
    parts.append(
        f'<text transform="rotate(-90)" x="{-(top + plot_h / 2):.1f}" y="{FONT + 4}" '
        f'class="axis-title" font-size="{FONT}" text-anchor="middle">{escape(y_title)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _legend(width: int, has_reference: bool, reference: str) -> list[str]:
    y = 18.0
    x = 8.0
    parts = ['<g class="legend">']
    parts.append(
        f'<line x1="{x}" y1="{y - 4}" x2="{x + 20}" y2="{y - 4}" class="observed-line"/>'
        f'<circle cx="{x + 10}" cy="{y - 4}" r="4" class="observed"/>'
    )
    parts.append(_text(x + 26, y, "Observed", anchor="start", cls="tick legend-text"))
    x += 26 + _width("Observed") + 18
    parts.append(f'<rect x="{x}" y="{y - 11}" width="20" height="13" class="band"/>')
    parts.append(_text(x + 26, y, "95% interval", anchor="start", cls="tick legend-text"))
    x += 26 + _width("95% interval") + 18
    if has_reference:
        parts.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" class="expected"/>')
        parts.append(_text(x + 30, y, reference, anchor="start", cls="tick legend-text"))
    else:
        parts.append(
            _text(
                x,
                y,
                reference or "Not on the label: no reference line",
                anchor="start",
                cls="tick legend-text",
            )
        )
    parts.append("</g>")
    return parts


def histogram_chart(
    bins: Sequence[tuple[str, int]], *, summary: str, x_title: str, y_title: str = "Cases"
) -> str:
    """Counts as bars over named bins, each bar with its count; bin names are turned when
    they would not fit side by side."""
    width, height = HISTOGRAM_SIZE
    left, right, top = 56, 12, 24
    plot_w = width - left - right
    slot = plot_w / max(len(bins), 1)
    widest = max((_width(name) for name, _ in bins), default=0.0)
    turned = widest > slot - 8
    bottom = 48 + (int(widest * 0.7) if turned else FONT)
    height += bottom - 48 - FONT
    plot_h = height - top - bottom
    base = top + plot_h
    y_top, ticks = _scale(max([n for _, n in bins] + [1]), whole=True)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_top)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart histogram" role="img" '
        f'aria-label="{escape(summary)}">'
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" '
            'class="grid"/>' + _text(left - 8, y(tick) + FONT * 0.35, f"{tick:g}", anchor="end")
        )
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" class="axis"/>')
    for i, (name, n) in enumerate(bins):
        centre = left + slot * (i + 0.5)
        h = plot_h * n / y_top
        parts.append(
            f'<rect x="{centre - slot * 0.35:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" class="col"><title>{escape(name)}: {n}</title></rect>'
        )
        if n:
            parts.append(_text(centre, base - h - 4, str(n), cls="tick count"))
        if turned:
            parts.append(
                f'<text transform="translate({centre + FONT * 0.35:.1f},{base + 10}) '
                f'rotate(-45)" class="tick bin" font-size="{FONT}" text-anchor="end">'
                f"{escape(name)}</text>"
            )
        else:
            parts.append(_text(centre, base + 8 + FONT, name, cls="tick bin"))
    parts.append(_text(left + plot_w / 2, height - 10, x_title, cls="axis-title"))
    parts.append(
        f'<text transform="rotate(-90)" x="{-(top + plot_h / 2):.1f}" y="{FONT + 4}" '
        f'class="axis-title" font-size="{FONT}" text-anchor="middle">{escape(y_title)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class ForestRow:
    label: str
    observed: float | None
    low: float | None
    high: float | None
    expected: float | None


def forest_chart(rows: Sequence[ForestRow], *, width: int = 720) -> str:
    """One row per labelled reaction: the observed incidence with its 95% interval, and the
    labelled incidence as a red tick, under a legend and a scale at the top."""
    row_h, right, legend_h, scale_h = 24, 24, 30, 28
    longest = max((_width(r.label) for r in rows), default=0.0)
    left = int(min(max(longest + 16, 120), 320))
    fits = round((left - 16) / _CHAR)
    top_pad = legend_h + scale_h
    height = top_pad + row_h * len(rows) + 40
    values = [v for r in rows for v in (r.high, r.expected, r.observed) if v is not None]
    top, ticks = _scale(min(max([*values, 1.0]) * 1.05, 100.0))
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * min(v, top) / top

    above = sum(
        1 for r in rows if r.low is not None and r.expected is not None and r.low > r.expected
    )
    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart forest" role="img" '
        f'aria-label="Observed incidence of each of the {len(rows)} labelled reactions against '
        f'its labelled incidence: {above} with the whole 95% interval above the label">',
        '<g class="legend">'
        '<line x1="8" y1="14" x2="32" y2="14" class="interval"/>'
        '<circle cx="20" cy="14" r="4" class="observed"/>'
        + _text(40, 18, "Observed, with its 95% interval", anchor="start", cls="tick legend-text")
        + f'<line x1="{60 + _width("Observed, with its 95% interval"):.1f}" y1="6" '
        f'x2="{60 + _width("Observed, with its 95% interval"):.1f}" y2="22" '
        'class="expected-tick"/>'
        + _text(
            70 + _width("Observed, with its 95% interval"),
            18,
            "Labelled incidence",
            anchor="start",
            cls="tick legend-text",
        )
        + "</g>",
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top_pad - 6}" x2="{x(tick):.1f}" '
            f'y2="{height - 34}" class="grid"/>'
            + _text(x(tick), top_pad - 10, f"{tick:g}%", cls="tick scale")
        )
    for i, r in enumerate(rows):
        y = top_pad + row_h * i + row_h / 2
        name = (
            escape(r.label)
            if len(r.label) <= fits
            else f"<title>{escape(r.label)}</title>{escape(r.label[: fits - 1])}\u2026"
        )
        parts.append(
            f'<text x="{left - 8}" y="{y + FONT * 0.35:.1f}" class="tick row-name" '
            f'font-size="{FONT}" text-anchor="end">{name}</text>'
        )
        if r.low is not None and r.high is not None:
            parts.append(
                f'<line x1="{x(r.low):.1f}" y1="{y:.1f}" x2="{x(r.high):.1f}" y2="{y:.1f}" '
                'class="interval"/>'
            )
        if r.observed is not None:
            parts.append(
                f'<circle cx="{x(r.observed):.1f}" cy="{y:.1f}" r="4" class="observed">'
                f"<title>{escape(r.label)}: observed {r.observed:.1f}%</title></circle>"
            )
        if r.expected is not None:
            parts.append(
                f'<line x1="{x(r.expected):.1f}" y1="{y - 8:.1f}" x2="{x(r.expected):.1f}" '
                f'y2="{y + 8:.1f}" class="expected-tick"><title>{escape(r.label)}: labelled '
                f"{percent_words(r.expected)}</title></line>"
            )
    parts.append(
        _text(
            left + plot_w / 2,
            height - 12,
            "Incidence in the treated cohort (%)",
            cls="axis-title",
        )
    )
    parts.append("</svg>")
    return "".join(parts)
