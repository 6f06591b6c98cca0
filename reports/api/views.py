from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanReport, IsSafetyOfficer
from core.openapi import FIELD_ERRORS
from reports.choices import Source
from reports.filters import ReportFilter
from reports.models import Exposure, Report
from reports.selectors import exposures_by_id, exposures_visible, reports_visible
from reports.services import (
    IdempotencyConflict,
    coding_apply,
    coding_queue,
    exposures_register,
    reaction_recode,
    report_duplicate_decide,
    report_follow_up,
    report_submit,
    report_void,
)
from reports.validation import Errors, ReportInvalid, exposure_rows_over_limit, site_for

from .serializers import (
    CodingDecisionSerializer,
    CodingResultSerializer,
    DuplicateDecisionSerializer,
    ExposureInputSerializer,
    ExposureSerializer,
    FollowUpSerializer,
    PendingWordsSerializer,
    RecodeSerializer,
    ReportCreateSerializer,
    ReportSerializer,
    VoidSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe key: the same key and body return the first report; "
    "the same key with another body is a 409.",
)
REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    location=OpenApiParameter.HEADER,
    response=[201],
    enum=["true"],
    description="Present when the answer is the report a first request with this "
    "Idempotency-Key made.",
)


class ReportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Report]
):
    """Adverse-event reports. Nurses see their own site's reports; officers see all."""

    serializer_class = ReportSerializer
    filterset_class = ReportFilter

    def get_queryset(self) -> QuerySet[Report]:
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        return reports_visible(self.request.user)  # type: ignore[arg-type]

    def get_permissions(self) -> list[Any]:
        if self.action in {"create", "follow_up", "void"}:
            return [IsAuthenticated(), CanReport()]
        if self.action in {"duplicate_decision", "recode"}:
            return [IsAuthenticated(), IsSafetyOfficer()]
        return [IsAuthenticated()]

    @extend_schema(
        request=ReportCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER, REPLAYED_HEADER],
        responses={
            201: ReportSerializer,
            400: FIELD_ERRORS,
            409: OpenApiResponse(
                FIELD_ERRORS.response,
                description="Idempotency-Key reused with another body, or its report is at a "
                "site the account no longer sees",
            ),
        },
    )
    def create(self, request: Request) -> Response:
        body = ReportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 255:
            raise ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        try:
            report, created = report_submit(
                reporter=request.user,  # type: ignore[arg-type]
                data=body.to_input(),
                source=Source.API,
                idempotency=(key, request.data) if key else None,
            )
        except ReportInvalid as exc:
            raise ValidationError(exc.nested()) from exc
        except IdempotencyConflict:
            return Response(
                {"Idempotency-Key": ["This key was used with a different request body."]},
                status=status.HTTP_409_CONFLICT,
            )
        if not created:
            visible = self.get_queryset().filter(pk=report.pk).first()
            if visible is None:
                # The key's report was filed at a site this account has since left: it is
                # not shown again, and not filed twice.
                return Response(
                    {
                        "Idempotency-Key": [
                            f"This key already filed report {report.reference}, which this "
                            "account no longer sees (it belongs to another site). Nothing was "
                            "filed again."
                        ]
                    },
                    status=status.HTTP_409_CONFLICT,
                )
            report = visible
        # A new report is answered from the objects just written, with no second read.
        response = Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(request=FollowUpSerializer, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request: Request, pk: str | None = None) -> Response:
        """Add information to a report (outcomes, end dates, new reactions): a new version."""
        report = self.get_object()
        body = FollowUpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            report_follow_up(actor=request.user, report=report, data=body.to_input())  # type: ignore[arg-type]
        except ReportInvalid as exc:
            raise ValidationError(exc.nested()) from exc
        return Response(ReportSerializer(self.get_queryset().get(pk=report.pk)).data)

    @extend_schema(request=VoidSerializer, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str | None = None) -> Response:
        """Void a report with a reason; it is kept, and left out of detection."""
        report = self.get_object()
        body = VoidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            report_void(actor=request.user, report=report, reason=body.validated_data["reason"])  # type: ignore[arg-type]
        except ReportInvalid as exc:
            raise ValidationError(exc.nested()) from exc
        return Response(ReportSerializer(self.get_queryset().get(pk=report.pk)).data)

    @extend_schema(request=DuplicateDecisionSerializer, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"], url_path="duplicate-decision")
    def duplicate_decision(self, request: Request, pk: str | None = None) -> Response:
        """Safety officers: confirm or dismiss a suspected duplicate."""
        report = self.get_object()
        body = DuplicateDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            report_duplicate_decide(
                actor=request.user,  # type: ignore[arg-type]
                report=report,
                duplicate=body.validated_data["duplicate"],
                comment=body.validated_data["comment"],
            )
        except ReportInvalid as exc:
            raise ValidationError(exc.nested()) from exc
        return Response(ReportSerializer(self.get_queryset().get(pk=report.pk)).data)

    @extend_schema(request=RecodeSerializer, responses={200: ReportSerializer, 400: FIELD_ERRORS})
    @action(detail=True, methods=["post"])
    def recode(self, request: Request, pk: str | None = None) -> Response:
        """Safety officers: code one reaction of the report to another term (or code one that
        awaits coding). Audited; the report gets a new version."""
        report = self.get_object()
        body = RecodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            reaction_recode(
                actor=request.user,  # type: ignore[arg-type]
                report=report,
                reaction_id=body.validated_data["reaction_id"],
                term=body.validated_data["term"],
                comment=body.validated_data.get("comment", ""),
            )
        except ReportInvalid as exc:
            raise ValidationError(exc.nested()) from exc
        return Response(ReportSerializer(self.get_queryset().get(pk=report.pk)).data)


class CodingView(APIView):
    """Safety officers: the reporters' words that await coding, and coding them."""

    permission_classes = [IsAuthenticated, IsSafetyOfficer]

    @extend_schema(responses=PendingWordsSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Pending words grouped by their normalised form, serious ones first, each with the
        number of reactions, the drugs, the case numbers and suggested terms."""
        return Response(PendingWordsSerializer(coding_queue(), many=True).data)

    @extend_schema(
        request=CodingDecisionSerializer,
        responses={200: CodingResultSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """Code every pending reaction with these words to the term: listedness, the expedited
        check, a new version of each report, audit rows and the drugs' detection runs follow.
        The words are learned as a name of the term, so the next report saying them is coded
        automatically."""
        body = CodingDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = coding_apply(
                actor=request.user,  # type: ignore[arg-type]
                verbatim=body.validated_data["verbatim"],
                term=body.validated_data["term"],
            )
        except ReportInvalid as exc:
            raise ValidationError(exc.nested()) from exc
        return Response(CodingResultSerializer(result).data)


REGISTERED_EXPOSURES = PolymorphicProxySerializer(
    component_name="RegisteredExposures",
    serializers=[ExposureSerializer, ExposureSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


class ExposureViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Exposure]
):
    """Registered exposures: the treated cohort that incidences are computed over."""

    serializer_class = ExposureSerializer

    def get_queryset(self) -> QuerySet[Exposure]:
        if getattr(self, "swagger_fake_view", False):
            return Exposure.objects.none()
        return exposures_visible(self.request.user).order_by("-created_at", "-id")  # type: ignore[arg-type]

    def get_permissions(self) -> list[Any]:
        if self.action == "create":
            return [IsAuthenticated(), CanReport()]
        return [IsAuthenticated()]

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="ExposureRegistration",
            serializers=[ExposureInputSerializer, ExposureInputSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: REGISTERED_EXPOSURES,
            200: REGISTERED_EXPOSURES,
            400: OpenApiResponse(
                {
                    "oneOf": [
                        FIELD_ERRORS.response,
                        {"type": "array", "items": FIELD_ERRORS.response},
                    ]
                },
                description="Field-keyed errors; for a list, one object per row, in order.",
            ),
        },
        description="One object or a list (all or nothing): the answer is the same shape. 201 "
        "when any exposure is new; registering the same patient and drug again returns the "
        "existing exposure (200 when none is new).",
    )
    def create(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        # Counted before any row is validated: an oversized list costs nothing.
        too_many = exposure_rows_over_limit(len(request.data)) if many else None
        if too_many:
            raise ValidationError({"non_field_errors": [too_many]})
        body = ExposureInputSerializer(data=request.data, many=many)
        body.is_valid(raise_exception=True)
        rows = body.validated_data if many else [body.validated_data]
        if not rows:
            raise ValidationError({"non_field_errors": ["The list is empty."]})
        sites = {r.get("site", "") for r in rows}
        errors = Errors()
        site = site_for(request.user, sites.pop() if len(sites) == 1 else "", errors)  # type: ignore[arg-type]
        if len(sites) > 0:
            errors.add("site", "Register one site's exposures per request.")
        if errors.found:
            raise ValidationError(ReportInvalid(errors.found).nested())
        assert site is not None
        try:
            results = exposures_register(
                actor=request.user,  # type: ignore[arg-type]
                site=site,
                rows=[ExposureInputSerializer.to_input(r) for r in rows],
                source=Source.API,
            )
        except ReportInvalid as exc:
            nested = exc.nested()
            raise ValidationError(
                [nested.get(str(i), {}) for i in range(len(rows))] if many else nested.get("0", {})
            ) from exc
        by_id = exposures_by_id(r.exposure.pk for r in results)
        data = [ExposureSerializer(by_id[r.exposure.pk]).data for r in results]
        any_created = any(r.created for r in results)
        code = status.HTTP_201_CREATED if any_created else status.HTTP_200_OK
        return Response(data if many else data[0], status=code)
