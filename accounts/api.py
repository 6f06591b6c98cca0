from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.authtoken import serializers as authtoken
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import api_view
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from config.parsers import JSONParser
from config.serializers import Serializer

from .models import User


class MeSerializer(Serializer[Any]):
    username = serializers.CharField()
    role = serializers.CharField()
    site = serializers.CharField(allow_null=True)


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


class AuthTokenSerializer(authtoken.AuthTokenSerializer):
    # No account has a longer name; refused here, it never reaches the sign-in lockout's
    # records of failed attempts, whose column is only so wide.
    username = serializers.CharField(
        label="Username", write_only=True, max_length=User._meta.get_field("username").max_length
    )


@extend_schema_view(post=extend_schema(auth=[]))
class TokenView(ObtainAuthToken):
    """An account's API token, for its username and password (no token needed to ask)."""

    serializer_class = AuthTokenSerializer
    parser_classes = [FormParser, MultiPartParser, JSONParser]


obtain_token = TokenView.as_view()
