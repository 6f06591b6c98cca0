"""The report list's filters, one set for the API (/api/v1/reports/) and the report list page."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.filters import BooleanFilter
from reference.selectors import drug_find, term_code
from reports.choices import Coding, DrugRole, DuplicateStatus, Listedness
from reports.models import Reaction, Report, ReportDrug

# The browser's date picker sends YYYY-MM-DD; the value is written back the same way.
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportFilter(django_filters.FilterSet):
    """Every filter is labelled as the report list shows it; a value a filter cannot read
    (a date such as 2026-13-45) makes the set invalid: the page shows the field's error and
    the API answers 400, never the unfiltered list."""

    drug = django_filters.CharFilter(
        label="Drug (name, brand or slug)",
        method="filter_drug",
        help_text="a drug's slug, name or brand name: the reports naming it as a suspect",
    )
    term = django_filters.CharFilter(
        label="Reaction", method="filter_term", help_text="any name of a reaction term"
    )
    serious = BooleanFilter(label="Serious", method="filter_serious")
    listedness = django_filters.ChoiceFilter(
        label="On the label",
        choices=Listedness.choices,
        empty_label="Any",
        method="filter_listedness",
    )
    expedited = BooleanFilter(label="Expedited")
    awaiting_coding = BooleanFilter(
        label="Awaiting coding",
        method="filter_awaiting_coding",
        help_text="true: reports with a reaction whose words await coding by an officer",
    )
    void = BooleanFilter(label="Void", field_name="is_void")
    duplicate_status = django_filters.ChoiceFilter(
        label="Duplicate", choices=DuplicateStatus.choices[1:], empty_label="Any"
    )
    patient = django_filters.CharFilter(label="Patient reference", field_name="patient__reference")
    received_after = django_filters.DateFilter(
        label="Received from",
        field_name="received_at",
        lookup_expr="date__gte",
        widget=DATE_INPUT,
        help_text="received on or after this day (YYYY-MM-DD)",
    )
    received_before = django_filters.DateFilter(
        label="Received until",
        field_name="received_at",
        lookup_expr="date__lte",
        widget=DATE_INPUT,
        help_text="received on or before this day (YYYY-MM-DD)",
    )

    class Meta:
        model = Report
        fields = ["drug", "term", "serious", "listedness", "expedited"]

    def filter_drug(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        drug = drug_find(value)
        if drug is None:
            return queryset.none()
        further = ReportDrug.objects.filter(report=OuterRef("pk"), drug=drug, role=DrugRole.SUSPECT)
        return queryset.filter(Q(drug=drug) | Q(Exists(further)))

    def filter_term(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        terms = term_code(value)
        if not terms:
            return queryset.none()
        return queryset.filter(reactions__term__in=terms).distinct()

    def filter_serious(
        self, queryset: QuerySet[Report], name: str, value: bool
    ) -> QuerySet[Report]:
        if value:
            return queryset.filter(reactions__serious=True).distinct()
        return queryset.exclude(reactions__serious=True)

    def filter_awaiting_coding(
        self, queryset: QuerySet[Report], name: str, value: bool
    ) -> QuerySet[Report]:
        pending = Reaction.objects.filter(report=OuterRef("pk"), coding=Coding.PENDING)
        return queryset.filter(Exists(pending)) if value else queryset.exclude(Exists(pending))

    def filter_listedness(
        self, queryset: QuerySet[Report], name: str, value: str
    ) -> QuerySet[Report]:
        return queryset.filter(reactions__listedness=value).distinct()
