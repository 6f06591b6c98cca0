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
