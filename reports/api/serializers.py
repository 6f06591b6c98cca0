from typing import Any

from rest_framework import serializers

from reports.choices import (
    Causality,
    Outcome,
    Qualification,
    Route,
    Seriousness,
    Sex,
)
from reports.inputs import (
    FollowUpInput,
    PatientInput,
    ReactionInput,
    ReactionUpdate,
    ReportInput,
)
from reports.models import Exposure, Reaction, Report


class PatientInputSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=40)
    age = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=120)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_blank=True)
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, min_value=0
    )


class ReactionInputSerializer(serializers.Serializer[Any]):
    term = serializers.CharField(max_length=200, help_text="A name, synonym or lay phrase.")
    verbatim = serializers.CharField(max_length=300, required=False, allow_blank=True)
    onset_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    grade = serializers.IntegerField(min_value=1, max_value=5)
    seriousness = serializers.ListField(
        child=serializers.ChoiceField(choices=Seriousness.choices), required=False, max_length=6
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    causality = serializers.ChoiceField(choices=Causality.choices, required=False, allow_blank=True)

    def to_input(self, data: dict[str, Any]) -> ReactionInput:
        return ReactionInput(
            term=data["term"],
            verbatim=data.get("verbatim", ""),
            onset_date=data.get("onset_date"),
            end_date=data.get("end_date"),
            grade=data.get("grade"),
            seriousness=list(data.get("seriousness", [])),
            outcome=data.get("outcome", ""),
            causality=data.get("causality", ""),
        )


class ReportCreateSerializer(serializers.Serializer[Any]):
    patient = PatientInputSerializer()
    drug = serializers.CharField(max_length=200, help_text="A drug slug or name.")
    therapy_start = serializers.DateField(required=False, allow_null=True)
    therapy_end = serializers.DateField(required=False, allow_null=True)
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(choices=Route.choices, required=False, allow_blank=True)
    lot_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    narrative = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    reporter_qualification = serializers.ChoiceField(
        choices=Qualification.choices, required=False, allow_blank=True
    )
    site = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Officers: the site's code."
    )
    reactions = ReactionInputSerializer(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]

    def to_input(self) -> ReportInput:
        data = self.validated_data
        reaction = ReactionInputSerializer()
        return ReportInput(
            patient=PatientInput(**data["patient"]),
            drug=data["drug"],
            therapy_start=data.get("therapy_start"),
            therapy_end=data.get("therapy_end"),
            dose=data.get("dose", ""),
            route=data.get("route", ""),
            lot_number=data.get("lot_number", ""),
            narrative=data.get("narrative", ""),
            reporter_qualification=data.get("reporter_qualification", ""),
            site=data.get("site", ""),
            reactions=[reaction.to_input(r) for r in data["reactions"]],
        )


class ReactionSerializer(serializers.ModelSerializer[Reaction]):
    term = serializers.CharField(source="term.name")
    soc = serializers.CharField(source="term.soc")
    listed_by = serializers.SerializerMethodField(
        help_text="The label entry that makes the reaction listed; null when unlisted."
    )

    class Meta:
        model = Reaction
        fields = [
            "id",
            "term",
            "soc",
            "verbatim",
            "onset_date",
            "end_date",
            "grade",
            "seriousness",
            "serious",
            "outcome",
            "causality",
            "listedness",
            "listed_by",
            "listedness_note",
            "added_in_version",
        ]

    def get_listed_by(self, reaction: Reaction) -> str | None:
        return reaction.listed_by.term.name if reaction.listed_by else None


class PatientSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class ReportSerializer(serializers.ModelSerializer[Report]):
    site = serializers.CharField(source="site.code")
    reporter = serializers.CharField(source="reporter.username")
    patient = PatientSerializer()
    drug = serializers.CharField(source="drug.slug")
    drug_name = serializers.CharField(source="drug.name")
    label_version = serializers.IntegerField(source="label.version", allow_null=True)
    duplicate_of = serializers.CharField(source="duplicate_of.reference", allow_null=True)
    reactions = ReactionSerializer(many=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "reference",
            "received_at",
            "source",
            "site",
            "reporter",
            "reporter_qualification",
            "patient",
            "drug",
            "drug_name",
            "therapy_start",
            "therapy_end",
            "dose",
            "route",
            "lot_number",
            "narrative",
            "label_version",
            "expedited",
            "expedited_due",
            "warnings",
            "version",
            "is_void",
            "void_reason",
            "duplicate_status",
            "duplicate_of",
            "reactions",
        ]


class ReactionUpdateSerializer(serializers.Serializer[Any]):
    reaction_id = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    end_date = serializers.DateField(required=False, allow_null=True)


class FollowUpSerializer(serializers.Serializer[Any]):
    updates = ReactionUpdateSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]
    new_reactions = ReactionInputSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]
    narrative = serializers.CharField(max_length=20000, required=False, allow_blank=True)

    def to_input(self) -> FollowUpInput:
        data = self.validated_data
        reaction = ReactionInputSerializer()
        return FollowUpInput(
            updates=[ReactionUpdate(**u) for u in data.get("updates", [])],
            new_reactions=[reaction.to_input(r) for r in data.get("new_reactions", [])],
            narrative=data.get("narrative", ""),
        )


class VoidSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class DuplicateDecisionSerializer(serializers.Serializer[Any]):
    duplicate = serializers.BooleanField(help_text="true: a duplicate; false: a separate case.")
    comment = serializers.CharField(max_length=2000)


class ExposureInputSerializer(serializers.Serializer[Any]):
    patient = serializers.CharField(max_length=40)
    drug = serializers.CharField(max_length=200)
    start_date = serializers.DateField(required=False, allow_null=True)
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(choices=Route.choices, required=False, allow_blank=True)
    lot_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    site = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ExposureSerializer(serializers.ModelSerializer[Exposure]):
    patient = serializers.CharField(source="patient.reference")
    site = serializers.CharField(source="patient.site.code")
    drug = serializers.CharField(source="drug.slug")

    class Meta:
        model = Exposure
        fields = ["id", "patient", "site", "drug", "start_date", "dose", "route", "lot_number"]
