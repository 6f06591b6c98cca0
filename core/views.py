"""The error answers of the whole site (Django's handler400, handler403, handler404 and
handler500, a refused form, the sign-in lock-out and the API docs' sign-in): JSON under /api/,
the product's error pages elsewhere, and a 503 that says so when the database is down."""

import logging
import sys
from datetime import timedelta
from typing import Any

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.exceptions import NotAuthenticated

logger = logging.getLogger(__name__)


def error_page(template: str, status: int, /, **context: Any) -> HttpResponse:
    """One of templates/errors/. Rendered without the request: the page names no account and
    makes no database query, so it can be shown when the database is what failed."""
    return HttpResponse(render_to_string(template, context), status=status)


def sign_in_url(request: HttpRequest) -> str:
    """The sign-in page, coming back to this address afterwards."""
    return str(redirect_to_login(request.get_full_path())["Location"])


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database that cannot be reached is a 503 that says so; anything else a
    500. Django calls it while handling the exception, wherever it was raised (a view or a
    middleware), and the request's transaction has been rolled back: nothing is
    half-saved."""
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        status = 503
        message = "The database is unavailable; nothing was saved. Try again in a moment."
        logger.error("database unavailable: %s", type(exception).__name__)
    else:
        status = 500
        message = "Something went wrong on our side; it has been logged."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=status)
    else:
        response = error_page("errors/500.html", status, status=status, message=message)
    if status == 503:
        response["Retry-After"] = "30"
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: an oversized body is a 413 that names the limit; other bad requests a 400."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024
        status, message = 413, f"The request is too large: at most {limit_mb:.1f} MB."
    else:
        status, message = 400, "The request could not be understood."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the page says why, in the words the view refused with."""
    reason = str(exception)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": reason or "You do not have permission to perform this action."},
            status=403,
        )
    return error_page("errors/403.html", 403, reason=reason)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent from a page left open past its session, or from
    elsewhere, is refused with a 403 that says what to do."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"CSRF check failed: {reason}"}, status=403)
    return error_page("errors/403_form.html", 403)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: under /api/ a JSON answer, like every other API error (a path that no route
    matches, such as a report id that is not a number); elsewhere the product's page. With
    DEBUG on, Django shows its own page instead, and core.middleware keeps /api/ JSON."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return error_page("errors/404.html", 404)


def unauthorized(request: HttpRequest) -> HttpResponse:
    """The page a browser gets for an API address it opened without signing in."""
    return error_page("errors/401.html", 401, login_url=sign_in_url(request))


def duration_in_words(duration: timedelta) -> str:
    minutes = max(1, round(duration.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponseBase | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' answer to a sign-in it refused (AXES_LOCKOUT_CALLABLE): a 429 that says for
    how long (LOGIN_COOLOFF_HOURS) and leads back to the sign-in page."""
    cool_off = get_cool_off(request)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": "Too many failed sign-ins: this account is locked for a while."},
            status=429,
        )
    else:
        response = error_page(
            "errors/429.html",
            429,
            failure_limit=get_failure_limit(request, credentials),
            username=get_client_username(request, credentials) or "",
            cool_off=duration_in_words(cool_off) if cool_off else "",
            login_url=resolve_url(settings.LOGIN_URL),
        )
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


class ApiDocsView(SpectacularSwaggerView):
    """The API's documentation page: a visitor who is not signed in is sent to sign in
    rather than shown a bare 401 (the schema it reads still answers 401 to API clients)."""

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
