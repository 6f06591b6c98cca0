"""Content negotiation: `?format=` picks a renderer the view has (the schema's json or yaml);
a value no renderer has is ignored, like any unknown query parameter, rather than a 404. A
format suffix in the path (`/reports/1.xml/`) is part of the address: an unknown one is still
a 404."""

from collections.abc import Iterable
from typing import Any

from django.http import Http404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class FormatOptional(DefaultContentNegotiation):
    suffix: str | None = None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        self.suffix = format_suffix
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        renderers = list(renderers)
        try:
            return list(super().filter_renderers(renderers, format))
        except Http404:
            if self.suffix:
                raise
            return renderers
