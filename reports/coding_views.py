"""Officers' report pages: the queue of reporters' words to code, recoding one reaction, and
the expedited reports by due date."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
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


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _when(left: int) -> str:
    if left < 0:
        return f"Overdue by {_days(-left)}"
    return "Due today" if left == 0 else f"{_days(left)} left"


# An expedited report due within this many days is "due soon".
DUE_SOON_DAYS = 3


def expedited_due_page(request: HttpRequest) -> HttpResponse:
    """Officers: the expedited reports (serious and unlisted) not yet void, the most urgent
    first, with the days left before the 15-day deadline (negative when overdue)."""
    user = _officer(request)
    today = timezone.localdate()
    reports = list(
        reports_visible(user)
        .filter(expedited=True, is_void=False)
        .order_by("expedited_due", "received_at")
    )
    rows = []
    for report in reports:
        assert report.expedited_due is not None  # an expedited report has its due date
        left = (report.expedited_due - today).days
        state = "overdue" if left < 0 else "due soon" if left <= DUE_SOON_DAYS else "due"
        rows.append({"report": report, "days_left": left, "state": state, "when": _when(left)})
    return render(
        request,
        "reports/expedited_due.html",
        {
            "rows": rows,
            "overdue": sum(r["state"] == "overdue" for r in rows),
            "due_soon": sum(r["state"] == "due soon" for r in rows),
            "due_soon_days": DUE_SOON_DAYS,
        },
    )
