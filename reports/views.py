from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from accounts.choices import Role
from accounts.models import Site, User, is_officer
from reference.selectors import drug_list

from .choices import Coding, Route, Source
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
    SuspectDrugFormSet,
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
    report_last_sent,
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
from .uploads import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    exposure_upload_problems,
    exposure_upload_read,
)
from .validation import Errors, ReportInvalid, site_for

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_reporter(request: HttpRequest) -> User:
    user = _user(request)
    if user.role not in {Role.NURSE, Role.SAFETY_OFFICER}:
        raise PermissionDenied("Only nurses and safety officers can file reports.")
    return user


def _place_errors(
    exc: ReportInvalid,
    form: Form,
    rows: list[Any],
    prefix: str = "reactions",
    more_rows: dict[str, list[Any]] | None = None,
) -> None:
    """Put each service error beside its field; what has no field goes on top of the form.
    Errors of a list's items go to their rows: the reactions', and any ``more_rows``."""
    row_lists = {prefix: rows, **(more_rows or {})}
    for path, msgs in exc.errors.items():
        parts = path.split(".")
        target: Form = form
        field: str | None = REPORT_FIELDS.get(path, parts[0])
        listed = row_lists.get(parts[0])
        if listed is not None and len(parts) == 3 and int(parts[1]) < len(listed):
            target, field = listed[int(parts[1])], parts[2]
        elif listed is not None:
            field = None
        for message in msgs:
            target.add_error(field if field in target.fields else None, message)


def report_new(request: HttpRequest) -> HttpResponse:
    user = _require_reporter(request)
    if request.method == "POST":
        form = ReportForm(request.POST, user=user)
        formset = ReactionFormSet(request.POST, prefix="reactions")
        suspects = _suspect_rows(request)
        if form.is_valid() and formset.is_valid() and suspects.is_valid():
            rows = filled_forms(formset)
            suspect_rows = filled_forms(suspects)
            if not rows:
                form.add_error(None, "Add at least one reaction.")
            else:
                try:
                    report, _ = report_submit(
                        reporter=user,
                        data=form.to_input(
                            [r.to_input() for r in rows], [s.to_input() for s in suspect_rows]
                        ),
                        source=Source.WEB,
                    )
                except ReportInvalid as exc:
                    _place_errors(exc, form, rows, more_rows={"other_suspect_drugs": suspect_rows})
                else:
                    messages.success(request, _filed_message(report))
                    return redirect("report-detail", pk=report.pk)
    else:
        form = ReportForm(user=user, initial={"reporter_qualification": _qualification(user)})
        formset = ReactionFormSet(prefix="reactions")
        suspects = _suspect_rows(request)
    return render(
        request,
        "reports/report_form.html",
        {
            "form": form,
            "formset": formset,
            "suspects": suspects,
            **_drug_lookup(),
        },
        status=200,
    )


def _drug_lookup() -> dict[str, Any]:
    """The formulary's names suggested in the suspect rows, and the drug (its slug) each name,
    brand or slug stands for: the listedness hints judge a reaction against every suspect."""
    drugs = list(drug_list())
    slugs: dict[str, str] = {}
    for drug in drugs:
        for name in [drug.slug, drug.name, *drug.brand_names]:
            slugs.setdefault(" ".join(name.split()).casefold(), drug.slug)
    return {"drug_names": [drug.name for drug in drugs], "drug_slugs": slugs}


def _suspect_rows(request: HttpRequest) -> Any:
    """The further suspect drug rows of a report or follow-up form, bound when posted. A form
    posted without them (a page of an earlier release) has none."""
    if request.method != "POST":
        return SuspectDrugFormSet(prefix="suspects")
    posted = request.POST.copy()
    posted.setdefault("suspects-TOTAL_FORMS", "0")
    posted.setdefault("suspects-INITIAL_FORMS", "0")
    return SuspectDrugFormSet(posted, prefix="suspects")


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
    reactions = list(report.reactions.all())
    pending = [r for r in reactions if r.coding == Coding.PENDING]
    others = list(report.other_drugs.all())
    other_suspects = [d for d in others if d.suspected]
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "reactions": reactions,
            "other_suspects": other_suspects,
            "concomitants": [d for d in others if not d.suspected],
            "several_suspects": any(d.drug_id is not None for d in other_suspects),
            "pending": pending,
            "pending_serious": any(r.serious for r in pending),
            "recode_form": RecodeForm(reactions=reactions) if officer else None,
            "officer": officer,
            "can_report": user.role in {Role.NURSE, Role.SAFETY_OFFICER},
            "history": _history(report) if officer else [],
            "versions": list(report_versions(report)),
            "void_form": VoidForm(),
            "duplicate_form": DuplicateForm() if user.role == Role.SAFETY_OFFICER else None,
            "last_sent": report_last_sent(report),
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
    other_suspects = report.further_suspects
    data = request.POST if request.method == "POST" else None
    updates = [ReactionUpdateForm(data, reaction=r) for r in reactions]
    narrative = FollowUpNarrativeForm(data)
    formset = ReactionFormSet(data, prefix="reactions")
    suspects = _suspect_rows(request)
    if data is not None:
        # A follow-up may add no reaction: an untouched first row is not an error.
        formset.min_num = 0
        formset.validate_min = False
        if (
            all(f.is_valid() for f in updates)
            and narrative.is_valid()
            and formset.is_valid()
            and suspects.is_valid()
        ):
            rows = filled_forms(formset)
            suspect_rows = filled_forms(suspects)
            try:
                report_follow_up(
                    actor=user,
                    report=report,
                    data=follow_up_input(
                        updates, rows, narrative.cleaned_data["narrative"], suspect_rows
                    ),
                )
            except ReportInvalid as exc:
                _place_follow_up_errors(exc, updates, rows, narrative, suspect_rows)
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
            "suspects": suspects,
            "case_suspects": [report.drug.name, *(d.name for d in other_suspects)],
            "first_number": len(other_suspects) + 2,
            "other_suspect_slugs": " ".join(d.drug.slug for d in other_suspects if d.drug),
            **_drug_lookup(),
        },
    )


def _place_follow_up_errors(
    exc: ReportInvalid,
    updates: list[ReactionUpdateForm],
    rows: list[Any],
    narrative: Form,
    suspect_rows: list[Any],
) -> None:
    """Each error beside its field: on the reaction updated, the new reaction or the new
    suspect drug it is about; what has no row goes on top of the form."""
    row_lists = {
        "updates": [f for f in updates if f.has_changed()],
        "new_reactions": rows,
        "new_suspect_drugs": suspect_rows,
    }
    for path, msgs in exc.errors.items():
        parts = path.split(".")
        listed = row_lists.get(parts[0], [])
        for message in msgs:
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(listed):
                form = listed[int(parts[1])]
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
                    end_date=d.get("end_date"),
                    dose=d.get("dose", ""),
                    route=d.get("route", ""),
                    lot_number=d.get("lot_number", ""),
                )
                try:
                    [result] = exposures_register(
                        actor=user, site=site, rows=[row], start_required=True
                    )
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
                row_errors = _register_upload(request, user, site, upload.cleaned_data["file"])
                if not row_errors:
                    return redirect("exposure-register")
                upload.add_error(
                    "file",
                    "Nothing was registered: correct the lines listed below and upload the "
                    "whole file again.",
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
            "required_columns": REQUIRED_COLUMNS,
            "optional_columns": OPTIONAL_COLUMNS,
            "routes": ", ".join(Route.values),
        },
    )


def _exposure_site(user: User, site_form: SiteChoiceForm | None) -> Site | None:
    if site_form is None:
        errors = Errors()
        return site_for(user, "", errors)
    return site_form.cleaned_data["site"] if site_form.is_valid() else None


def _register_upload(request: HttpRequest, user: User, site: Site, file: Any) -> list[str]:
    """Register every line of an uploaded file, or none: the problems of every line, if any."""
    if file.size > MAX_UPLOAD_BYTES:
        return [f"The file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB."]
    upload = exposure_upload_read(file.read())
    problems = exposure_upload_problems(upload, site)
    if problems:
        return problems
    try:
        results = exposures_register(
            actor=user, site=site, rows=upload.rows, source=Source.IMPORT, start_required=True
        )
    except ReportInvalid as exc:
        return _csv_errors(exc, upload.lines)
    created = sum(r.created for r in results)
    messages.success(
        request,
        f"{len(results)} row{pluralize(len(results))} read: {created} "
        f"exposure{pluralize(created)} registered, {len(results) - created} already known.",
    )
    return []


def _csv_errors(exc: ReportInvalid, lines: list[int]) -> list[str]:
    found = []
    for path, msgs in exc.errors.items():
        line = lines[int(path.split(".")[0])]
        found += [(line, f"Line {line}: {m}") for m in msgs]
    return [text for _, text in sorted(found)]
