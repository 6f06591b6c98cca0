"""Pages for coding: the officers' queue of reporters' words, and recoding one reaction."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User, is_officer

from .forms import RecodeForm
from .selectors import reports_visible
from .services import coding_apply, coding_queue, reaction_recode
from .validation import ReportInvalid


def _officer(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not is_officer(user):
        raise PermissionDenied("Only safety officers code reporters' words.")
    return user


def coding_queue_page(request: HttpRequest) -> HttpResponse:
    """Pending words with suggested terms; one click codes every reaction saying them."""
    user = _officer(request)
    typed: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        verbatim = request.POST.get("verbatim", "")
        term = request.POST.get("term") or request.POST.get("other", "")
        try:
            result = coding_apply(actor=user, verbatim=verbatim, term=term)
        except ReportInvalid as exc:
            typed[verbatim] = term
            errors[verbatim] = [m for ms in exc.errors.values() for m in ms]
        else:
            learned = (
                f" “{result.learned.text}” is now a name of {result.term.name}."
                if result.learned
                else ""
            )
            messages.success(
                request,
                f"Coded {result.reaction_count} reaction{'s' if result.reaction_count != 1 else ''}"
                f" in {', '.join(result.report_references)} as {result.term.name}.{learned}",
            )
            return redirect("coding-queue")
    queue = coding_queue()
    for words in queue:
        words.typed = typed.get(words.verbatim, "")  # type: ignore[attr-defined]
        words.errors = errors.get(words.verbatim, [])  # type: ignore[attr-defined]
    status = 400 if errors else 200
    return render(request, "reports/coding_queue.html", {"queue": queue}, status=status)


@require_POST
def report_recode_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _officer(request)
    report = get_object_or_404(reports_visible(user), pk=pk)
    form = RecodeForm(request.POST, reactions=list(report.reactions.select_related("term")))
    if form.is_valid():
        try:
            reaction_recode(
                actor=user,
                report=report,
                reaction_id=form.cleaned_data["reaction"],
                term=form.cleaned_data["term"],
                comment=form.cleaned_data["comment"],
            )
        except ReportInvalid as exc:
            messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
        else:
            messages.success(request, f"Reaction coded; {report.reference} has a new version.")
    else:
        messages.error(request, "Choose the reaction and name its term.")
    return redirect("report-detail", pk=report.pk)
