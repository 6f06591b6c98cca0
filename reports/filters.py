"""The report list's filters, one set for the API (/api/v1/reports/) and the report list page."""

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from core.filters import BooleanFilter
from reference.selectors import drug_find, term_code
from reports.choices import Coding, DuplicateStatus, Listedness
from reports.models import Reaction, Report


class ReportFilter(django_filters.FilterSet):
    drug = django_filters.CharFilter(
        method="filter_drug", help_text="a drug's slug, name or brand name"
    )
    term = django_filters.CharFilter(method="filter_term", help_text="any name of a reaction term")
    serious = BooleanFilter(method="filter_serious")
    listedness = django_filters.ChoiceFilter(choices=Listedness.choices, method="filter_listedness")
    expedited = BooleanFilter()
    awaiting_coding = BooleanFilter(
        label="Awaiting coding",
        method="filter_awaiting_coding",
        help_text="true: reports with a reaction whose words await coding by an officer",
    )
    void = BooleanFilter(field_name="is_void")
    duplicate_status = django_filters.ChoiceFilter(choices=DuplicateStatus.choices[1:])
    patient = django_filters.CharFilter(field_name="patient__reference")
    received_after = django_filters.DateFilter(field_name="received_at", lookup_expr="date__gte")
    received_before = django_filters.DateFilter(field_name="received_at", lookup_expr="date__lte")

    class Meta:
        model = Report
        fields = ["drug", "term", "serious", "listedness", "expedited"]

    def filter_drug(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        drug = drug_find(value)
        return queryset.none() if drug is None else queryset.filter(drug=drug)

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
