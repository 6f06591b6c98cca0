"""Reads of surveillance: signals for the pages and the API, the cases behind a signal, and
the counts detection compares with the label (distinct patients, in grouped queries whose
number does not depend on the number of terms)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Lower, TruncMonth
from django.utils import timezone

from core.sorting import SortKey, sort_order
from reference.listedness import LabelListing, listed_term
from reference.models import Drug, GroupMembership, Term
from reports.models import Exposure, Reaction, ReportDrug, SuspectReaction

from . import stats
from .charts import MonthFigure, cumulative_by_month, months_between
from .choices import CLOSED_STATUSES, PRIORITY_ORDER, Kind, ReviewStatus, RunStatus
from .filters import SignalFilter
from .models import DetectionRun, DrugRun, Signal, SignalEvaluation
from .wording import Expected, expected_for


def signal_list() -> QuerySet[Signal]:
    return Signal.objects.select_related("drug", "term", "assigned_to", "source")


def signal_detail() -> QuerySet[Signal]:
    return signal_list().prefetch_related(
        Prefetch("evaluations", queryset=SignalEvaluation.objects.order_by("evaluated_at", "id"))
    )


# A signal's case list, sorted by onset, grade or seriousness (serious cases, then by grade).
CASE_SORTS = {
    "onset": SortKey(("onset_date",)),
    "grade": SortKey(("grade",), descending_first=True),
    "serious": SortKey(("serious", "grade"), descending_first=True),
}


def signal_cases(signal: Signal, *, sort: str = "") -> QuerySet[Reaction]:
    """The reactions behind a signal: its term, or any member of its group, in counted reports;
    in the order received unless sorted by one of CASE_SORTS."""
    terms = [signal.term_id]
    if signal.term.is_group:
        terms += list(
            GroupMembership.objects.filter(group_id=signal.term_id).values_list(
                "member_id", flat=True
            )
        )
    # The drug is any formulary suspect of the case, the first or another.
    return (
        Reaction.objects.filter(
            term_id__in=terms, per_drug__drug_id=signal.drug_id, report__is_void=False
        )
        .exclude(report__duplicate_status="confirmed")
        .select_related("report__patient", "term")
        .order_by(*sort_order(sort, CASE_SORTS, tiebreak=("report__received_at", "id")))
    )


def signal_case_timing(signal: Signal) -> list[tuple[date | None, date | None, int, bool]]:
    """Each case of a signal as its time-to-onset chart reads it: onset, the start of the
    signal's drug (the case's first suspect's therapy start, or that of the further suspect
    the signal is about), grade and seriousness. One query."""
    further_start = ReportDrug.objects.filter(
        report_id=OuterRef("report_id"), drug_id=signal.drug_id
    ).values("therapy_start")[:1]
    start = Case(
        When(report__drug_id=signal.drug_id, then=F("report__therapy_start")),
        default=Subquery(further_start),
    )
    return list(
        signal_cases(signal)
        .annotate(drug_start=start)
        .values_list("onset_date", "drug_start", "grade", "serious")
    )


def run_list() -> QuerySet[DetectionRun]:
    return DetectionRun.objects.select_related("drug", "requested_by")


def _rank(field: str, values: list[str]) -> Case:
    return Case(
        *[When(**{field: v}, then=Value(n)) for n, v in enumerate(values)],
        output_field=IntegerField(),
    )


# The dashboard's columns: kinds in the alphabetical order of their words, statuses in the
# order of the review, priority and the figures with the most pressing first.
SIGNAL_SORTS = {
    "term": SortKey((Lower("term__name"),)),
    "drug": SortKey((Lower("drug__name"),)),
    "kind": SortKey(("kind_rank",)),
    "priority": SortKey(("-priority_rank",), descending_first=True),
    "cases": SortKey(("cases",), descending_first=True),
    "observed": SortKey(("observed_pct",), descending_first=True),
    "p": SortKey(("p_value",)),
    "status": SortKey(("status_rank",)),
    "first_seen": SortKey(("first_detected_at",), descending_first=True),
}


def signal_dashboard(filters: dict[str, str], *, sort: str = "") -> QuerySet[Signal]:
    """Signals for the dashboard: open ones unless a status is asked for, sorted by one of
    SIGNAL_SORTS or else high priority first, then the strongest evidence (an unlisted
    reaction has no expected rate: it comes first)."""
    signals = signal_list()
    if not filters.get("status"):
        signals = signals.exclude(status__in=CLOSED_STATUSES)
    signals = SignalFilter(filters, queryset=signals).qs
    kinds = [value for value, _ in sorted(Kind.choices, key=lambda choice: choice[1])]
    default = ("priority_rank", "-met", F("p_value").asc(nulls_first=True), "-cases", "id")
    return signals.annotate(
        priority_rank=_rank("priority", list(PRIORITY_ORDER)),
        kind_rank=_rank("kind", kinds),
        status_rank=_rank("status", list(ReviewStatus.values)),
    ).order_by(*sort_order(sort, SIGNAL_SORTS, tiebreak=default))


@dataclass
class Counts:
    """Distinct patients: with the reaction, with it at grade >= 3, and with a serious, grade
    >= 3 or fatal case."""

    cases: int = 0
    cases_grade3: int = 0
    severe: int = 0


@dataclass
class Cohort:
    """A drug's treated patients, and the patients with each term and each labelled group."""

    exposed: int
    registered: bool
    terms: dict[int, Counts]
    groups: dict[int, Counts]


def _cohort_sizes(drug_id: int) -> dict[str, int]:
    """Exposures of a drug: all of them, the registered ones, and those registered by a
    counted report. A report registers its patient's exposure when missing, so the cohort is
    the registered exposures and, among those from reports, the ones whose patient has a
    counted reaction (a void report, a confirmed duplicate or words awaiting coding add no
    one)."""
    counted = SuspectReaction.objects.filter(
        drug_id=drug_id, counted=True, patient_id=OuterRef("patient_id")
    )
    return Exposure.objects.filter(drug_id=drug_id).aggregate(
        any=Count("pk"),
        registered=Count("pk", filter=Q(from_report=False)),
        reported=Count("pk", filter=Q(from_report=True) & Q(Exists(counted))),
    )


def cohort_count(drug: Drug, group_ids: Iterable[int]) -> Cohort:
    """The cohort and the cases per term and per labelled group, in three grouped queries."""
    sizes = _cohort_sizes(drug.pk)
    if not sizes["any"]:
        return Cohort(exposed=0, registered=False, terms={}, groups={})
    terms = _per_patient_counts(drug, group_ids=None)
    group_ids = list(group_ids)
    groups = _per_patient_counts(drug, group_ids=group_ids) if group_ids else {}
    return Cohort(
        exposed=sizes["registered"] + sizes["reported"],
        registered=sizes["registered"] > 0,
        terms=terms,
        groups=groups,
    )


@dataclass(frozen=True)
class TreatedPatients:
    """A drug's treated patients as its signals read them (counted by the last detection run
    of the drug) and as they stand now. They differ while reports received since the run, or
    voided or coded since, wait for the next run."""

    now: int
    registered: bool
    at_last_run: int | None
    last_run_at: datetime | None

    @property
    def changed_since_run(self) -> bool:
        return self.at_last_run is not None and self.at_last_run != self.now


def treated_patients_now(drug_id: int) -> int:
    """The drug's treated cohort as it stands, in one query."""
    sizes = _cohort_sizes(drug_id)
    return sizes["registered"] + sizes["reported"]


def treated_patients(drug_id: int) -> TreatedPatients:
    """The one count of treated patients that the drug page and the signal pages show."""
    sizes = _cohort_sizes(drug_id)
    last = (
        DrugRun.objects.filter(drug_id=drug_id, status=RunStatus.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values_list("counts", "finished_at")
        .first()
    )
    counted = (last[0] or {}).get("exposed") if last else None
    return TreatedPatients(
        now=sizes["registered"] + sizes["reported"],
        registered=sizes["registered"] > 0,
        at_last_run=int(counted) if counted is not None else None,
        last_run_at=last[1] if last and counted is not None else None,
    )


def _per_patient_counts(drug: Drug, group_ids: list[int] | None) -> dict[int, Counts]:
    """Distinct patients per term (or per group), with grade >= 3 and with a severe case.

    The counted reactions of the cases that name the drug as a suspect are read from their
    covering index, already in term order, with no join to the reports.
    """
    reactions = SuspectReaction.objects.filter(drug=drug, counted=True)
    key = "term_id"
    if group_ids is not None:
        key = "term__group_links__group_id"
        reactions = reactions.filter(term__group_links__group_id__in=group_ids)
    rows = (
        reactions.values(key)
        .annotate(
            cases=Count("patient_id", distinct=True),
            cases_grade3=Count("patient_id", distinct=True, filter=Q(grade__gte=3)),
            severe=Count(
                "patient_id",
                distinct=True,
                filter=Q(serious=True) | Q(grade__gte=3) | Q(outcome="fatal"),
            ),
        )
        .order_by()
        .values_list(key, "cases", "cases_grade3", "severe")
    )
    return {
        key_id: Counts(cases, cases_grade3, severe) for key_id, cases, cases_grade3, severe in rows
    }


def term_expected(drug: Drug, term: Term) -> Expected:
    """What the drug's current label leads a reader to expect of a term."""
    return expected_for(LabelListing.current(drug), term)


@dataclass
class EntryView:
    """A labelled entry on the drug page: observed in the cohort against expected."""

    term: Term
    band: str
    expected: Expected
    cases: int
    observed_pct: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None

    @property
    def expected_pct(self) -> float | None:
        return self.expected.pct


@dataclass
class UnlistedView:
    """An unlisted signal of the last run on the drug page, with what the label says of the
    group the reaction belongs to, if any."""

    signal: Signal
    expected: Expected


def drug_overview(drug: Drug) -> tuple[Cohort, list[EntryView], list[UnlistedView]]:
    """Every labelled entry observed against expected, and the unlisted signals of the last
    detection run (bleeding sites first). Reads only: no evaluation is run from here."""
    listing = LabelListing.current(drug)
    cohort = cohort_count(drug, listing.groups)
    entries = sorted(
        listing.by_term.values(), key=lambda e: (listed_term(e).soc, listed_term(e).name)
    )
    counts = [
        (cohort.groups if listed_term(e).is_group else cohort.terms)
        .get(listed_term(e).pk, Counts())
        .cases
        for e in entries
    ]
    lows, highs = (
        stats.clopper_pearson(np.array(counts), np.full(len(counts), cohort.exposed))
        if entries and cohort.exposed
        else (np.full(len(counts), np.nan), np.full(len(counts), np.nan))
    )
    views = [
        EntryView(
            term=listed_term(entry),
            band=entry.band or "",
            expected=expected_for(listing, listed_term(entry)),
            cases=n,
            observed_pct=100.0 * n / cohort.exposed if cohort.exposed else None,
            ci_low_pct=None if np.isnan(low) else float(low) * 100,
            ci_high_pct=None if np.isnan(high) else float(high) * 100,
        )
        for entry, n, low, high in zip(entries, counts, lows, highs, strict=True)
    ]
    signals = Signal.objects.filter(drug=drug, kind=Kind.UNLISTED, cases__gt=0).select_related(
        "term"
    )
    unlisted = [UnlistedView(s, expected_for(listing, s.term)) for s in signals]
    bleeding = {member for member in listing.members if listing.site_group(member) is not None}
    unlisted.sort(
        key=lambda u: (u.signal.term_id not in bleeding, -u.signal.cases, u.signal.term.name)
    )
    return cohort, views, unlisted


@dataclass
class IncidenceByMonth:
    """A signal's cumulative incidence at the end of each calendar month, and the cases that
    have no onset date and so no month."""

    figures: list[MonthFigure]
    undated_cases: int
    grade3: bool


def signal_incidence_by_month(
    signal: Signal, *, today: date | None = None, most_months: int = 48
) -> IncidenceByMonth | None:
    """Cumulative incidence of a signal's reaction by calendar month of onset, in the cohort
    detection tests (see cohort_count), with the same exact interval.

    At the end of each month: the patients whose first counted reaction (at grade >= 3 for a
    severity signal) began by then, out of the cohort's patients treated by then. A patient
    counts as treated from the month the treatment started, or from the month of the
    reaction when that came first or no treatment was registered; a treatment with no start
    date counts from the first month. The months run from the first treatment or onset to
    the current month (the last ``most_months`` of them; earlier ones count in the first).
    None when the drug has neither treated patients nor cases.
    """
    today = today or timezone.localdate()
    reactions = SuspectReaction.objects.filter(
        drug_id=signal.drug_id, counted=True, term_id__in=_signal_term_ids(signal)
    )
    grade3 = signal.kind == Kind.SEVERITY
    if grade3:
        reactions = reactions.filter(grade__gte=3)
    first_onsets = dict(
        reactions.values("patient_id")
        .annotate(first=Min("reaction__onset_date"))
        .order_by()
        .values_list("patient_id", "first")
    )
    counted = SuspectReaction.objects.filter(
        drug_id=signal.drug_id, counted=True, patient_id=OuterRef("patient_id")
    )
    cohort = Exposure.objects.filter(drug_id=signal.drug_id).filter(
        Q(from_report=False) | Q(Exists(counted))
    )
    treated: Counter[date | None] = Counter(
        dict(
            cohort.annotate(month=TruncMonth("start_date"))
            .values("month")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("month", "n")
        )
    )
    started = dict(
        cohort.filter(patient_id__in=reactions.values("patient_id")).values_list(
            "patient_id", "start_date"
        )
    )
    cases: Counter[date] = Counter()
    for patient_id, onset in first_onsets.items():
        if onset is None:
            continue
        month = onset.replace(day=1)
        cases[month] += 1
        if patient_id not in started:
            treated[month] += 1
            continue
        start = started[patient_id]
        if start is not None and start > onset:
            treated[start.replace(day=1)] -= 1
            treated[month] += 1
    dated = [m for m, n in treated.items() if m is not None and n > 0] + list(cases)
    if not dated and not treated:
        return None
    first = min(dated, default=today.replace(day=1))
    months = months_between(first, max([*dated, today]))[-most_months:]
    return IncidenceByMonth(
        figures=cumulative_by_month(months, cases, treated),
        undated_cases=sum(1 for onset in first_onsets.values() if onset is None),
        grade3=grade3,
    )


def _signal_term_ids(signal: Signal) -> list[int]:
    """The signal's term, and every member of it when it is a group."""
    terms = [signal.term_id]
    if signal.term.is_group:
        terms += list(
            GroupMembership.objects.filter(group_id=signal.term_id).values_list(
                "member_id", flat=True
            )
        )
    return terms
