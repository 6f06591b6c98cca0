"""The signal list's filters, one set for the API (/api/v1/signals/) and the signal dashboard."""

import django_filters
from django.db.models import QuerySet

from core.filters import BooleanFilter
from reference.selectors import drug_find, term_code
from spontaneous.models import Source

from .choices import Kind, Priority, ReviewStatus
from .models import Signal


class SignalFilter(django_filters.FilterSet):
    drug = django_filters.CharFilter(
        method="filter_drug", help_text="a drug's slug, name or brand name"
    )
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    status = django_filters.ChoiceFilter(choices=ReviewStatus.choices)
    term = django_filters.CharFilter(method="filter_term")
    met = BooleanFilter()
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.all(),
        to_field_name="slug",
        help_text="a source of spontaneous reports by its slug (faers): the disproportionality "
        "signals raised in it",
    )

    class Meta:
        model = Signal
        fields = ["drug", "kind", "status", "term", "met", "priority", "source"]

    def filter_drug(self, queryset: QuerySet[Signal], name: str, value: str) -> QuerySet[Signal]:
        drug = drug_find(value)
        return queryset.none() if drug is None else queryset.filter(drug=drug)

    def filter_term(self, queryset: QuerySet[Signal], name: str, value: str) -> QuerySet[Signal]:
        return queryset.filter(term__in=term_code(value))
