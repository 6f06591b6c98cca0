from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from audit.services import audit_record

from .choices import Role
from .models import Site, User


def site_get_or_create(*, name: str) -> Site:
    """The site of this name, created when new; ValueError for a name no site can have."""
    limit = Site._meta.get_field("name").max_length or 200
    if len(name) > limit:
        raise ValueError(f"the site name is longer than {limit} characters")
    if "\x00" in name:
        raise ValueError("the site name holds a NUL character")
    full = slugify(name) or "site"
    limit = Site._meta.get_field("code").max_length or 64
    # Long names that share the code's first characters are different sites: numbered codes.
    for number in range(1, 1000):
        suffix = f"-{number}" if number > 1 else ""
        code = full[: limit - len(suffix)] + suffix
        site = Site.objects.filter(code=code).first()
        if site is None:
            return Site.objects.create(code=code, name=name)
        if (slugify(site.name) or "site") == full:
            return site
    raise ValueError(f"too many sites have names starting like {name[:40]!r}")


def token_expires_at(token: Token) -> datetime | None:
    """When the token stops working (settings.API_TOKEN_TTL_DAYS after it was issued), or
    None when tokens do not expire."""
    days: int = settings.API_TOKEN_TTL_DAYS
    return token.created + timedelta(days=days) if days > 0 else None


def token_expired(token: Token) -> bool:
    expires = token_expires_at(token)
    return expires is not None and expires <= timezone.now()


@transaction.atomic
def token_rotate(*, user: User, actor: User | None = None) -> Token:
    """A new token for the account; the one it had stops working (and that is audited)."""
    replaced, _ = Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    if replaced:
        audit_record(actor=actor, action="token.rotate", target=user)
    return token


@transaction.atomic
def token_current(*, user: User) -> Token:
    """The account's token, or a new one when it has none or its token expired."""
    # Two sign-ins at once must not each replace the other's new token.
    User.objects.select_for_update().filter(pk=user.pk).exists()
    token = Token.objects.filter(user=user).first()
    if token is None or token_expired(token):
        return token_rotate(user=user, actor=user)
    return token


@transaction.atomic
def token_revoke(*, user: User) -> bool:
    """End the account's token now; whether it had one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        audit_record(actor=user, action="token.revoke", target=user)
    return bool(deleted)


@transaction.atomic
def account_create_or_update(
    *,
    username: str,
    role: str,
    password: str | None = None,
    site_name: str | None = None,
    rotate_token: bool = False,
) -> tuple[User, Token, bool]:
    """Create or update an account and return it with its API token and whether it is new.
    The token is the account's current one, or a new one when it expired or rotate_token asks.

    A password must pass the site's password validators (AUTH_PASSWORD_VALIDATORS),
    judged against the account; django.core.exceptions.ValidationError lists the
    reasons, and nothing is changed.
    """
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")
    limit = User._meta.get_field("username").max_length or 150
    if len(username) > limit:
        raise ValueError(f"the username is longer than {limit} characters")
    if "\x00" in username:
        raise ValueError("the username holds a NUL character")
    if password:
        candidate = User.objects.filter(username=username).first() or User(username=username)
        validate_password(password, candidate)
    user, created = User.objects.get_or_create(username=username)
    user.role = role
    user.is_staff = role == Role.ADMIN
    user.is_superuser = role == Role.ADMIN
    if site_name:
        user.site = site_get_or_create(name=site_name)
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save()
    token = token_rotate(user=user) if rotate_token else token_current(user=user)
    return user, token, created
