"""What the account endpoints read and answer."""

from typing import Any

from rest_framework import serializers
from rest_framework.authtoken import serializers as authtoken

from ..models import User


class MeSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    role = serializers.CharField()
    site = serializers.CharField(allow_null=True)


class AuthTokenSerializer(authtoken.AuthTokenSerializer):
    # No account has a longer name; refused here, it never reaches the sign-in lockout's
    # records of failed attempts, whose column is only so wide.
    username = serializers.CharField(
        label="Username", write_only=True, max_length=User._meta.get_field("username").max_length
    )


class TokenAnswerSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the token stops working; null when tokens never expire."
    )
