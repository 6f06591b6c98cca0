from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from .services import token_expired, token_expires_at


class SiteTokenAuthentication(TokenAuthentication):
    """Token authentication that reads the account's site with the token: every
    request that checks what a nurse may see needs it."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        try:
            token = Token.objects.select_related("user__site").get(key=key)
        except Token.DoesNotExist as exc:
            raise AuthenticationFailed("Invalid token.") from exc
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if token_expired(token):
            expires = token_expires_at(token)
            assert expires is not None
            raise AuthenticationFailed(
                f"The token expired on {expires:%Y-%m-%d %H:%M} UTC. Ask for a new one: "
                "POST /api/v1/auth/token/ with your username and password, or "
                "create_account USERNAME --rotate-token."
            )
        return token.user, token
