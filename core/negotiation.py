"""Content negotiation: `?format=` picks a renderer the view has (the schema's json or yaml);
a value no renderer has is ignored, like any unknown query parameter, rather than a 404."""

from collections.abc import Iterable

from django.http import Http404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


class FormatOptional(DefaultContentNegotiation):
    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        renderers = list(renderers)
        try:
            return list(super().filter_renderers(renderers, format))
        except Http404:
            return renderers
