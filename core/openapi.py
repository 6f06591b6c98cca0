"""The OpenAPI schema documents the error answers of every operation, not only its success.

Which errors an operation can give follows from what it takes and who may call it: any
address, body or filter can be refused (400; a NUL character anywhere in an address, see
core.middleware), a token can be wrong (401), a role or a missing CSRF token refused
(403), a path or a page can name nothing (404), a body can be too large (413) or of a type
the API does not read (415), and every operation reads the database (503 when it cannot be
reached; see core.views.server_error).
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


# 400 answers are keyed by field (nested for nested fields), or {"detail"} for a body that
# cannot be parsed at all.
FIELD_ERRORS = OpenApiResponse(
    response={"type": "object", "additionalProperties": {}},
    description="The request was refused: messages keyed by field.",
)

ERRORS = {
    "400": FIELD_ERRORS,
    "401": OpenApiResponse(ErrorSerializer, description="No valid token or session."),
    "403": OpenApiResponse(ErrorSerializer, description="Not allowed for this account."),
    "404": OpenApiResponse(ErrorSerializer, description="Nothing here (or no such page)."),
    "413": OpenApiResponse(ErrorSerializer, description="The body is too large."),
    "415": OpenApiResponse(ErrorSerializer, description="A body type the API does not read."),
    "503": OpenApiResponse(
        ErrorSerializer, description="The database is unavailable; nothing was saved."
    ),
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self._document_empty_values(operation)
        responses: dict[str, Any] = operation["responses"]
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(ERRORS[code], code)  # type: ignore[no-untyped-call]
        responses["503"]["headers"] = RETRY_AFTER
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _document_empty_values(self, operation: dict[str, Any]) -> None:
        """An optional query parameter given an empty value (?drug=) is read as not given, as
        in an HTML form: django-filter ignores it, a serializer field takes its default."""
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required", False):
                parameter["allowEmptyValue"] = True

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"}
        in_path = any(p["in"] == "path" for p in parameters)
        has_body = "requestBody" in operation
        authenticators = self.view.get_authenticators()
        roles = [
            p for p in self.view.get_permissions() if not isinstance(p, (IsAuthenticated, AllowAny))
        ]
        csrf = self.method not in SAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        )
        codes = ["400"]
        if authenticators:
            codes.append("401")
        if roles or csrf:
            codes.append("403")
        if in_path or "page" in query:
            codes.append("404")
        if has_body:
            codes += ["413", "415"]
        codes.append("503")
        return codes
