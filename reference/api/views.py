from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reference.listedness import LabelListing, listed_term
from reference.models import Drug, Term
from reference.selectors import (
    ctcae_criteria,
    ctcae_criteria_loaded,
    drug_list,
    label_current,
    term_autocode,
    term_code,
    term_search,
)

from .serializers import (
    DrugSerializer,
    LabelSerializer,
    TermMatchSerializer,
    TermQuerySerializer,
)


class DrugViewSet(viewsets.ReadOnlyModelViewSet[Drug]):
    """Drugs with a label in the product."""

    serializer_class = DrugSerializer
    lookup_field = "slug"

    def get_queryset(self) -> Any:
        return drug_list()

    @extend_schema(responses=LabelSerializer)
    @action(detail=True, methods=["get"])
    def label(self, request: Request, slug: str | None = None) -> Response:
        """The drug's current label: every entry with its band and incidences."""
        drug = get_object_or_404(Drug, slug=slug)
        label = label_current(drug=drug)
        if label is None:
            raise NotFound(f"{drug.name} has no label yet.")
        return Response(LabelSerializer(label).data)


class TermSearchView(APIView):
    """Best matches for a name, synonym or lay phrase: exact names first, then synonyms,
    then partial matches, then close spellings."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="text to match"),
            OpenApiParameter("limit", int, required=False, description="1-50, default 10"),
        ],
        responses=TermMatchSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = TermQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        matches = term_search(q=query.validated_data["q"], limit=query.validated_data["limit"])
        return Response(TermMatchSerializer(matches, many=True).data)


class ListednessQuerySerializer(serializers.Serializer[object]):
    term = serializers.CharField(max_length=200)


class ListednessSerializer(serializers.Serializer[object]):
    term = serializers.CharField()
    listedness = serializers.ChoiceField(choices=["listed", "unlisted"])
    entry = serializers.CharField(allow_null=True, help_text="The label entry that lists it.")
    explanation = serializers.CharField()
    label_version = serializers.IntegerField(allow_null=True)
    coding_note = serializers.CharField(
        help_text="When the text is everyday words rather than a name: what the coder made "
        "of them; empty otherwise."
    )
    is_group = serializers.BooleanField(
        help_text="The term is a group: a report needs one of its members, never the group."
    )
    members = serializers.ListField(
        child=serializers.CharField(),
        help_text="For a group: its members, those the label names first (at most 12).",
    )


class CriteriaSerializer(serializers.Serializer[object]):
    term = serializers.CharField()
    ctcae_term = serializers.CharField(allow_null=True)
    grades = serializers.DictField(child=serializers.CharField(allow_blank=True))
    missing = serializers.CharField(
        allow_null=True, help_text="Why no criteria are shown, when there are none."
    )


CRITERIA_NOT_LOADED = (
    "CTCAE grade criteria are not loaded here: NCI publishes them, and an administrator "
    "loads its CTCAE v5.0 file with import_ctcae."
)


def _coded_term(text: str) -> tuple[Term, str]:
    """The term a text names, or the one the coder gives everyday words, with the coder's note
    (empty for a name); a 400 with the closest terms when neither codes it."""
    terms = term_code(text)
    if terms:
        return terms[0], ""
    coded = term_autocode(text)
    if coded is not None:
        note = coded.note or f"Coded from the words as {coded.name}."
        return Term.objects.get(pk=coded.term_id), note
    close = ", ".join(m.name for m in term_search(q=text, limit=5))
    raise ValidationError({"term": [f"Unknown term {text!r}. Closest terms: {close}."]})


@extend_schema(
    parameters=[OpenApiParameter("term", str, required=True)],
    responses=ListednessSerializer,
)
@api_view(["GET"])
def drug_listedness(request: Request, slug: str) -> Response:
    """Whether a reaction is listed on the drug's current label, and by which entry."""
    drug = get_object_or_404(Drug, slug=slug)
    query = ListednessQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    term, note = _coded_term(query.validated_data["term"])
    listing = LabelListing.current(drug)
    result = listing.assess(term)
    members: list[str] = []
    if term.is_group:
        found = sorted(term.members.all(), key=lambda m: (m.pk not in listing.by_term, m.name))
        members = [m.name for m in found[:12]]
    return Response(
        ListednessSerializer(
            {
                "term": term.name,
                "listedness": result.value,
                "entry": listed_term(result.entry).name if result.entry else None,
                "explanation": result.explain(term, drug),
                "label_version": listing.label.version if listing.label else None,
                "coding_note": note,
                "is_group": term.is_group,
                "members": members,
            }
        ).data
    )


@extend_schema(
    parameters=[OpenApiParameter("term", str, required=True)],
    responses=CriteriaSerializer,
)
@api_view(["GET"])
def term_criteria(request: Request) -> Response:
    """The CTCAE grade 1-5 criteria of a term, when they have been imported."""
    query = ListednessQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    term, _ = _coded_term(query.validated_data["term"])
    criteria = ctcae_criteria(term=term)
    grades = {str(g): text for g, text in criteria.grades()} if criteria else {}
    missing = None
    if criteria is None:
        missing = (
            f"CTCAE v5.0 gives no grade criteria for {term.name}."
            if ctcae_criteria_loaded()
            else CRITERIA_NOT_LOADED
        )
    return Response(
        CriteriaSerializer(
            {
                "term": term.name,
                "ctcae_term": criteria.ctcae_term if criteria else None,
                "grades": grades,
                "missing": missing,
            }
        ).data
    )
