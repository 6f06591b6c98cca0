from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.choices import Role

from .selectors import run_list


def runs_page(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "role", None) != Role.SAFETY_OFFICER:
        raise PermissionDenied("Only safety officers follow detection runs.")
    page = Paginator(run_list().order_by("-created_at", "-id"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "surveillance/runs.html", {"page": page})
