from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from .choices import Role
from .models import Site, User


def site_get_or_create(*, name: str) -> Site:
    code = slugify(name)[:64] or "site"
    site, _ = Site.objects.get_or_create(code=code, defaults={"name": name})
    return site


@transaction.atomic
def account_create_or_update(
    *, username: str, role: str, password: str | None = None, site_name: str | None = None
) -> tuple[User, Token, bool]:
    """Create or update an account and return it with its API token and whether it is new.

    A password must pass the site's password validators (AUTH_PASSWORD_VALIDATORS),
    judged against the account; django.core.exceptions.ValidationError lists the
    reasons, and nothing is changed.
    """
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")
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
    token, _ = Token.objects.get_or_create(user=user)
    return user, token, created
