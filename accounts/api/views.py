"""The account behind a token, and the token itself: issued for a username and password,
revoked by its holder."""

from typing import Any

from axes.helpers import get_cool_off, get_lockout_message
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import api_view
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import ErrorSerializer
from core.parsers import JSONParser

from ..services import token_current, token_expires_at, token_revoke
from .serializers import AuthTokenSerializer, MeSerializer, TokenAnswerSerializer


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request: Request) -> Response:
    """The account behind the token: its role and site."""
    user = request.user
    site = getattr(user, "site", None)
    return Response(
        MeSerializer(
            {
                "username": user.get_username(),
                "role": getattr(user, "role", ""),
                "site": site.code if site else None,
            }
        ).data
    )


@extend_schema_view(
    post=extend_schema(
        auth=[],
        responses={
            200: TokenAnswerSerializer,
            429: OpenApiResponse(
                ErrorSerializer, description="Too many failed sign-ins: locked for a while."
            ),
        },
    ),
    delete=extend_schema(request=None, responses={204: None}),
)
class TokenView(ObtainAuthToken):
    """An account's API token, for its username and password (no token needed to ask); DELETE
    ends the caller's token at once."""

    serializer_class = AuthTokenSerializer
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def get_authenticators(self) -> list[BaseAuthentication]:
        # Asking for a token takes a username and password: a stale token sent along out of
        # habit must not turn the request into a 401.
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        if self.request is not None and self.request.method == "DELETE":
            return [IsAuthenticated()]
        return list(super().get_permissions())

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            # django-axes marks a request it refused for a locked-out account: the same
            # answer as the sign-in page gives, not "Unable to log in".
            if getattr(request, "axes_locked_out", False):
                cool_off = get_cool_off(request)
                raise Throttled(
                    wait=cool_off.total_seconds() if cool_off else None,
                    detail=str(get_lockout_message()),
                )
            raise ValidationError(serializer.errors)
        token = token_current(user=serializer.validated_data["user"])
        return Response(
            TokenAnswerSerializer({"token": token.key, "expires_at": token_expires_at(token)}).data
        )

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token_revoke(user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


obtain_token = TokenView.as_view()
