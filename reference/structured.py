"""The project's structured label format (.json): validation before anything is imported.

A file in this format is what ``export_label`` prints and what ships under
``reference/data/labels``. Every problem of a file is listed, with the path of
the value at fault, instead of failing on the first one with a traceback.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings

from .choices import Band, Section


class StructuredLabelError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("not a structured label: " + "; ".join(problems))


class StrictCharField(serializers.CharField):
    """A CharField that takes a string only (DRF's turns numbers into text)."""

    default_error_messages = {"invalid": "Expected a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


def _pct_field() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=6, decimal_places=3, allow_null=True, required=False, default=None
    )


class _DrugSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=200)
    slug = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    brand_names = serializers.ListField(
        child=StrictCharField(max_length=200), required=False, default=list
    )


class _EntrySerializer(serializers.Serializer[Any]):
    # Null for consumer wording that awaits coding: it is read by its verbatim.
    term = StrictCharField(max_length=200, required=False, allow_null=True)
    verbatim = StrictCharField(max_length=300, required=False, allow_blank=True)
    section = serializers.ChoiceField(choices=Section.choices, default=Section.PROFESSIONAL)
    band = serializers.ChoiceField(
        choices=Band.choices, allow_null=True, required=False, default=None
    )
    incidence_pct = _pct_field()
    grade3_pct = _pct_field()
    covers = serializers.ListField(
        child=StrictCharField(max_length=200), required=False, default=list
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("term") and not attrs.get("verbatim"):
            raise serializers.ValidationError("an entry needs a term or a verbatim name")
        return attrs


class StructuredLabelSerializer(serializers.Serializer[Any]):
    drug = _DrugSerializer()
    # The metaclass takes declared fields off the class, so this does not shadow Field.source.
    source = StrictCharField(  # type: ignore[assignment]
        max_length=300, required=False, allow_blank=True, allow_null=True
    )
    effective_date = serializers.DateField(required=False, allow_null=True, default=None)
    entries = _EntrySerializer(many=True, allow_empty=False)


@dataclass
class StructuredLabel:
    drug_name: str
    drug_slug: str
    brand_names: list[str]
    source: str
    effective_date: date | None
    entries: list[dict[str, Any]] = field(default_factory=list)


def structured_label_read(data: object) -> StructuredLabel:
    """The validated content of a structured label; StructuredLabelError lists every problem."""
    serializer = StructuredLabelSerializer(data=data)
    if not serializer.is_valid():
        raise StructuredLabelError(serializer_problems(serializer.errors))
    valid: dict[str, Any] = dict(serializer.validated_data)
    drug = valid["drug"]
    return StructuredLabel(
        drug_name=drug["name"],
        drug_slug=drug.get("slug") or "",
        brand_names=list(drug.get("brand_names") or []),
        source=valid.get("source") or "",
        effective_date=valid.get("effective_date"),
        entries=[dict(e) for e in valid["entries"]],
    )


def serializer_problems(errors: Any, path: str = "") -> list[str]:
    """Serializer errors as lines: ``entries[3].incidence_pct: A valid number is required.``"""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            if key in ("non_field_errors", api_settings.NON_FIELD_ERRORS_KEY):
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            lines += serializer_problems(value, sub)
        return lines
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            where = path or "the file"
            return [f"{where}: {e}" for e in errors]
        lines = []
        for i, value in enumerate(errors):
            lines += serializer_problems(value, f"{path}[{i}]")
        return lines
    return [f"{path or 'the file'}: {errors}"]
