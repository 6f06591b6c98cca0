from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from surveillance.choices import Kind, Priority, RecommendedAction, ReviewStatus, RunStatus
from surveillance.models import DetectionRun, Signal


class MoveSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    comment = serializers.CharField(max_length=5000)
    recommended_action = serializers.ChoiceField(
        choices=RecommendedAction.choices, required=False, allow_blank=True
    )


class RunRequestSerializer(serializers.Serializer[Any]):
    drug = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="A drug's slug, name or brand name; empty for every drug.",
    )


class RunSerializer(serializers.Serializer[DetectionRun]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    trigger = serializers.CharField()
    drug = serializers.CharField(source="drug.slug", allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    drugs_total = serializers.IntegerField()
    drugs_done = serializers.IntegerField()
    progress = serializers.FloatField()
    counts = serializers.DictField()
    notes = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField()


class DisproportionalitySerializer(serializers.Serializer[Any]):
    """A disproportionality signal's 2x2 table of unique spontaneous reports and its four
    statistics (null where a zero cell leaves one undefined)."""

    a = serializers.IntegerField(help_text="Reports with the drug and the event.")
    b = serializers.IntegerField(help_text="Reports with the drug, without the event.")
    c = serializers.IntegerField(help_text="Reports with the event, without the drug.")
    d = serializers.IntegerField(help_text="Reports with neither.")
    expected = serializers.FloatField(allow_null=True, help_text="(a+b)(a+c)/N.")
    expected_stratified = serializers.FloatField(
        allow_null=True,
        required=False,
        default=None,
        help_text="E summed over the strata, which MGPS uses when the database is stratified.",
    )
    prr = serializers.FloatField(allow_null=True)
    prr_low = serializers.FloatField(allow_null=True)
    prr_high = serializers.FloatField(allow_null=True)
    chi2_yates = serializers.FloatField(allow_null=True)
    ror = serializers.FloatField(allow_null=True)
    ror_low = serializers.FloatField(allow_null=True)
    ror_high = serializers.FloatField(allow_null=True)
    ic = serializers.FloatField(allow_null=True)
    ic025 = serializers.FloatField(allow_null=True)
    ic975 = serializers.FloatField(allow_null=True)
    ebgm = serializers.FloatField(allow_null=True)
    eb05 = serializers.FloatField(allow_null=True)
    eb95 = serializers.FloatField(allow_null=True)
    rule = serializers.ChoiceField(
        choices=["mgps", "prr", "ror", "ic"], help_text="The rule the signal was judged by."
    )


class NumbersSerializer(serializers.Serializer[Any]):
    """The figures of a signal, the same at each evaluation."""

    met = serializers.BooleanField()
    cases = serializers.IntegerField()
    exposed = serializers.IntegerField(source="denominator")
    observed_pct = serializers.FloatField(allow_null=True)
    ci_low_pct = serializers.FloatField(allow_null=True)
    ci_high_pct = serializers.FloatField(allow_null=True)
    expected_pct = serializers.FloatField(source="comparator_pct", allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    q_value = serializers.FloatField(allow_null=True)
    disproportionality = serializers.SerializerMethodField(
        help_text="Disproportionality signals only: the 2x2 table and the four statistics."
    )

    @extend_schema_field(DisproportionalitySerializer(allow_null=True))
    def get_disproportionality(self, instance: Any) -> dict[str, Any] | None:
        if not instance.statistics:
            return None
        return dict(DisproportionalitySerializer(instance.statistics).data)


class EvaluationSerializer(NumbersSerializer):
    run = serializers.IntegerField(source="run_id")
    evaluated_at = serializers.DateTimeField()


class SignalSerializer(NumbersSerializer):
    id = serializers.IntegerField()
    drug = serializers.CharField(source="drug.slug")
    term = serializers.CharField(source="term.name")
    soc = serializers.CharField(source="term.soc")
    is_group = serializers.BooleanField(source="term.is_group")
    kind = serializers.ChoiceField(choices=Kind.choices)
    # A field named like Field.source, which DRF takes from the declared fields.
    source = serializers.CharField(  # type: ignore[assignment]
        source="source.name",
        allow_null=True,
        default=None,
        help_text="Disproportionality signals: the database of spontaneous reports "
        "(FAERS, or the source named at a CSV import); null for the other kinds.",
    )
    band = serializers.CharField(allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices)
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    summary = serializers.CharField()
    recommended_action = serializers.CharField()
    first_detected_at = serializers.DateTimeField()
    last_evaluated_at = serializers.DateTimeField()

    def to_representation(self, instance: Signal) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["band"] = data["band"] or None
        return data


class CaseSerializer(serializers.Serializer[Any]):
    report = serializers.CharField(source="report.reference")
    report_id = serializers.IntegerField()
    patient = serializers.CharField(source="report.patient.reference")
    term = serializers.CharField(source="term.name")
    onset_date = serializers.DateField(allow_null=True)
    grade = serializers.IntegerField()
    serious = serializers.BooleanField()
    outcome = serializers.CharField()
    duplicate_status = serializers.CharField(source="report.duplicate_status")


class SignalDetailSerializer(SignalSerializer):
    """A signal with its cases, which the view fetches and passes as context["cases"]."""

    evaluations = EvaluationSerializer(many=True)
    cases_list = serializers.SerializerMethodField()

    def get_cases_list(self, signal: Signal) -> list[dict[str, Any]]:
        return list(CaseSerializer(self.context["cases"], many=True).data)
