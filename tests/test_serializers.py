"""Nested DRF serializers as the API's report bodies use them: each instance has fields of
its own, every bad field is named, and valid data reads back as it was sent."""

from datetime import date

import pytest
from rest_framework import serializers


class Dose(serializers.Serializer[dict]):
    amount = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=0)
    unit = serializers.ChoiceField(choices=["mg", "mg/m2"])


class Order(serializers.Serializer[dict]):
    patient = serializers.CharField(max_length=5)
    given = serializers.ListField(child=serializers.DateField(), max_length=2)
    doses = Dose(many=True)


def test_each_instance_binds_its_own_fields_and_leaves_the_declaration_alone():
    first, second = Order(), Order()
    assert first.fields["patient"] is not second.fields["patient"]
    assert first.fields["patient"].parent is first
    assert second.fields["patient"].parent is second
    first.fields["patient"].required = False
    del first.fields["given"]
    assert second.fields["patient"].required is True
    assert "given" in Order().fields
    declared = Order._declared_fields["patient"]
    assert declared.parent is None and declared.field_name is None
    # A field holding fields is a fresh copy in each instance, down to its child.
    assert first.fields["doses"].child is not second.fields["doses"].child
    assert second.fields["given"].child.parent is second.fields["given"]


def paths(errors, prefix=""):
    """The dotted paths of the fields an error tree names."""
    if isinstance(errors, dict):
        return {p for key, value in errors.items() for p in paths(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


BODIES = [
    (
        {"patient": "TOO-LONG", "given": ["2026-10-01"], "doses": [{"amount": 1, "unit": "mg"}]},
        {"patient"},
    ),
    (
        {"patient": "P1", "given": ["soon"], "doses": [{"amount": -1, "unit": "g"}]},
        {"given.0", "doses.0.amount", "doses.0.unit"},
    ),
    (
        {"patient": "P1", "given": ["2026-10-01", "2026-10-02", "2026-10-03"], "doses": []},
        {"given"},
    ),
    (
        {"given": "2026-10-01", "doses": [{"amount": "1.5"}, {"unit": "mg"}]},
        {"patient", "given", "doses.0.unit", "doses.1.amount"},
    ),
]


@pytest.mark.parametrize(("body", "named"), BODIES)
def test_validation_names_every_bad_field(body, named):
    order = Order(data=body)
    assert not order.is_valid()
    assert paths(order.errors) == named
    # A second instance judges the same body alike: no state is left on shared fields.
    again = Order(data=body)
    assert not again.is_valid()
    assert again.errors == order.errors


def test_valid_data_and_answers_read_as_sent():
    body = {"patient": "P1", "given": ["2026-10-01"], "doses": [{"amount": "1.5", "unit": "mg"}]}
    order = Order(data=body)
    assert order.is_valid(), order.errors
    validated, answer = order.validated_data, Order(order.validated_data).data
    assert validated["given"] == [date(2026, 10, 1)]
    assert answer == body
