"""Download buttons: a report as an ICSR, and the expedited cases as one batch."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from accounts.models import User, is_officer
from reports.selectors import reports_visible

from .services import ExportBlocked, icsr_export


def _download(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _blocked(request: HttpRequest, exc: ExportBlocked) -> None:
    messages.error(request, "The ICSR was not exported; it breaks these rules:")
    for problem in exc.problems[:20]:
        messages.error(request, str(problem))


def report_e2b_download(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    report = get_object_or_404(reports_visible(user), pk=pk)
    try:
        export = icsr_export(reports=[report], actor=user)
    except ExportBlocked as exc:
        _blocked(request, exc)
        return redirect("report-detail", pk=report.pk)
    return _download(export.content, export.file_name)


def expedited_e2b_download(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not is_officer(user):
        raise PermissionDenied("Only safety officers export the expedited cases.")
    reports = list(
        reports_visible(user)
        .filter(expedited=True, is_void=False)
        .order_by("expedited_due", "received_at")
    )
    if not reports:
        messages.info(request, "No expedited report to export.")
        return redirect("expedited-due")
    try:
        export = icsr_export(reports=reports, actor=user)
    except ExportBlocked as exc:
        _blocked(request, exc)
        return redirect("expedited-due")
    return _download(export.content, export.file_name)
