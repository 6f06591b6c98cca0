"""Filters shared by the API's lists (and the pages that reuse their filter sets)."""

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError


class BooleanSelect(forms.Select):
    """Passes the value through as given: Django's NullBooleanSelect turns anything it does not
    know (such as "1") into "no choice" before the field can refuse it."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, choices=[("", "Any"), ("true", "Yes"), ("false", "No")])


class StrictBooleanField(forms.NullBooleanField):
    """true or false (1 or 0); any other value is refused, not ignored: a filter that quietly
    did nothing (?expedited=1 used to) answers a question that was not asked."""

    widget = BooleanSelect
    TRUE = frozenset({"true", "1"})
    FALSE = frozenset({"false", "0"})
    # "unknown" is what the report list's filter form sent for "any" before.
    ANY = frozenset({"", "unknown"})

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]
        if value is None:
            return None
        text = str(value).strip().lower()
        if text in self.ANY:
            return None
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError("Use true or false.", code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField
