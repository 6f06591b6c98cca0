from decimal import Decimal

from rest_framework import serializers

from reference.models import Drug, Label, LabelEntry
from reference.search import Match, Tier


class DrugSerializer(serializers.ModelSerializer[Drug]):
    brand_names = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Drug
        fields = ["slug", "name", "brand_names"]


class LabelEntrySerializer(serializers.ModelSerializer[LabelEntry]):
    term = serializers.CharField(
        source="term.name",
        allow_null=True,
        help_text="The coded term; null for consumer wording that awaits coding.",
    )
    soc = serializers.CharField(source="term.soc", allow_null=True)
    is_group = serializers.BooleanField(source="term.is_group", default=False)
    covers_members = serializers.BooleanField(
        source="term.covers_members",
        default=False,
        help_text="For a group entry: whether the label lists each member of the group.",
    )
    awaits_coding = serializers.SerializerMethodField(
        help_text=(
            "Consumer wording that no term codes yet: it lists nothing until a safety "
            "officer codes it."
        )
    )
    incidence_pct = serializers.FloatField(allow_null=True)
    grade3_pct = serializers.FloatField(allow_null=True)
    covers = serializers.SerializerMethodField()
    expected_pct = serializers.SerializerMethodField(
        help_text="The incidence, or the band's upper bound where the label gives no number."
    )

    class Meta:
        model = LabelEntry
        fields = [
            "term",
            "soc",
            "section",
            "band",
            "incidence_pct",
            "grade3_pct",
            "is_group",
            "covers",
            "covers_members",
            "verbatim",
            "expected_pct",
            "awaits_coding",
        ]

    def get_awaits_coding(self, entry: LabelEntry) -> bool:
        return entry.term_id is None

    def get_covers(self, entry: LabelEntry) -> list[str]:
        return sorted(t.name for t in entry.covers.all())

    def get_expected_pct(self, entry: LabelEntry) -> float | None:
        value: Decimal | None = entry.incidence_pct
        if value is None:
            value = entry.band_upper_pct
        return float(value) if value is not None else None


class LabelSerializer(serializers.ModelSerializer[Label]):
    drug = serializers.CharField(source="drug.slug")
    drug_name = serializers.CharField(source="drug.name")
    reactions = LabelEntrySerializer(source="entries", many=True)

    class Meta:
        model = Label
        fields = ["drug", "drug_name", "source", "version", "effective_date", "reactions"]


class TermMatchSerializer(serializers.Serializer[object]):
    name = serializers.CharField()
    soc = serializers.CharField()
    matched = serializers.CharField(help_text="The name, synonym or lay phrase that matched.")
    match_kind = serializers.CharField(
        source="kind", help_text="What matched: the term's name, a synonym or a lay phrase."
    )
    match_type = serializers.SerializerMethodField(
        help_text=(
            "How it matched: exact, coded (the coder read the words as this term: an event"
            " at a body site, everyday words in any order, a typo), whole_words, prefix,"
            " word_prefix, contains, close_spelling, or some_words (what some of the words"
            " say, when the coder cannot read them all)."
        )
    )
    is_group = serializers.BooleanField()

    def get_match_type(self, match: Match) -> str:
        return MATCH_TYPES[match.tier]


MATCH_TYPES = {
    Tier.EXACT_NAME: "exact",
    Tier.EXACT_SYNONYM: "exact",
    Tier.EXACT_LAY: "exact",
    Tier.CODED: "coded",
    Tier.WHOLE_WORDS: "whole_words",
    Tier.PREFIX: "prefix",
    Tier.WORD_PREFIX: "word_prefix",
    Tier.CONTAINS: "contains",
    Tier.FUZZY: "close_spelling",
    Tier.SOME_WORDS: "some_words",
}


class TermQuerySerializer(serializers.Serializer[object]):
    q = serializers.CharField(max_length=200, trim_whitespace=True)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
