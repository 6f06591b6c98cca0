"""The project's serializer base: fields copied, not rebuilt, and still each instance's own."""

from datetime import date

import pytest
from rest_framework import serializers

from core.serializers import Serializer


class Dose(Serializer[dict]):
    amount = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=0)
    unit = serializers.ChoiceField(choices=["mg", "mg/m2"])


class Order(Serializer[dict]):
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


def as_drf_would(monkeypatch, make):
    """What make() gives with DRF's own deep copies of every field."""
    with monkeypatch.context() as patch:
        patch.setattr(Serializer, "get_fields", serializers.Serializer.get_fields)
        return make()


BODIES = [
    {"patient": "TOO-LONG", "given": ["2026-10-01"], "doses": [{"amount": 1, "unit": "mg"}]},
    {"patient": "P1", "given": ["soon"], "doses": [{"amount": -1, "unit": "g"}]},
    {"patient": "P1", "given": ["2026-10-01", "2026-10-02", "2026-10-03"], "doses": []},
    {"given": "2026-10-01", "doses": [{"amount": "1.5"}, {"unit": "mg"}]},
]


@pytest.mark.parametrize("body", BODIES)
def test_validation_names_every_bad_field_as_drf_does(body, monkeypatch):
    def errors():
        order = Order(data=body)
        assert not order.is_valid()
        return order.errors

    assert errors() == as_drf_would(monkeypatch, errors)
    assert errors()  # and there are some


def test_valid_data_and_answers_read_as_with_deep_copies(monkeypatch):
    body = {"patient": "P1", "given": ["2026-10-01"], "doses": [{"amount": "1.5", "unit": "mg"}]}

    def round_trip():
        order = Order(data=body)
        assert order.is_valid(), order.errors
        return order.validated_data, Order(order.validated_data).data

    validated, answer = round_trip()
    assert validated["given"] == [date(2026, 10, 1)]
    assert answer == body
    assert (validated, answer) == as_drf_would(monkeypatch, round_trip)
