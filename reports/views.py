import csv
import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.choices import Role
from accounts.models import Site, User, is_officer

from .api.serializers import ExposureInputSerializer
from .choices import Coding, Source
from .filters import ReportFilter
from .forms import (
    REPORT_FIELDS,
    DuplicateForm,
    ExposureForm,
    ExposureUploadForm,
    FollowUpNarrativeForm,
    ReactionFormSet,
    ReactionUpdateForm,
    RecodeForm,
    ReportForm,
    SiteChoiceForm,
    VoidForm,
    filled_forms,
    follow_up_input,
)
from .history import (
    action_words,
    change_lines,
    version_differences,
    version_facts,
    version_reactions,
)
from .models import Report
from .selectors import (
    exposures_visible,
    report_content_now,
    report_history,
    report_versions,
    reports_matching,
    reports_visible,
)
from .services import (
    ExposureRow,
    exposures_register,
    report_duplicate_decide,
    report_follow_up,
    report_submit,
    report_void,
)
from .validation import Errors, ReportInvalid, exposure_rows_over_limit, site_for

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_reporter(request: HttpRequest) -> User:
    user = _user(request)
    if user.role not in {Role.NURSE, Role.SAFETY_OFFICER}:
        raise PermissionDenied("Only nurses and safety officers can file reports.")
    return user


def _place_errors(
    exc: ReportInvalid, form: Form, rows: list[Any], prefix: str = "reactions"
) -> None:
    """Put each service error beside its field; what has no field goes on top of the form."""
    for path, msgs in exc.errors.items():
        parts = path.split(".")
        target: Form = form
        field: str | None = REPORT_FIELDS.get(path, parts[0])
        if parts[0] == prefix and len(parts) == 3 and int(parts[1]) < len(rows):
            target, field = rows[int(parts[1])], parts[2]
        elif parts[0] == prefix:
            field = None
        for message in msgs:
            target.add_error(field if field in target.fields else None, message)


def report_new(request: HttpRequest) -> HttpResponse:
    user = _require_reporter(request)
    if request.method == "POST":
        form = ReportForm(request.POST, user=user)
        formset = ReactionFormSet(request.POST, prefix="reactions")
        if form.is_valid() and formset.is_valid():
            rows = filled_forms(formset)
            if not rows:
                form.add_error(None, "Add at least one reaction.")
            else:
                try:
                    report, _ = report_submit(
                        reporter=user,
                        data=form.to_input([r.to_input() for r in rows]),
                        source=Source.WEB,
                    )
                except ReportInvalid as exc:
                    _place_errors(exc, form, rows)
                else:
                    messages.success(request, _filed_message(report))
                    return redirect("report-detail", pk=report.pk)
    else:
        form = ReportForm(user=user, initial={"reporter_qualification": _qualification(user)})
        formset = ReactionFormSet(prefix="reactions")
    return render(
        request, "reports/report_form.html", {"form": form, "formset": formset}, status=200
    )


def _filed_message(report: Report) -> str:
    pending = sum(r.coding == Coding.PENDING for r in report.reactions.all())
    message = f"Report {report.reference} was filed."
    if pending:
        words = "reaction" if pending == 1 else "reactions"
        message += (
            f" No term matched {pending} {words} in your "
            "words: they are kept as you wrote them, and a safety officer will code them."
        )
    if report.warnings:
        message += " Please check the warnings below: the report was filed as it was written."
    return message


def _qualification(user: User) -> str:
    return "nurse" if user.role == Role.NURSE else "other_hcp"


def report_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    reports = reports_visible(user)
    filters = ReportFilter(request.GET, queryset=reports)
    results = filters.qs if filters.is_valid() else reports.none()
    q = request.GET.get("q", "").strip()
    if q:
        results = reports_matching(results, q)
    page = Paginator(results.order_by("-received_at", "-id"), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/report_list.html",
        {
            "page": page,
            "filters": filters,
            "q": q,
            "query": query.urlencode(),
            "scope": "All sites" if is_officer(user) else f"{user.site or 'No site'}",
        },
    )


def _visible_report(request: HttpRequest, pk: int) -> Report:
    return get_object_or_404(reports_visible(_user(request)), pk=pk)


def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _visible_report(request, pk)
    user = _user(request)
    officer = is_officer(user)
    reactions = list(report.reactions.select_related("term", "listed_by__term"))
    pending = [r for r in reactions if r.coding == Coding.PENDING]
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "reactions": reactions,
            "pending": pending,
            "pending_serious": any(r.serious for r in pending),
            "recode_form": RecodeForm(reactions=reactions) if officer else None,
            "officer": officer,
            "can_report": user.role in {Role.NURSE, Role.SAFETY_OFFICER},
            "history": _history(report) if officer else [],
            "versions": list(report_versions(report)),
            "void_form": VoidForm(),
            "duplicate_form": DuplicateForm() if user.role == Role.SAFETY_OFFICER else None,
        },
    )


def _history(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "at": entry.at,
            "actor": entry.actor,
            "action": action_words(entry.action),
            "comment": entry.comment,
            "lines": change_lines(entry.changes) if isinstance(entry.changes, dict) else [],
        }
        for entry in report_history(report)
    ]


def report_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """A stored version of a report as it read then, and what the next version changed; for
    the latest one, what changed since in the report as it reads now."""
    report = _visible_report(request, pk)
    versions = list(report_versions(report))
    index = next((i for i, v in enumerate(versions) if v.number == number), None)
    if index is None:
        raise Http404("No such version of this report.")
    version = versions[index]
    following = versions[index + 1] if index + 1 < len(versions) else None
    after = following.content if following else report_content_now(report)
    return render(
        request,
        "reports/report_version.html",
        {
            "report": report,
            "version": version,
            "previous": versions[index - 1] if index else None,
            "following": following,
            "facts": version_facts(version.content),
            "reactions": version_reactions(version.content),
            "narrative": version.content.get("narrative", ""),
            "differences": version_differences(version.content, after),
        },
    )


def report_follow_up_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_reporter(request)
    report = _visible_report(request, pk)
    reactions = list(report.reactions.all())
    data = request.POST if request.method == "POST" else None
    updates = [ReactionUpdateForm(data, reaction=r) for r in reactions]
    narrative = FollowUpNarrativeForm(data)
    formset = ReactionFormSet(data, prefix="reactions")
    if data is not None:
        # A follow-up may add no reaction: an untouched first row is not an error.
        formset.min_num = 0
        formset.validate_min = False
        if all(f.is_valid() for f in updates) and narrative.is_valid() and formset.is_valid():
            rows = filled_forms(formset)
            try:
                report_follow_up(
                    actor=user,
                    report=report,
                    data=follow_up_input(updates, rows, narrative.cleaned_data["narrative"]),
                )
            except ReportInvalid as exc:
                _place_follow_up_errors(exc, updates, rows, narrative)
            else:
                messages.success(request, f"Follow-up added to {report.reference}.")
                return redirect("report-detail", pk=report.pk)
    return render(
        request,
        "reports/follow_up_form.html",
        {
            "report": report,
            "updates": updates,
            "narrative": narrative,
            "formset": formset,
        },
    )


def _place_follow_up_errors(
    exc: ReportInvalid, updates: list[ReactionUpdateForm], rows: list[Any], narrative: Form
) -> None:
    changed = [f for f in updates if f.has_changed()]
    for path, msgs in exc.errors.items():
        parts = path.split(".")
        for message in msgs:
            if parts[0] == "updates" and len(parts) == 3 and int(parts[1]) < len(changed):
                form = changed[int(parts[1])]
                form.add_error(parts[2] if parts[2] in form.fields else None, message)
            elif parts[0] == "new_reactions" and len(parts) == 3 and int(parts[1]) < len(rows):
                form = rows[int(parts[1])]
                form.add_error(parts[2] if parts[2] in form.fields else None, message)
            else:
                narrative.add_error(None, message)


@require_POST
def report_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_reporter(request)
    report = _visible_report(request, pk)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            report_void(actor=user, report=report, reason=form.cleaned_data["reason"])
        except ReportInvalid as exc:
            messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
        else:
            messages.success(request, f"{report.reference} is void.")
    else:
        messages.error(request, "Give the reason for voiding the report.")
    return redirect("report-detail", pk=report.pk)


@require_POST
def report_duplicate_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if user.role != Role.SAFETY_OFFICER:
        raise PermissionDenied("Only safety officers decide on duplicates.")
    report = _visible_report(request, pk)
    form = DuplicateForm(request.POST)
    if form.is_valid():
        try:
            report_duplicate_decide(
                actor=user,
                report=report,
                duplicate=form.cleaned_data["duplicate"],
                comment=form.cleaned_data["comment"],
            )
        except ReportInvalid as exc:
            messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
        else:
            messages.success(request, "Decision recorded.")
    else:
        messages.error(request, "Choose a decision and explain it.")
    return redirect("report-detail", pk=report.pk)


def exposure_register_view(request: HttpRequest) -> HttpResponse:
    user = _require_reporter(request)
    single = ExposureForm(prefix="one")
    upload = ExposureUploadForm(prefix="csv")
    site_form = SiteChoiceForm(prefix="site") if is_officer(user) else None
    row_errors: list[str] = []
    if request.method == "POST":
        site_form = SiteChoiceForm(request.POST, prefix="site") if is_officer(user) else None
        site = _exposure_site(user, site_form)
        if "one-patient" in request.POST:
            single = ExposureForm(request.POST, prefix="one")
            if single.is_valid() and site is not None:
                d = single.cleaned_data
                row = ExposureRow(
                    patient=d["patient"],
                    drug=d["drug"].slug,
                    start_date=d.get("start_date"),
                    dose=d.get("dose", ""),
                    route=d.get("route", ""),
                    lot_number=d.get("lot_number", ""),
                )
                try:
                    [result] = exposures_register(actor=user, site=site, rows=[row])
                except ReportInvalid as exc:
                    for path, msgs in exc.errors.items():
                        field = path.split(".")[-1]
                        for m in msgs:
                            single.add_error(field if field in single.fields else None, m)
                else:
                    verb = "registered" if result.created else "was already registered"
                    messages.success(request, f"{result.exposure} {verb}.")
                    return redirect("exposure-register")
        else:
            upload = ExposureUploadForm(request.POST, request.FILES, prefix="csv")
            if upload.is_valid() and site is not None:
                rows, row_errors = _read_exposure_csv(upload.cleaned_data["file"])
                if not row_errors:
                    try:
                        results = exposures_register(
                            actor=user, site=site, rows=rows, source=Source.IMPORT
                        )
                    except ReportInvalid as exc:
                        row_errors = _csv_errors(exc)
                    else:
                        created = sum(r.created for r in results)
                        messages.success(
                            request,
                            f"{len(results)} rows read: {created} exposures registered, "
                            f"{len(results) - created} already known.",
                        )
                        return redirect("exposure-register")
                if row_errors:
                    upload.add_error(
                        "file", "Nothing was registered: correct these rows and upload again."
                    )
    recent = exposures_visible(user).order_by("-created_at", "-id")[:20]
    return render(
        request,
        "reports/exposures.html",
        {
            "single": single,
            "upload": upload,
            "site_form": site_form,
            "row_errors": row_errors,
            "recent": recent,
        },
    )


def _exposure_site(user: User, site_form: SiteChoiceForm | None) -> Site | None:
    if site_form is None:
        errors = Errors()
        return site_for(user, "", errors)
    return site_form.cleaned_data["site"] if site_form.is_valid() else None


# The columns an exposure upload reads; any other column is ignored.
CSV_COLUMNS = ("patient", "drug", "start_date", "dose", "route", "lot_number")


def _read_exposure_csv(upload: Any) -> tuple[list[ExposureRow], list[str]]:
    if upload.size > MAX_UPLOAD_BYTES:
        return [], [f"The file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB."]
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["The file is not UTF-8 text."]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = {c.strip().lower() for c in (reader.fieldnames or [])}
        records = list(reader)
    except csv.Error as exc:
        return [], [f"The file is not valid CSV: {exc}."]
    missing = {"patient", "drug", "start_date"} - columns
    if missing:
        return [], [f"Missing column(s): {', '.join(sorted(missing))}."]
    too_many = exposure_rows_over_limit(len(records))
    if too_many:
        return [], [too_many]
    rows: list[ExposureRow] = []
    errors: list[str] = []
    for line, raw in enumerate(records, start=2):
        if None in raw:
            errors.append(f"Row {line}: more fields than the header names.")
            continue
        if any("\x00" in (v or "") for v in raw.values()):
            errors.append(f"Row {line}: a cell holds a NUL character.")
            continue
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        # An empty optional cell is a value not given; the site comes from the page, not the file.
        body = ExposureInputSerializer(
            data={
                name: record[name]
                for name in CSV_COLUMNS
                if record.get(name) or name in ("patient", "drug")
            }
        )
        if body.is_valid():
            rows.append(ExposureInputSerializer.to_input(body.validated_data))
        else:
            errors += [f"Row {line}: {f}: {m}" for f, msgs in body.errors.items() for m in msgs]
    if not records:
        errors.append("The file has no rows.")
    return rows, errors


def _csv_errors(exc: ReportInvalid) -> list[str]:
    lines = []
    for path, msgs in sorted(exc.errors.items(), key=lambda kv: int(kv[0].split(".")[0])):
        row = int(path.split(".")[0]) + 2
        lines += [f"Row {row}: {m}" for m in msgs]
    return lines
