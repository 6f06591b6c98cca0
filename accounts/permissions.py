from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .choices import Role


def _role(request: Request) -> str | None:
    user = request.user
    return getattr(user, "role", None) if user and user.is_authenticated else None


class CanReport(BasePermission):
    """Nurses and safety officers file reports and register exposures."""

    message = "Only nurses and safety officers can submit reports."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _role(request) in {Role.NURSE, Role.SAFETY_OFFICER}


class IsSafetyOfficer(BasePermission):
    message = "Only safety officers can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _role(request) == Role.SAFETY_OFFICER
