import statistics
from collections import Counter
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
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
from spontaneous.models import Source

from .charts import (
    DASH,
    ForestRow,
    cumulative_incidence_chart,
    forest_chart,
    histogram_chart,
    onset_bins,
    percent_words,
)
from .choices import ALLOWED_MOVES, Kind, Priority, RecommendedAction, ReviewStatus
from .drug_disproportionality import drug_source_table, drug_sources
from .exports import csv_text
from .filters import SignalFilter
from .models import Signal
from .review import MoveRefused, signal_assign, signal_move, signals_mark_seen
from .run_words import already_words, run_row, scope_words
from .selectors import (
    CASE_SORTS,
    SIGNAL_SORTS,
    drug_overview,
    run_list,
    signal_case_timing,
    signal_cases,
    signal_dashboard,
    signal_detail,
    signal_incidence_by_month,
    term_expected,
    treated_patients,
)
from .services import run_request
from .tasks import run_dispatch
from .wording import disproportionality_table


def _officer(request: HttpRequest) -> Any:
    if getattr(request.user, "role", None) != Role.SAFETY_OFFICER:
        raise PermissionDenied("Only safety officers review signals.")
    return request.user


class RunStartForm(forms.Form):
    drug = forms.ModelChoiceField(
        label="Drugs to run detection on",
        queryset=Drug.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All drugs",
        error_messages={"invalid_choice": "Choose a drug from the list, or all drugs."},
    )


def runs_page(request: HttpRequest) -> HttpResponse:
    """The detection runs, newest first; officers start one over one drug or all drugs. A
    run over the same drugs already queued or running is shown instead of a second one."""
    officer = _officer(request)
    form = RunStartForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        run, created = run_request(drug=form.cleaned_data["drug"], requested_by=officer)
        if created:
            transaction.on_commit(lambda: run_dispatch(run))
            messages.success(request, f"Run {run.pk} for {scope_words(run)} was started.")
        else:
            messages.info(request, already_words(run, timezone.now()))
        return redirect(f"{reverse('detection-runs')}?run={run.pk}#run-{run.pk}")
    page = Paginator(run_list().order_by("-created_at", "-id"), 25).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    rows = [run_row(run, now) for run in page]
    return render(
        request,
        "surveillance/runs.html",
        {
            "page": page,
            "rows": rows,
            "active": any(row.active for row in rows),
            "form": form,
            "highlight": request.GET.get("run", ""),
            "query": "",
        },
        status=400 if form.is_bound else 200,
    )


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
    "source",
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
            s.source.name if s.source else "",
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
            "treated": treated_patients(drug.pk),
            "spontaneous": drug_sources(drug),
            "chart": mark_safe(chart),  # noqa: S308 - built by surveillance.charts, text escaped
        },
    )


class DisproportionalityFilters(forms.Form):
    source = forms.ChoiceField(label="Source of spontaneous reports")
    serious = forms.BooleanField(label="Serious cases only", required=False)
    min_count = forms.IntegerField(
        label="At least this many cases",
        required=False,
        min_value=1,
        max_value=1_000_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "size": 6}),
    )

    def __init__(self, data: QueryDict, sources: list[Source]) -> None:
        super().__init__(data)
        field = self.fields["source"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.slug, s.name) for s in sources]

    def api_query(self) -> str:
        """The same table's address parameters for the API (its CSV download)."""
        query = QueryDict(mutable=True)
        query["source"] = self.cleaned_data["source"]
        if self.cleaned_data["serious"]:
            query["serious"] = "true"
        if self.cleaned_data["min_count"]:
            query["min_count"] = str(self.cleaned_data["min_count"])
        query["format"] = "csv"
        return query.urlencode()


TABLE_ROWS_PER_PAGE = 50


def drug_disproportionality_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The drug read against a source of spontaneous reports: every event reported with its
    products there, strongest first, beside the label and the hospital's own signals."""
    _officer(request)
    drug = get_object_or_404(Drug, slug=slug)
    sources = [s.source for s in drug_sources(drug)]
    data = request.GET.copy()
    if sources and not data.get("source"):
        # A source where the drug has products, when there is one (drug_sources's order).
        data["source"] = sources[0].slug
    form = DisproportionalityFilters(data, sources)
    table = page = None
    csv_url = ""
    if sources and form.is_valid():
        table = drug_source_table(
            drug=drug,
            source=next(s for s in sources if s.slug == form.cleaned_data["source"]),
            serious=form.cleaned_data["serious"],
            min_count=form.cleaned_data["min_count"] or 1,
        )
        page = Paginator(table.rows, TABLE_ROWS_PER_PAGE).get_page(request.GET.get("page"))
        csv_url = reverse("api:drug-disproportionality", args=[drug.slug]) + "?" + form.api_query()
    return render(
        request,
        "surveillance/drug_disproportionality.html",
        {
            "drug": drug,
            "sources": sources,
            "form": form,
            "table": table,
            "page": page,
            "query": page_query(data),
            "csv_url": csv_url,
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
    evaluations = list(signal.evaluations.all())
    against_label = signal.kind != Kind.DISPROPORTIONALITY
    charts = _signal_charts(signal) if against_label else {}
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
            "evaluations": evaluations,
            **charts,
            "history": list(audit_history(signal)),
            "methods": disproportionality_table(signal.statistics),
            "treated": treated_patients(signal.drug_id) if against_label else None,
            "expected": term_expected(signal.drug, signal.term) if against_label else None,
            "assign": assign,
        },
    )


def _signal_charts(signal: Signal) -> dict[str, Any]:
    """The signal page's charts: cumulative incidence by month of onset against the label,
    and time from therapy start to onset and grades over all the cases of the case list."""
    by_month = signal_incidence_by_month(signal)
    term = signal.term.name
    severe = bool(by_month and by_month.grade3)
    grade3 = " at grade 3 or higher" if severe else ""
    incidence = ""
    if by_month and by_month.figures:
        first, last = by_month.figures[0], by_month.figures[-1]
        label = (
            f"the label gives {percent_words(signal.expected_pct)}"
            if signal.expected_pct is not None
            else "not on the label"
        )
        reached = (
            f"{last.pct:.1f}% (95% interval {last.low_pct:.1f}{DASH}{last.high_pct:.1f}%, "
            f"{last.cases} of {last.treated} treated patients)"
            if last.pct is not None and last.low_pct is not None and last.high_pct is not None
            else "no treated patients"
        )
        incidence = cumulative_incidence_chart(
            by_month.figures,
            signal.expected_pct,
            summary=f"Cumulative incidence of {term}{grade3} by month of onset, "
            f"{first.month:%b %Y} to {last.month:%b %Y}: {reached} by the end of "
            f"{last.month:%b %Y}; {label}.",
            y_title="Cumulative incidence, grade ≥ 3 (%)" if severe else "Cumulative incidence (%)",
            reference=f"Label {percent_words(signal.expected_pct)}{' at grade ≥ 3' * severe}"
            if signal.expected_pct is not None
            else "",
        )
    cases = signal_case_timing(signal)
    onset_days = sorted((onset - start).days for onset, start, _, _ in cases if onset and start)
    onsets = onset_bins(onset_days)
    grades = Counter(grade for _, _, grade, _ in cases)
    return {
        "by_month": by_month,
        "incidence_chart": mark_safe(incidence),  # noqa: S308 - built by surveillance.charts
        "onset_chart": mark_safe(  # noqa: S308 - built by surveillance.charts, text escaped
            histogram_chart(
                onsets,
                summary="Cases by days from therapy start to onset: "
                + "; ".join(f"{name} days: {n}" for name, n in onsets)
                + ".",
                x_title="Days from therapy start to onset",
            )
        )
        if onset_days
        else "",
        "onset_days": onset_days,
        "onset_median": statistics.median(onset_days) if onset_days else None,
        "onset_missing": len(cases) - len(onset_days),
        "case_count": len(cases),
        "grade3_count": sum(n for g, n in grades.items() if g >= 3),
        "serious_count": sum(1 for *_, serious in cases if serious),
        "onset_before_start": sum(1 for d in onset_days if d < 0),
        "grade_chart": mark_safe(  # noqa: S308 - built by surveillance.charts, text escaped
            histogram_chart(
                [(str(g), grades.get(g, 0)) for g in range(1, 6)],
                summary="Cases by grade: "
                + "; ".join(f"grade {g}: {grades.get(g, 0)}" for g in range(1, 6))
                + ".",
                x_title="Grade (CTCAE)",
            )
        )
        if cases
        else "",
    }
