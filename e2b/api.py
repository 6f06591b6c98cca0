"""The API's ICSR endpoints: a report as an E2B(R3) batch, and ICSR batches in."""

from collections.abc import Mapping
from typing import IO, Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import CanReport
from core.openapi import FIELD_ERRORS
from reports.selectors import reports_visible

from . import conf
from .reader import IcsrUnreadable
from .services import ExportBlocked, ImportRefused, icsr_export, icsr_import


class XMLBodyParser(parsers.BaseParser):
    """An XML body kept as bytes (the reader parses it safely), refused past E2B_MAX_BYTES."""

    media_type = "application/xml"

    def parse(  # type: ignore[override]
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        limit = conf.max_bytes()
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise ParseError(
                f"The batch is larger than {limit:,} bytes, the most accepted. "
                "Send fewer messages per batch."
            )
        return bytes(data)


class TextXMLBodyParser(XMLBodyParser):
    media_type = "text/xml"


class ImportedSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    created = serializers.BooleanField()
    action = serializers.CharField()
    safety_report_id = serializers.CharField()


class ImportAnswerSerializer(serializers.Serializer[Any]):
    reports = ImportedSerializer(many=True)


BLOCKED = OpenApiResponse(
    response={"type": "object", "additionalProperties": {}},
    description="The export would break a rule: detail, and problems (rule, fda_rule, case, "
    "message).",
)


def blocked_answer(exc: ExportBlocked) -> Response:
    return Response(
        {
            "detail": "The ICSR breaks the rules below; nothing was exported.",
            "problems": [p.as_dict() for p in exc.problems],
        },
        status=status.HTTP_409_CONFLICT,
    )


@extend_schema(
    responses={
        (200, "application/xml"): OpenApiResponse(description="An MCCI_IN200100UV01 batch."),
        409: BLOCKED,
    },
    description="The report's current version as an ICH E2B(R3) batch holding one ICSR "
    "(a void report sent before goes as a nullification). Nurses: their own site's reports.",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def report_e2b(request: Request, pk: int) -> HttpResponse | Response:
    report = get_object_or_404(reports_visible(request.user), pk=pk)  # type: ignore[arg-type]
    try:
        export = icsr_export(reports=[report], actor=request.user)  # type: ignore[arg-type]
    except ExportBlocked as exc:
        return blocked_answer(exc)
    response = HttpResponse(export.content, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    return response


@extend_schema(
    request={"application/xml": {"type": "string", "format": "binary"}},
    parameters=[
        OpenApiParameter(
            "site", str, description="Officers: the site the reports come from (code or name)."
        )
    ],
    responses={201: ImportAnswerSerializer, 400: FIELD_ERRORS},
    description="ICH E2B(R3) batch in (Content-Type: application/xml): each message becomes a "
    "report at the account's site. C.1.1 is the idempotency key: the same content again "
    "changes nothing (created false), a later C.1.5 is a follow-up, a nullification voids. "
    "All or nothing.",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, CanReport])
@parser_classes([XMLBodyParser, TextXMLBodyParser])
def icsr_receive(request: Request) -> Response:
    body = request.data
    if not isinstance(body, bytes) or not body.strip():
        return Response(
            {
                "detail": "The body is empty or not XML: send an E2B(R3) batch "
                "(MCCI_IN200100UV01) with Content-Type: application/xml."
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    try:
        results = icsr_import(
            data=body,
            actor=request.user,
            site=request.query_params.get("site", ""),
        )
    except IcsrUnreadable as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    except ImportRefused as exc:
        return Response(
            {"detail": "Nothing was imported.", "cases": exc.errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    answer = {
        "reports": [
            {
                "id": r.report.pk,
                "reference": r.report.reference,
                "created": r.created,
                "action": r.action,
                "safety_report_id": r.safety_report_id,
            }
            for r in results
        ]
    }
    return Response(answer, status=status.HTTP_201_CREATED)
