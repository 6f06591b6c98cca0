"""Cross-cutting HTTP behaviour: security and caching headers, and a clear 503 when the database
is down."""

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.defaults import page_not_found

logger = logging.getLogger(__name__)

# Everything the pages use is served by the product itself. Inline style attributes draw
# the label's bars; the API docs page (Swagger UI) runs an inline script of its own.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'"
)
CSP_API_DOCS = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = CSP_API_DOCS if request.path.startswith("/api/docs/") else CSP
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        # What an account sees carries patient data: no browser or proxy keeps a copy. Static
        # files are answered before this middleware runs, and stay cacheable. A token request
        # counts too: the API framework sets the user it authenticated on the request.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response


class RefuseNulMiddleware:
    """A NUL character (raw or %00) in the path or query string is a 400. PostgreSQL text
    cannot hold one, so it would otherwise surface as a database error (a 500) in whatever
    lookup or filter the value reaches."""

    MESSAGE = "The address holds a NUL character (%00), which no name or filter can contain."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "\x00" in query or "%00" in query:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": self.MESSAGE}, status=400)
            return HttpResponse(self.MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database that cannot be reached is a 503 that says so; anything else a
    plain 500. Django calls it while handling the exception, wherever it was raised (a view
    or a middleware), and the request's transaction has been rolled back: nothing is
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
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: under /api/ a JSON answer, like every other API error (a path that no route
    matches, such as a report id that is not a number); elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
