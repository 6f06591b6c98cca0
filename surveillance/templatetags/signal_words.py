"""Filters that put detection's codes and figures into the words of the signal pages."""

from typing import Any

from django import template

from surveillance import wording

register = template.Library()


@register.filter
def band_words(band: str | None) -> str:
    return wording.band_words(band)


@register.filter
def p_figure(value: float | None) -> str:
    return wording.p_figure(value)


@register.filter
def signal_history_words(entry: Any) -> str:
    return wording.signal_history_words(entry.action, entry.changes or {})


@register.filter
def stat_figure(value: float | None) -> str:
    """A statistic rounded for reading: two decimals below 10, one below 100, none above; a
    dash where it is undefined."""
    if value is None:
        return "—"
    size = abs(value)
    decimals = 2 if size < 10 else 1 if size < 100 else 0
    return f"{value:,.{decimals}f}"
