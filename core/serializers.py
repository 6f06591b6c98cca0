"""A serializer base whose fields cost a copy, not a rebuild, per instance."""

import copy
from typing import Any, TypeVar

from rest_framework import serializers
from rest_framework.fields import DictField, Field, ListField

_Instance = TypeVar("_Instance")


def _holds_fields(field: Field[Any, Any, Any, Any]) -> bool:
    return isinstance(field, serializers.BaseSerializer | ListField | DictField)


class Serializer(serializers.Serializer[_Instance]):
    """A plain serializer that copies its declared fields one level deep.

    DRF deep-copies every declared field for every serializer instance, which calls each
    field's constructor again (its validators and choices with it); for a report with a
    handful of reactions that costs more than reading or writing the data. A declared
    field keeps no state once built: binding it to a serializer sets attributes on the
    copy, never on the declaration. So a shallow copy serves for a plain field, while a
    field that holds other fields (a nested serializer, a list or dict field) is still
    deep-copied, and, built from this class, copies its own fields the same way.
    """

    def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
        return {
            name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }
