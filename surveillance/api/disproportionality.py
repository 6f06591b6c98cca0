"""GET /api/v1/drugs/{slug}/disproportionality/: a formulary drug's events in a source of
spontaneous reports, with the four methods' statistics, as JSON pages or as one CSV."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsSafetyOfficer
from reference.models import Drug
from spontaneous.tables import STATISTICS as TABLE_STATISTICS
from surveillance.drug_disproportionality import (
    DrugEventRow,
    DrugSourceTable,
    SourceRefused,
    drug_source_table,
    source_choose,
)
from surveillance.exports import csv_text

# The 2x2 cells, then the statistics of a table, as the API names them.
STATISTICS = ("a", "b", "c", "d", *TABLE_STATISTICS)
CSV_COLUMNS = (
    "event",
    "term",
    *STATISTICS,
    "listed",
    "signal_id",
    "signal_kind",
    "signal_status",
)
MOST_COUNT = 1_000_000_000


class DisproportionalityQuerySerializer(serializers.Serializer[object]):
    source = serializers.CharField(  # type: ignore[assignment]
        required=False,
        allow_blank=True,
        max_length=60,
        help_text="A source's slug (faers); may be left out when there is only one source.",
    )
    serious = serializers.BooleanField(
        required=False, default=False, help_text="Count serious cases only."
    )
    min_count = serializers.IntegerField(
        required=False,
        default=1,
        min_value=1,
        max_value=MOST_COUNT,
        help_text="Only events reported with the drug in this many cases or more (a).",
    )


class HospitalSignalSerializer(serializers.Serializer[object]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()


class DisproportionalityRowSerializer(serializers.Serializer[DrugEventRow]):
    event = serializers.CharField(help_text="The event as the source names it.")
    term = serializers.CharField(
        source="term.name",
        allow_null=True,
        default=None,
        help_text="The term of the terminology the event is linked to; null when none.",
    )
    a = serializers.IntegerField(source="stats.a", help_text="Cases with the drug and the event.")
    b = serializers.IntegerField(source="stats.b", help_text="Cases with the drug, not the event.")
    c = serializers.IntegerField(source="stats.c", help_text="Cases with the event, not the drug.")
    d = serializers.IntegerField(source="stats.d", help_text="Cases with neither.")
    expected = serializers.FloatField(source="stats.expected", allow_null=True)
    prr = serializers.FloatField(source="stats.prr", allow_null=True)
    prr_ci_low = serializers.FloatField(source="stats.prr_ci_low", allow_null=True)
    prr_ci_high = serializers.FloatField(source="stats.prr_ci_high", allow_null=True)
    ror = serializers.FloatField(source="stats.ror", allow_null=True)
    ror_ci_low = serializers.FloatField(source="stats.ror_ci_low", allow_null=True)
    ror_ci_high = serializers.FloatField(source="stats.ror_ci_high", allow_null=True)
    ic = serializers.FloatField(source="stats.ic", allow_null=True)
    ic025 = serializers.FloatField(source="stats.ic025", allow_null=True)
    ebgm = serializers.FloatField(source="stats.ebgm", allow_null=True)
    eb05 = serializers.FloatField(source="stats.eb05", allow_null=True)
    eb95 = serializers.FloatField(source="stats.eb95", allow_null=True)
    listed = serializers.BooleanField(
        allow_null=True,
        help_text="Whether the drug's current label lists the event's term; null when the "
        "event is linked to no term or the drug has no label.",
    )
    signal = HospitalSignalSerializer(
        allow_null=True,
        help_text="The hospital's own signal for the drug and the event's term (one whose "
        "rule is met now first, then unlisted, severity, incidence); null when none.",
    )


class DisproportionalityPagination(PageNumberPagination):
    """The list's pages, with what the table is of: the source, the drug's products in it,
    and a sentence saying what the table holds (or why it is empty)."""

    table: DrugSourceTable | None = None

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        table = self.table
        assert table is not None
        response.data.update(
            source=table.source.slug,
            products=[p.name for p in table.products],
            note=table.note,
        )
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated: dict[str, Any] = super().get_paginated_response_schema(schema)
        paginated["properties"].update(
            source={"type": "string", "description": "The source's slug."},
            products={
                "type": "array",
                "items": {"type": "string"},
                "description": "The source's products linked to the drug.",
            },
            note={"type": "string", "description": "What the table holds, or why it is empty."},
        )
        paginated["required"] = [*paginated.get("required", []), "source", "products", "note"]
        return paginated


class DisproportionalityCsvRenderer(BaseRenderer):
    """The whole table as CSV, one event a line, safe to open in a spreadsheet."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows: Sequence[Mapping[str, Any]] = data if isinstance(data, list) else []
        return csv_text(CSV_COLUMNS, (_csv_row(row) for row in rows)).encode("utf-8")


def _csv_row(row: Mapping[str, Any]) -> list[object]:
    signal = row.get("signal") or {}
    return [
        row["event"],
        row["term"],
        *(row[name] for name in STATISTICS),
        row["listed"],
        signal.get("id"),
        signal.get("kind"),
        signal.get("status"),
    ]


@extend_schema(
    parameters=[
        DisproportionalityQuerySerializer,
        OpenApiParameter(
            "format",
            OpenApiTypes.STR,
            required=False,
            description="csv: the whole table (every page) as one CSV file; otherwise JSON.",
        ),
    ],
    responses={
        (200, "application/json"): DisproportionalityRowSerializer(many=True),
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="The whole table, one event a line."
        ),
    },
)
class DrugDisproportionalityView(generics.ListAPIView[Any]):
    """Every event reported with the drug in a source of spontaneous reports (the source's
    products linked to the drug; a case naming several of them counts once): the 2x2 counts
    a, b, c, d, the expected count, PRR and ROR with their 95% intervals, IC with IC025, and
    EBGM with EB05 and EB95 (null where undefined), highest EB05 first; beside each event,
    whether the drug's label lists its term and the hospital's own signal for it. Safety
    officers only. `?format=csv` gives every row in one file."""

    permission_classes = [IsAuthenticated, IsSafetyOfficer]
    serializer_class = DisproportionalityRowSerializer
    pagination_class = DisproportionalityPagination
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, DisproportionalityCsvRenderer]
    filter_backends: list[Any] = []

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        drug = get_object_or_404(Drug, slug=kwargs["slug"])
        query = DisproportionalityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            source = source_choose(query.validated_data.get("source"))
        except SourceRefused as refused:
            raise ValidationError({"source": [refused.message]}) from refused
        table = drug_source_table(
            drug=drug,
            source=source,
            serious=query.validated_data["serious"],
            min_count=query.validated_data["min_count"],
        )
        if getattr(request.accepted_renderer, "format", None) == "csv":
            rows = self.get_serializer(table.rows, many=True).data
            filename = f"{drug.slug}-{source.slug}-disproportionality.csv"
            return Response(
                rows, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
            )
        paginator = self.paginator
        assert isinstance(paginator, DisproportionalityPagination)
        paginator.table = table
        page = self.paginate_queryset(list(table.rows))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        # A refusal is always JSON, whatever format the table was asked in.
        if response.status_code >= 400 and isinstance(
            getattr(request, "accepted_renderer", None), DisproportionalityCsvRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
