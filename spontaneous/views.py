from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role

from .forms import FaersUploadForm
from .import_runs import ImportRefused, import_run_request, import_runs_sweep_stale
from .import_words import summary_words
from .models import ImportRun, ImportRunStatus, ReportImport
from .run_words import result_words, run_row
from .selectors import (
    SourceOverview,
    import_list,
    import_run_list,
    source_overviews,
    unless_import_holds_the_tables,
)
from .tasks import import_run_dispatch

IMPORTS_PER_PAGE = 25
RUNS_SHOWN = 10


def _officer(request: HttpRequest) -> Any:
    if getattr(request.user, "role", None) != Role.SAFETY_OFFICER:
        raise PermissionDenied("Only safety officers manage spontaneous sources.")
    return request.user


def sources_page(request: HttpRequest) -> HttpResponse:
    """Each spontaneous source with its counts and its imports; officers upload FAERS
    quarters here and follow their import."""
    officer = _officer(request)
    form = FaersUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if form.is_bound and form.is_valid():
        try:
            with transaction.atomic():
                run = import_run_request(
                    files=form.cleaned_data["quarters"],
                    roles=form.cleaned_data["roles"],
                    requested_by=officer,
                )
                transaction.on_commit(lambda: import_run_dispatch(run))
        except ImportRefused as exc:
            form.add_error("quarters", f"{exc.file_name}: nothing imported: {exc.reason}")
        else:
            _say_started(request, run)
            return redirect(f"{reverse('spontaneous-sources')}?run={run.pk}#run-{run.pk}")

    import_runs_sweep_stale()
    now = timezone.now()
    page_number = request.GET.get("page")

    def sources_and_imports() -> tuple[list[SourceOverview], Page[ReportImport]]:
        page = Paginator(import_list(), IMPORTS_PER_PAGE).get_page(page_number)
        page.object_list = list(page.object_list)
        return source_overviews(), page

    read = unless_import_holds_the_tables(sources_and_imports)
    runs = list(import_run_list()[:RUNS_SHOWN])
    highlight = request.GET.get("run", "")
    if highlight.isdigit() and all(str(r.pk) != highlight for r in runs):
        runs += list(import_run_list().filter(pk=int(highlight)))
    rows = [run_row(r, now) for r in runs]
    return render(
        request,
        "spontaneous/sources.html",
        {
            "busy": read is None,
            "sources": read[0] if read else [],
            "page": read[1] if read else None,
            "imports": [(batch, summary_words(batch)) for batch in read[1]] if read else [],
            "rows": rows,
            "active": any(row.active for row in rows),
            "form": form,
            "highlight": highlight,
            "query": "",
            "max_mb": settings.FAERS_UPLOAD_MAX_MB,
        },
        status=400 if form.is_bound else 200,
    )


def _say_started(request: HttpRequest, run: ImportRun) -> None:
    run.refresh_from_db()
    files = ", ".join(run.files)
    if run.status == ImportRunStatus.SUCCEEDED:
        # Without a broker the import ran in this request.
        messages.success(request, f"Imported {files}: " + "; ".join(result_words(run)) + ".")
    elif run.status == ImportRunStatus.FAILED:
        messages.error(request, f"The import of {files} failed: {run.error}")
    else:
        messages.success(request, f"The import of {files} was started: it is highlighted below.")


def import_run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Where a FAERS import started from the page has got to, for the page to follow it."""
    _officer(request)
    run = get_object_or_404(import_run_list(), pk=pk)
    return JsonResponse(run_row(run, timezone.now()).as_json())
