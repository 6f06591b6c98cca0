from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reference.structured import StrictCharField
from reports.choices import (
    Causality,
    Coding,
    Listedness,
    Outcome,
    Qualification,
    Route,
    Seriousness,
    Sex,
)
from reports.inputs import (
    DrugInput,
    FollowUpInput,
    PatientInput,
    ReactionInput,
    ReactionUpdate,
    ReportInput,
)
from reports.models import (
    NARRATIVE_MAX_LENGTH,
    Exposure,
    Reaction,
    Report,
    ReportDrug,
    SuspectReaction,
)
from reports.services import ExposureRow


class PatientInputSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=40)
    age = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=120)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_blank=True)
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, min_value=0
    )


class ReactionInputSerializer(serializers.Serializer[Any]):
    term = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="A term's name, synonym or lay phrase; it must name a term. Give it, the "
        "reporter's words (verbatim), or both.",
    )
    verbatim = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text="The reporter's own words. Without a term they are coded automatically; "
        'words the coder cannot code with confidence are accepted with "coding": "pending" '
        "and wait for a safety officer.",
    )
    onset_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    grade = serializers.IntegerField(min_value=1, max_value=5)
    seriousness = serializers.ListField(
        child=serializers.ChoiceField(choices=Seriousness.choices), required=False, max_length=6
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    causality = serializers.ChoiceField(choices=Causality.choices, required=False, allow_blank=True)

    def to_input(self, data: dict[str, Any]) -> ReactionInput:
        return ReactionInput.from_cleaned(data)


class DrugInputSerializer(serializers.Serializer[Any]):
    drug = serializers.CharField(
        max_length=200,
        help_text="A formulary drug's slug, name or brand name, or any other name: a drug "
        "outside the formulary is kept by the name given.",
    )
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(choices=Route.choices, required=False, allow_blank=True)
    therapy_start = serializers.DateField(required=False, allow_null=True)
    therapy_end = serializers.DateField(required=False, allow_null=True)
    lot_number = serializers.CharField(max_length=50, required=False, allow_blank=True)


@extend_schema_field(DrugInputSerializer)
class DrugItemField(serializers.Field):  # type: ignore[type-arg]
    """A drug of the case: an object as DrugInputSerializer reads it, or just its name."""

    default_error_messages = {"invalid": "Give the drug's name, or an object with its drug."}

    def to_internal_value(self, data: Any) -> DrugInput:
        if isinstance(data, str):
            data = {"drug": data}
        if not isinstance(data, dict):
            self.fail("invalid")
        item = DrugInputSerializer(data=data)
        if not item.is_valid():
            raise serializers.ValidationError(item.errors)
        return DrugInput.from_cleaned(item.validated_data)

    def to_representation(self, value: Any) -> Any:
        return value


def drug_list_field(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=DrugItemField(), required=False, max_length=20, help_text=help_text
    )


class ReportCreateSerializer(serializers.Serializer[Any]):
    patient = PatientInputSerializer()
    drug = serializers.CharField(max_length=200, help_text="A drug's slug, name or brand name.")
    therapy_start = serializers.DateField(required=False, allow_null=True)
    therapy_end = serializers.DateField(required=False, allow_null=True)
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(choices=Route.choices, required=False, allow_blank=True)
    lot_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    narrative = serializers.CharField(
        max_length=NARRATIVE_MAX_LENGTH, required=False, allow_blank=True
    )
    reporter_qualification = serializers.ChoiceField(
        choices=Qualification.choices, required=False, allow_blank=True
    )
    site = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Officers: the site's code."
    )
    reactions = ReactionInputSerializer(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]
    other_suspect_drugs = drug_list_field(
        "Suspect drugs of the case beside drug: each a name (slug, name or brand name) or an "
        "object with its dose, route, therapy dates and lot. Each reaction is judged against "
        "the label of every suspect in the formulary; one outside it is kept by name."
    )
    concomitant_drugs = drug_list_field(
        "Drugs the patient was also taking, not suspected: names or objects, kept by name."
    )

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
            other_suspect_drugs=list(data.get("other_suspect_drugs", [])),
            concomitant_drugs=list(data.get("concomitant_drugs", [])),
        )


class SuspectListednessSerializer(serializers.Serializer[SuspectReaction]):
    drug = serializers.CharField(source="drug.slug")
    listedness = serializers.CharField(help_text="listed or unlisted, for this drug.")
    listed_by = serializers.CharField(source="listed_by.term.name", allow_null=True)
    listedness_note = serializers.CharField()


class ReportDrugSerializer(serializers.Serializer[ReportDrug]):
    name = serializers.CharField(help_text="The drug as reported.")
    role = serializers.CharField(
        help_text="suspect, interacting (listed with the suspects), concomitant or not_given "
        "(a drug of a blinded study the patient was not given; listed with the concomitants)."
    )
    drug = serializers.CharField(
        source="drug.slug", allow_null=True, help_text="The formulary drug; null outside it."
    )
    dose = serializers.CharField()
    route = serializers.CharField()
    therapy_start = serializers.DateField(allow_null=True)
    therapy_end = serializers.DateField(allow_null=True)
    lot_number = serializers.CharField()


# The answers are plain serializers with their fields spelt out: a ModelSerializer
# rebuilds its fields from the model on every request, which costs more than the
# rest of the answer.
class ReactionSerializer(serializers.Serializer[Reaction]):
    id = serializers.IntegerField()
    term = serializers.CharField(
        source="term.name", allow_null=True, help_text="null while the words await coding."
    )
    soc = serializers.CharField(source="term.soc", allow_null=True)
    verbatim = serializers.CharField()
    coding = serializers.ChoiceField(
        choices=Coding.choices,
        help_text="auto: coded from the term or the words given; officer: coded "
        "by a safety officer; pending: awaiting an officer (no term, no listedness).",
    )
    coding_note = serializers.CharField(help_text="What the coder said of its choice.")
    onset_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    grade = serializers.IntegerField()
    seriousness = serializers.ListField(child=serializers.CharField())
    serious = serializers.BooleanField()
    outcome = serializers.CharField()
    causality = serializers.CharField()
    listedness = serializers.ChoiceField(
        choices=Listedness.choices, allow_null=True, help_text="null while awaiting coding."
    )
    listed_by = serializers.CharField(
        source="listed_by.term.name",
        allow_null=True,
        help_text="The label entry that makes the reaction listed; null when unlisted.",
    )
    listedness_note = serializers.CharField()
    added_in_version = serializers.IntegerField()
    listedness_by_drug = serializers.SerializerMethodField(
        help_text="The reaction's listedness for each formulary suspect drug of the case; the "
        "reaction is unlisted for the case when it is unlisted for any of them."
    )

    @extend_schema_field(SuspectListednessSerializer(many=True))
    def get_listedness_by_drug(self, reaction: Reaction) -> list[Any]:
        return [
            SuspectListednessSerializer(row).data
            for row in reaction.per_drug.all()
            if row.listedness is not None
        ]


class PatientSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class ReportSerializer(serializers.Serializer[Report]):
    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="The case number, AE-YYYY-NNNNNN.")
    received_at = serializers.DateTimeField()
    source = serializers.CharField()  # type: ignore[assignment]
    site = serializers.CharField(source="site.code")
    reporter = serializers.CharField(source="reporter.username")
    reporter_qualification = serializers.CharField()
    patient = PatientSerializer()
    drug = serializers.CharField(source="drug.slug")
    drug_name = serializers.CharField(source="drug.name")
    therapy_start = serializers.DateField(allow_null=True)
    therapy_end = serializers.DateField(allow_null=True)
    dose = serializers.CharField()
    route = serializers.CharField()
    lot_number = serializers.CharField()
    narrative = serializers.CharField()
    label_version = serializers.IntegerField(source="label.version", allow_null=True)
    expedited = serializers.BooleanField()
    expedited_due = serializers.DateField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField()
    is_void = serializers.BooleanField()
    void_reason = serializers.CharField()
    duplicate_status = serializers.CharField()
    duplicate_of = serializers.CharField(source="duplicate_of.reference", allow_null=True)
    reactions = ReactionSerializer(many=True)
    other_suspect_drugs = serializers.SerializerMethodField(
        help_text="Suspect drugs beside drug, in the order given."
    )
    concomitant_drugs = serializers.SerializerMethodField()

    @extend_schema_field(ReportDrugSerializer(many=True))
    def get_other_suspect_drugs(self, report: Report) -> Any:
        return [ReportDrugSerializer(d).data for d in report.other_drugs.all() if d.suspected]

    @extend_schema_field(ReportDrugSerializer(many=True))
    def get_concomitant_drugs(self, report: Report) -> Any:
        return [ReportDrugSerializer(d).data for d in report.other_drugs.all() if not d.suspected]


class ReactionUpdateSerializer(serializers.Serializer[Any]):
    reaction_id = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    end_date = serializers.DateField(required=False, allow_null=True)


class FollowUpSerializer(serializers.Serializer[Any]):
    updates = ReactionUpdateSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]
    new_reactions = ReactionInputSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]
    narrative = serializers.CharField(
        max_length=NARRATIVE_MAX_LENGTH, required=False, allow_blank=True
    )
    new_suspect_drugs = drug_list_field(
        "Suspect drugs learned since: every reaction of the case is judged against the label "
        "of each one in the formulary."
    )

    def to_input(self) -> FollowUpInput:
        data = self.validated_data
        reaction = ReactionInputSerializer()
        return FollowUpInput(
            updates=[ReactionUpdate(**u) for u in data.get("updates", [])],
            new_reactions=[reaction.to_input(r) for r in data.get("new_reactions", [])],
            narrative=data.get("narrative", ""),
            new_suspect_drugs=list(data.get("new_suspect_drugs", [])),
        )


class VoidSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=2000)


class DuplicateDecisionSerializer(serializers.Serializer[Any]):
    duplicate = serializers.BooleanField(help_text="true: a duplicate; false: a separate case.")
    comment = serializers.CharField(max_length=2000)


class ExposureInputSerializer(serializers.Serializer[Any]):
    """One exposure to register, from the API or a row of the web page's CSV upload: both
    doors validate rows with this serializer, so a row gets the same messages at either."""

    patient = serializers.CharField(max_length=40)
    drug = serializers.CharField(max_length=200, help_text="A drug's slug, name or brand name.")
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(
        required=False, allow_null=True, help_text="When the treatment ended, if it has."
    )
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(
        choices=Route.choices,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": f"Route must be one of {', '.join(Route.values)}."},
    )
    lot_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    site = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @staticmethod
    def to_input(data: dict[str, Any]) -> ExposureRow:
        return ExposureRow(
            patient=data["patient"],
            drug=data["drug"],
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            dose=data.get("dose", ""),
            route=data.get("route", ""),
            lot_number=data.get("lot_number", ""),
            site=data.get("site", ""),
        )


class ExposureSerializer(serializers.Serializer[Exposure]):
    id = serializers.IntegerField()
    patient = serializers.CharField(source="patient.reference")
    site = serializers.CharField(source="patient.site.code")
    drug = serializers.CharField(source="drug.slug")
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    dose = serializers.CharField()
    route = serializers.CharField()
    lot_number = serializers.CharField()


class RecodeSerializer(serializers.Serializer[Any]):
    reaction_id = serializers.IntegerField()
    term = serializers.CharField(max_length=200, help_text="A term's name, synonym or lay phrase.")
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True)


class TermSuggestionSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    soc = serializers.CharField()
    matched = serializers.CharField(help_text="The name, synonym or phrase that matched.")


class PendingWordsSerializer(serializers.Serializer[Any]):
    verbatim = serializers.CharField(help_text="The words, as most often written.")
    key = serializers.CharField(help_text="The words normalised: what groups them.")
    writings = serializers.ListField(child=serializers.CharField())
    reactions = serializers.IntegerField(help_text="Reactions awaiting coding with these words.")
    serious = serializers.IntegerField(help_text="How many of them are serious.")
    drugs = serializers.ListField(child=serializers.CharField())
    reports = serializers.ListField(child=serializers.CharField(), help_text="Case numbers.")
    first_received = serializers.DateTimeField(
        allow_null=True, help_text="When the first report saying them came; null for label wording."
    )
    label_drugs = serializers.ListField(
        child=serializers.CharField(),
        help_text="Drugs whose current label says these words in its consumer section.",
    )
    suggestions = TermSuggestionSerializer(many=True)


class CodingDecisionSerializer(serializers.Serializer[Any]):
    verbatim = serializers.CharField(
        max_length=300, help_text="The words to code (case, spacing and spelling aside)."
    )
    term = serializers.CharField(max_length=200, help_text="A term's name, synonym or lay phrase.")


class CodingResultSerializer(serializers.Serializer[Any]):
    term = serializers.CharField(source="term.name")
    reactions = serializers.IntegerField(source="reaction_count")
    reports = serializers.ListField(child=serializers.CharField(), source="report_references")
    label_entries = serializers.IntegerField(
        source="label_entry_count", help_text="Label consumer wording coded with them."
    )
    learned = serializers.CharField(
        source="learned.text",
        allow_null=True,
        help_text="The name the terminology learned; null when the term had it already.",
    )
