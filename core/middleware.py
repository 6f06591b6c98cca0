"""Cross-cutting HTTP behaviour: security and caching headers on every answer, a 400 for an
address that holds a NUL character, and JSON error answers for every address under /api/. The
error answers themselves are in core.views."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from core.views import unauthorized

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


class ApiErrorAnswersMiddleware:
    """Under /api/, an address no route matches is a JSON 404 even with DEBUG on (Django then
    answers with its HTML debug page, not handler404), and a browser that opens an API address
    without signing in gets the product's 401 page with a way to sign in, not the API's
    browsable page. Answers the API itself wrote as JSON are left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/"):
            return response
        from_the_api = isinstance(response, Response)
        if response.status_code == 404 and not from_the_api:
            return JsonResponse({"detail": "Not found."}, status=404)
        if (
            response.status_code == 401
            and from_the_api
            and isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer)
        ):
            return unauthorized(request)
        return response
