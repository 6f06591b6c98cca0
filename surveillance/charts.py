"""Small charts drawn on the server as SVG: no script and nothing fetched at run time."""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass
class Point:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None


def incidence_chart(
    points: Sequence[Point], expected: float | None, *, width: int = 560, height: int = 220
) -> str:
    """Observed incidence (%) with its interval at each evaluation, and the labelled value."""
    values = [v for p in points for v in (p.value, p.high) if v is not None]
    top = max([*values, expected or 0.0, 1.0]) * 1.15
    left, right, upper, lower = 48, 16, 16, 36
    plot_w, plot_h = width - left - right, height - upper - lower

    def y(v: float) -> float:
        return upper + plot_h * (1 - v / top)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / max(len(points), 1))

    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="Observed incidence at each evaluation against the labelled incidence">',
        f'<line x1="{left}" y1="{upper + plot_h}" x2="{width - right}" y2="{upper + plot_h}" '
        'class="axis"/>',
    ]
    for tick in _ticks(top):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" class="tick" text-anchor="end">'
            f"{tick:g}%</text>"
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
            'class="grid"/>'
        )
    if expected is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(expected):.1f}" x2="{width - right}" '
            f'y2="{y(expected):.1f}" class="expected"/>'
            f'<text x="{width - right}" y="{y(expected) - 6:.1f}" class="tick" '
            f'text-anchor="end">label {expected:g}%</text>'
        )
    for i, p in enumerate(points):
        if p.value is None:
            continue
        if p.low is not None and p.high is not None:
            parts.append(
                f'<line x1="{x(i):.1f}" y1="{y(p.low):.1f}" x2="{x(i):.1f}" y2="{y(p.high):.1f}" '
                'class="interval"/>'
            )
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="4" class="observed">'
            f"<title>{escape(p.label)}: {p.value:.1f}%</title></circle>"
        )
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 14}" class="tick" text-anchor="middle">'
            f"{escape(p.label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    bars: Sequence[tuple[str, int]], *, label: str, width: int = 360, height: int = 160
) -> str:
    """Counts as vertical bars (grades, days to onset)."""
    top = max([n for _, n in bars] + [1])
    left, bottom = 8, 28
    slot = (width - 2 * left) / max(len(bars), 1)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    for i, (name, n) in enumerate(bars):
        h = (height - bottom - 12) * n / top
        x0 = left + i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x0:.1f}" y="{height - bottom - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" class="col"><title>{escape(name)}: {n}</title></rect>'
            f'<text x="{x0 + slot * 0.35:.1f}" y="{height - 10}" class="tick" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
        if n:
            parts.append(
                f'<text x="{x0 + slot * 0.35:.1f}" y="{height - bottom - h - 3:.1f}" '
                f'class="tick" text-anchor="middle">{n}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(top: float) -> list[float]:
    for step in (1, 2, 5, 10, 20, 25, 50):
        if top / step <= 6:
            return [step * i for i in range(int(top // step) + 1)]
    return [0.0, top]


@dataclass
class ForestRow:
    label: str
    observed: float | None
    low: float | None
    high: float | None
    expected: float | None


def forest_chart(rows: Sequence[ForestRow], *, width: int = 640) -> str:
    """One row per labelled reaction: the observed incidence with its interval, and the
    labelled incidence as a red tick."""
    row_h, left, right, top_pad = 22, 230, 24, 24
    height = top_pad + row_h * len(rows) + 24
    values = [v for r in rows for v in (r.high, r.expected, r.observed) if v is not None]
    top = max([*values, 1.0]) * 1.1
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * v / top

    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart forest" role="img" '
        'aria-label="Observed incidence of each labelled reaction against its labelled incidence">'
    ]
    for tick in _ticks(top):
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top_pad - 6}" x2="{x(tick):.1f}" y2="{height - 20}" '
            f'class="grid"/><text x="{x(tick):.1f}" y="{top_pad - 10}" class="tick" '
            f'text-anchor="middle">{tick:g}%</text>'
        )
    for i, r in enumerate(rows):
        y = top_pad + row_h * i + row_h / 2
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(r.label)}</text>"
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
                f'<line x1="{x(r.expected):.1f}" y1="{y - 7:.1f}" x2="{x(r.expected):.1f}" '
                f'y2="{y + 7:.1f}" class="expected-tick"><title>labelled {r.expected:g}%</title>'
                "</line>"
            )
    parts.append("</svg>")
    return "".join(parts)
