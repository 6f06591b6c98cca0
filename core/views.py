"""The error answers of the whole site (Django's handler400, handler404 and handler500): JSON
under /api/, plain text or Django's page elsewhere, and a 503 that says so when the database is
down."""

import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found

logger = logging.getLogger(__name__)


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
