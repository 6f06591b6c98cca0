from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reference.models import Drug
from reference.selectors import drug_list, label_current, term_search

from .serializers import (
    DrugSerializer,
    LabelSerializer,
    TermMatchSerializer,
    TermQuerySerializer,
)


class DrugViewSet(viewsets.ReadOnlyModelViewSet[Drug]):
    """Drugs with a label in the product."""

    serializer_class = DrugSerializer
    lookup_field = "slug"

    def get_queryset(self) -> Any:
        return drug_list()

    @extend_schema(responses=LabelSerializer)
    @action(detail=True, methods=["get"])
    def label(self, request: Request, slug: str | None = None) -> Response:
        """The drug's current label: every entry with its band and incidences."""
        drug = get_object_or_404(Drug, slug=slug)
        label = label_current(drug=drug)
        if label is None:
            raise NotFound(f"{drug.name} has no label yet.")
        return Response(LabelSerializer(label).data)


class TermSearchView(APIView):
    """Best matches for a name, synonym or lay phrase: exact names first, then synonyms,
    then partial matches, then close spellings."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="text to match"),
            OpenApiParameter("limit", int, required=False, description="1-50, default 10"),
        ],
        responses=TermMatchSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = TermQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        matches = term_search(q=query.validated_data["q"], limit=query.validated_data["limit"])
        return Response(TermMatchSerializer(matches, many=True).data)
