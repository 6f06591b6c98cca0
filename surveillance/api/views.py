from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsSafetyOfficer
from reference.selectors import drug_find
from surveillance.filters import SignalFilter
from surveillance.models import DetectionRun, Signal
from surveillance.review import MoveRefused, signal_move
from surveillance.selectors import run_list, signal_cases, signal_detail, signal_list
from surveillance.services import run_request
from surveillance.tasks import run_dispatch

from .serializers import (
    MoveSerializer,
    RunRequestSerializer,
    RunSerializer,
    SignalDetailSerializer,
    SignalSerializer,
)


class SignalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Signal]
):
    """Safety signals: safety officers only. PATCH moves a signal through the GVP IX
    review (new, under_validation, validated or not_validated, under_assessment, refuted
    or confirmed); a move that is not allowed is a 400 naming the allowed ones."""

    http_method_names = ["get", "patch", "head", "options"]

    permission_classes = [IsAuthenticated, IsSafetyOfficer]
    filterset_class = SignalFilter

    def get_queryset(self) -> QuerySet[Signal]:
        queryset = signal_detail() if self.action == "retrieve" else signal_list()
        return queryset.order_by("-first_detected_at", "-id")

    def get_serializer_class(self) -> Any:
        return SignalDetailSerializer if self.action == "retrieve" else SignalSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(_detail(self.get_object()))

    @extend_schema(request=MoveSerializer, responses={200: SignalDetailSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        signal = self.get_object()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            signal_move(
                actor=request.user,  # type: ignore[arg-type]
                signal=signal,
                status=body.validated_data["status"],
                comment=body.validated_data["comment"],
                recommended_action=body.validated_data.get("recommended_action", ""),
            )
        except MoveRefused as exc:
            raise ValidationError(exc.errors) from exc
        return Response(_detail(signal_detail().get(pk=signal.pk)))


def _detail(signal: Signal) -> dict[str, Any]:
    return dict(SignalDetailSerializer(signal, context={"cases": signal_cases(signal)}).data)


class SignalRunViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet[DetectionRun],
):
    """Detection runs: start one, follow its progress."""

    permission_classes = [IsAuthenticated, IsSafetyOfficer]
    serializer_class = RunSerializer

    def get_queryset(self) -> QuerySet[DetectionRun]:
        return run_list()

    @extend_schema(
        request=RunRequestSerializer,
        responses={202: RunSerializer},
        description="Starts a run over one drug or every drug. When a run over the same "
        "scope is already queued or running, that run is answered instead of a second one: "
        "`created` says which.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        slug = body.validated_data.get("drug", "").strip()
        drug = drug_find(slug) if slug else None
        if slug and drug is None:
            raise ValidationError({"drug": [f"Unknown drug {slug!r}."]})
        run, created = run_request(drug=drug, requested_by=request.user)  # type: ignore[arg-type]
        if created:
            transaction.on_commit(lambda: run_dispatch(run))
            run.refresh_from_db()
        return Response(
            {**RunSerializer(run).data, "created": created}, status=status.HTTP_202_ACCEPTED
        )
