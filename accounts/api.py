from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response


class MeSerializer(serializers.Serializer[Any]):
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
