from collections import Counter
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from accounts.choices import Role
from accounts.models import User
from audit.services import audit_history
from core.sorting import page_query, sort_headers, sort_read
from reference.models import Drug
from reports.services import coding_pending_count

from .charts import ForestRow, Point, bar_chart, forest_chart, incidence_chart
from .choices import ALLOWED_MOVES, Kind, Priority, RecommendedAction, ReviewStatus
from .exports import csv_text
from .filters import SignalFilter
from .models import Signal
from .review import MoveRefused, signal_assign, signal_move, signals_mark_seen
from .selectors import (
    CASE_SORTS,
    SIGNAL_SORTS,
    drug_last_detected_at,
    drug_overview,
    run_list,
    signal_cases,
    signal_dashboard,
    signal_detail,
)
from .wording import disproportionality_table


def _officer(request: HttpRequest) -> Any:
    if getattr(request.user, "role", None) != Role.SAFETY_OFFICER:
        raise PermissionDenied("Only safety officers review signals.")
    return request.user


def runs_page(request: HttpRequest) -> HttpResponse:
    _officer(request)
    page = Paginator(run_list().order_by("-created_at", "-id"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "surveillance/runs.html", {"page": page})


PAGE_SIZES = (25, 50, 100)
PAGE_SIZE = 50


class DashboardFilters(forms.Form):
    drug = forms.ModelChoiceField(
        queryset=Drug.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All drugs",
    )
    kind = forms.ChoiceField(choices=[("", "All kinds"), *Kind.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Open (not closed)"), *ReviewStatus.choices], required=False
    )
    priority = forms.ChoiceField(
        choices=[("", "All priorities"), *Priority.choices], required=False
    )
    met = forms.ChoiceField(
        label="Rule met now",
        choices=[("", "Either"), ("true", "Met"), ("false", "Not met any more")],
        required=False,
    )
    per_page = forms.TypedChoiceField(
        label="Per page",
        choices=[(n, str(n)) for n in PAGE_SIZES],
        coerce=int,
        required=False,
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)


def _signal_filters(query: QueryDict) -> dict[str, str]:
    return {k: str(v) for k, v in query.items() if k in SignalFilter.base_filters and v}


def dashboard(request: HttpRequest) -> HttpResponse:
    officer = _officer(request)
    # Any other page size (a hand-edited address) reads as the usual one.
    per_page = next((n for n in PAGE_SIZES if str(n) == request.GET.get("per_page")), PAGE_SIZE)
    data = request.GET.copy()
    data["per_page"] = str(per_page)
    form = DashboardFilters(data)
    # Only the officer's "mark as seen" moves the mark: filtering and paging keep "new".
    seen_at = officer.signals_seen_at
    new = Signal.objects.all()
    if seen_at is not None:
        new = new.filter(first_detected_at__gt=seen_at)
    new_since = new.count()
    sort = request.GET.get("sort", "")
    page = Paginator(signal_dashboard(_signal_filters(request.GET), sort=sort), per_page).get_page(
        request.GET.get("page")
    )
    counts = dict(Signal.objects.values_list("status").annotate(n=Count("id")).order_by())
    query = page_query(request.GET)
    pending, pending_serious = coding_pending_count()
    return render(
        request,
        "surveillance/dashboard.html",
        {
            "form": form,
            "pending": pending,
            "pending_serious": pending_serious,
            "page": page,
            "query": query,
            "headers": sort_headers(sort, SIGNAL_SORTS, request.GET),
            "sorted": sort_read(sort, SIGNAL_SORTS) is not None,
            "status_counts": [(s, label, counts.get(s, 0)) for s, label in ReviewStatus.choices],
            "seen_at": seen_at,
            "new_since": new_since,
            "seen_form": SeenForm(
                # To the microsecond: a signal detected a moment later stays new.
                initial={"until": timezone.now().isoformat(), "query": query}
            ),
        },
    )


class SeenForm(forms.Form):
    until = forms.DateTimeField(widget=forms.HiddenInput)
    query = forms.CharField(required=False, widget=forms.HiddenInput)


def dashboard_mark_seen(request: HttpRequest) -> HttpResponse:
    """Every signal shown when the dashboard was loaded is no longer new to this officer."""
    officer = _officer(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = SeenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The page was out of date: nothing was marked as seen.")
        return redirect("signal-dashboard")
    signals_mark_seen(officer=officer, until=form.cleaned_data["until"])
    messages.success(request, "Every signal shown is marked as seen.")
    # Back to the same filters; the query is only ever appended to the dashboard's own path.
    query = QueryDict(form.cleaned_data["query"]).urlencode()
    return redirect(f"{reverse('signal-dashboard')}?{query}" if query else "signal-dashboard")


class MoveForm(forms.Form):
    status = forms.ChoiceField(label="Move to", widget=forms.RadioSelect)
    comment = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}))
    recommended_action = forms.ChoiceField(
        label="Recommended action (when confirming)",
        choices=[("", "—"), *RecommendedAction.choices],
        required=False,
    )

    def __init__(self, *args: Any, signal: Signal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(ReviewStatus.choices)
        # Any status passes the form, so that a move from a page gone stale (another officer
        # moved the signal meanwhile) is refused by the review, in words; only the allowed
        # moves are offered.
        status = self.fields["status"]
        status.choices = ReviewStatus.choices  # type: ignore[attr-defined]
        status.widget.choices = [(s, labels[s]) for s in ALLOWED_MOVES[signal.status]]


# Disproportionality signals only (empty for the others).
DISPROPORTIONALITY_COLUMNS = ["a", "b", "c", "d", "ebgm", "eb05", "eb95", "prr", "ror", "ic025"]
SIGNAL_COLUMNS = [
    "id",
    "drug",
    "term",
    "kind",
    "priority",
    "met",
    "status",
    "cases",
    "exposed",
    "observed_pct",
    "ci_low_pct",
    "ci_high_pct",
    "expected_pct",
    "band",
    "p_value",
    "q_value",
    *DISPROPORTIONALITY_COLUMNS,
    "first_detected_at",
    "last_evaluated_at",
    "summary",
]


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def dashboard_csv(request: HttpRequest) -> HttpResponse:
    """The dashboard's signals, with its filters, as CSV."""
    _officer(request)
    rows = (
        [
            s.pk,
            s.drug.name,
            s.term.name,
            s.kind,
            s.priority,
            s.met,
            s.status,
            s.cases,
            s.denominator,
            s.observed_pct,
            s.ci_low_pct,
            s.ci_high_pct,
            s.comparator_pct,
            s.band,
            s.p_value,
            s.q_value,
            *(s.statistics.get(name) for name in DISPROPORTIONALITY_COLUMNS),
            s.first_detected_at.isoformat(),
            s.last_evaluated_at.isoformat(),
            s.summary,
        ]
        for s in signal_dashboard(_signal_filters(request.GET), sort=request.GET.get("sort", ""))
    )
    return _csv_response(csv_text(SIGNAL_COLUMNS, rows), "signals.csv")


def signal_cases_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """A signal's line listing as CSV."""
    _officer(request)
    signal = get_object_or_404(signal_detail(), pk=pk)
    rows = (
        [
            c.report.reference,
            c.report.patient.reference,
            str(c.term),
            c.verbatim,
            c.onset_date,
            c.grade,
            c.serious,
            ";".join(c.seriousness),
            c.outcome,
            c.report.duplicate_status,
        ]
        for c in signal_cases(signal)
    )
    header = [
        "report",
        "patient",
        "term",
        "verbatim",
        "onset_date",
        "grade",
        "serious",
        "seriousness",
        "outcome",
        "duplicate_status",
    ]
    return _csv_response(csv_text(header, rows), f"signal-{signal.pk}-cases.csv")


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(
        label="Assigned to",
        queryset=User.objects.filter(role=Role.SAFETY_OFFICER, is_active=True).order_by("username"),
        to_field_name="username",
        required=False,
        empty_label="Nobody",
    )


def drug_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Every labelled reaction observed against expected, and what the label does not list."""
    _officer(request)
    drug = get_object_or_404(Drug, slug=slug)
    cohort, entries, unlisted = drug_overview(drug)
    tested = [e for e in entries if e.expected_pct is not None or e.cases]
    chart = forest_chart(
        [
            ForestRow(e.term.name, e.observed_pct, e.ci_low_pct, e.ci_high_pct, e.expected_pct)
            for e in tested
        ]
    )
    return render(
        request,
        "surveillance/drug.html",
        {
            "drug": drug,
            "cohort": cohort,
            "entries": entries,
            "unlisted": unlisted,
            "detected_at": drug_last_detected_at(drug.pk),
            "chart": mark_safe(chart),  # noqa: S308 - built by surveillance.charts, text escaped
        },
    )


CASES_PER_PAGE = 25


def signal_page(request: HttpRequest, pk: int) -> HttpResponse:
    officer = _officer(request)
    signal = get_object_or_404(signal_detail(), pk=pk)
    assign = AssignForm(
        request.POST if "assigned_to" in request.POST else None,
        initial={"assigned_to": signal.assigned_to.username if signal.assigned_to else None},
    )
    if "assigned_to" in request.POST and assign.is_valid():
        signal_assign(actor=officer, signal=signal, assignee=assign.cleaned_data["assigned_to"])
        messages.success(request, "The assignment is recorded.")
        return redirect("signal-page", pk=signal.pk)
    form = MoveForm(request.POST if "status" in request.POST else None, signal=signal)
    if "status" in request.POST and form.is_valid():
        try:
            signal_move(
                actor=officer,
                signal=signal,
                status=form.cleaned_data["status"],
                comment=form.cleaned_data["comment"],
                recommended_action=form.cleaned_data["recommended_action"],
            )
        except MoveRefused as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, "The move is recorded.")
            return redirect("signal-page", pk=signal.pk)
    cases = list(signal_cases(signal))
    evaluations = list(signal.evaluations.all())
    chart = incidence_chart(
        [
            Point(e.evaluated_at.strftime("%d %b"), e.observed_pct, e.ci_low_pct, e.ci_high_pct)
            for e in evaluations
        ],
        signal.expected_pct,
    )
    grades = Counter(c.grade for c in cases)
    onset_days = [
        (c.onset_date - c.report.therapy_start).days
        for c in cases
        if c.onset_date and c.report.therapy_start
    ]
    weeks = Counter(min(max(d, 0) // 7, 12) for d in onset_days)
    case_sort = request.GET.get("sort", "")
    case_page = Paginator(signal_cases(signal, sort=case_sort), CASES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "surveillance/signal.html",
        {
            "signal": signal,
            "case_page": case_page,
            "case_headers": sort_headers(case_sort, CASE_SORTS, request.GET),
            "case_query": page_query(request.GET),
            "form": form if ALLOWED_MOVES[signal.status] else None,
            "cases": cases,
            "evaluations": evaluations,
            "chart": mark_safe(chart),  # noqa: S308 - built by surveillance.charts, text escaped
            "grade_chart": mark_safe(  # noqa: S308
                bar_chart(
                    [(f"G{g}", grades.get(g, 0)) for g in range(1, 6)], label="Cases by grade"
                )
            ),
            "onset_chart": mark_safe(  # noqa: S308
                bar_chart(
                    [(f"{w}w" if w < 12 else "12w+", weeks.get(w, 0)) for w in range(13)],
                    label="Days from therapy start to onset, by week",
                )
            )
            if onset_days
            else "",
            "history": list(audit_history(signal)),
            "methods": disproportionality_table(signal.statistics),
            "assign": assign,
        },
    )
