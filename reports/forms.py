from typing import Any

from django import forms
from django.conf import settings
from django.forms import formset_factory

from accounts.models import Site, User, is_officer
from reference.choices import NameKind
from reference.models import Drug
from reference.selectors import term_index

from .choices import Causality, Outcome, Qualification, Route, Seriousness, Sex
from .inputs import (
    DrugInput,
    FollowUpInput,
    PatientInput,
    ReactionInput,
    ReactionUpdate,
    ReportInput,
)
from .models import NARRATIVE_MAX_LENGTH, Reaction

# A date input reads and writes YYYY-MM-DD only: a value rendered in the locale's format
# (12/11/2026) shows as blank, and the stored date would be lost on the next save.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
GRADES = [("", "Choose…")] + [(str(g), f"Grade {g}") for g in range(1, 6)]


class NarrativeField(forms.CharField):
    """Free text of at most NARRATIVE_MAX_LENGTH characters: the page's maxlength and the
    server's check count alike, a line break as one character (browsers send it as two)."""

    def __init__(self, *, label: str, rows: int) -> None:
        super().__init__(
            label=label,
            required=False,
            max_length=NARRATIVE_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": rows}),
        )

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


class ReportForm(forms.Form):
    patient_reference = forms.CharField(
        label="Patient reference",
        max_length=40,
        help_text="The pseudonymous reference, never the patient's name.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "PT-0001"}),
    )
    age = forms.IntegerField(label="Age (years)", required=False, min_value=0, max_value=120)
    sex = forms.ChoiceField(label="Sex", choices=[("", "Not given"), *Sex.choices], required=False)
    weight_kg = forms.DecimalField(
        label="Weight (kg)", required=False, max_digits=5, decimal_places=1, min_value=0
    )
    drug = forms.ModelChoiceField(
        label="Suspect drug", queryset=Drug.objects.order_by("name"), to_field_name="slug"
    )
    therapy_start = forms.DateField(label="Therapy start", required=False, widget=DATE)
    therapy_end = forms.DateField(label="Therapy end", required=False, widget=DATE)
    dose = forms.CharField(label="Dose", max_length=100, required=False)
    route = forms.ChoiceField(label="Route", choices=[("", "—"), *Route.choices], required=False)
    lot_number = forms.CharField(label="Lot number", max_length=50, required=False)
    reporter_qualification = forms.ChoiceField(
        label="Your qualification", choices=Qualification.choices, initial=Qualification.NURSE
    )
    narrative = NarrativeField(label="What happened", rows=4)
    concomitant_drugs = forms.CharField(
        label="Other medicines taken (not suspected)",
        required=False,
        max_length=2000,
        help_text="One a line, or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    site = forms.ModelChoiceField(
        label="Site", queryset=Site.objects.order_by("name"), to_field_name="code", required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not is_officer(user):
            del self.fields["site"]
        drugs = self.fields["drug"].queryset  # type: ignore[attr-defined]
        if drugs.count() == 1:
            self.fields["drug"].initial = drugs.first().slug

    def to_input(
        self, reactions: list[ReactionInput], suspects: list[DrugInput] | None = None
    ) -> ReportInput:
        d = self.cleaned_data
        concomitants = [
            DrugInput(drug=name.strip())
            for line in (d.get("concomitant_drugs") or "").splitlines()
            for name in line.split(",")
            if name.strip()
        ]
        site = d.get("site")
        return ReportInput(
            patient=PatientInput(
                reference=d["patient_reference"],
                age=d.get("age"),
                sex=d.get("sex") or "",
                weight_kg=d.get("weight_kg"),
            ),
            drug=d["drug"].slug,
            therapy_start=d.get("therapy_start"),
            therapy_end=d.get("therapy_end"),
            dose=d.get("dose", ""),
            route=d.get("route", ""),
            lot_number=d.get("lot_number", ""),
            narrative=d.get("narrative", ""),
            reporter_qualification=d["reporter_qualification"],
            site=site.code if site else "",
            reactions=reactions,
            other_suspect_drugs=suspects or [],
            concomitant_drugs=concomitants,
        )


class SuspectDrugForm(forms.Form):
    """A further suspect drug of the case: one of the formulary, or any other by name."""

    drug = forms.CharField(
        label="Suspect drug",
        max_length=200,
        help_text="A drug of the list, or any other: one outside the list is kept by name.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "formulary-drugs"}),
    )
    therapy_start = forms.DateField(label="Therapy start", required=False, widget=DATE)
    therapy_end = forms.DateField(label="Therapy end", required=False, widget=DATE)
    dose = forms.CharField(label="Dose", max_length=100, required=False)
    route = forms.ChoiceField(label="Route", choices=[("", "—"), *Route.choices], required=False)
    lot_number = forms.CharField(label="Lot number", max_length=50, required=False)

    def to_input(self) -> DrugInput:
        return DrugInput.from_cleaned(self.cleaned_data)


SuspectDrugFormSet = formset_factory(
    SuspectDrugForm, extra=0, min_num=0, can_delete=True, max_num=20
)


# Where the service's error paths go on the page.
REPORT_FIELDS = {
    "patient.reference": "patient_reference",
    "patient.age": "age",
    "patient.sex": "sex",
    "patient.weight_kg": "weight_kg",
}


class ReactionForm(forms.Form):
    term = forms.CharField(
        label="Reaction",
        max_length=300,
        help_text="Pick a term from the list, or write what happened in your own words: "
        "words no term matches are kept as written and coded by a safety officer.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "class": "term-input", "role": "combobox"}
        ),
    )
    # What the nurse typed before she picked a term from the list: her words, kept beside it.
    verbatim = forms.CharField(max_length=300, required=False, widget=forms.HiddenInput)
    onset_date = forms.DateField(label="Onset", required=False, widget=DATE)
    end_date = forms.DateField(label="End", required=False, widget=DATE)
    grade = forms.TypedChoiceField(
        label="CTCAE grade", choices=GRADES, coerce=int, empty_value=None
    )
    seriousness = forms.MultipleChoiceField(
        label="Serious because it…",
        choices=Seriousness.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    outcome = forms.ChoiceField(label="Outcome", choices=Outcome.choices, initial=Outcome.UNKNOWN)
    causality = forms.ChoiceField(
        label="Causality (WHO-UMC)",
        choices=[("", "Not assessed"), *Causality.choices],
        required=False,
    )

    def to_input(self) -> ReactionInput:
        """A reaction whose text is a term's name or synonym is that term (picked from the list,
        with the words typed before it); any other text is the reporter's words, coded by the
        coder (everyday phrases and learned words code at once) or by an officer."""
        reaction = ReactionInput.from_cleaned(self.cleaned_data)
        text = reaction.term.strip()
        rows = term_index().exact(text)
        if rows and rows[0].kind in {NameKind.NAME, NameKind.SYNONYM}:
            reaction.term = text[:200]
        else:
            reaction.term, reaction.verbatim = "", text
        return reaction


ReactionFormSet = formset_factory(ReactionForm, extra=0, min_num=1, can_delete=True, max_num=50)


def filled_forms(formset: Any) -> list[Any]:
    """The rows of a formset to submit: not removed, and not left blank."""
    rows = []
    for form in formset.forms:
        if formset.can_delete and formset._should_delete_form(form):
            continue
        if not form.has_changed():
            continue
        rows.append(form)
    return rows


class ReactionUpdateForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=Outcome.choices)
    end_date = forms.DateField(label="End date", required=False, widget=DATE)

    def __init__(self, *args: Any, reaction: Reaction, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"r{reaction.pk}")
        kwargs.setdefault("initial", {"outcome": reaction.outcome, "end_date": reaction.end_date})
        super().__init__(*args, **kwargs)
        self.reaction = reaction


class FollowUpNarrativeForm(forms.Form):
    narrative = NarrativeField(label="New information", rows=3)


def follow_up_input(
    updates: list[ReactionUpdateForm],
    new_rows: list[ReactionForm],
    narrative: str,
    new_suspects: list[SuspectDrugForm] | None = None,
) -> FollowUpInput:
    return FollowUpInput(
        updates=[
            ReactionUpdate(
                reaction_id=f.reaction.pk,
                outcome=f.cleaned_data["outcome"],
                end_date=f.cleaned_data.get("end_date"),
            )
            for f in updates
            if f.has_changed()
        ],
        new_reactions=[f.to_input() for f in new_rows],
        narrative=narrative,
        new_suspect_drugs=[f.to_input() for f in new_suspects or []],
    )


class CodingForm(forms.Form):
    """An officer's term for words awaiting coding."""

    verbatim = forms.CharField(max_length=300, widget=forms.HiddenInput)
    term = forms.CharField(
        label="Term",
        max_length=200,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "class": "term-input", "role": "combobox"}
        ),
    )


class RecodeForm(forms.Form):
    reaction = forms.TypedChoiceField(label="Reaction", coerce=int)
    term = forms.CharField(
        label="Term",
        max_length=200,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "class": "term-input", "role": "combobox"}
        ),
    )
    comment = forms.CharField(label="Why (kept in the history)", max_length=300, required=False)

    def __init__(self, *args: Any, reactions: list[Reaction], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reaction"].choices = [  # type: ignore[attr-defined]
            (r.pk, r.term.name if r.term is not None else f"“{r.verbatim}” (awaiting coding)")
            for r in reactions
        ]


class VoidForm(forms.Form):
    reason = forms.CharField(label="Reason for voiding", widget=forms.Textarea(attrs={"rows": 2}))


class DuplicateForm(forms.Form):
    duplicate = forms.TypedChoiceField(
        label="Decision",
        choices=[("yes", "It is a duplicate"), ("no", "It is a separate case")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 2}))


class ExposureForm(forms.Form):
    patient = forms.CharField(label="Patient reference", max_length=40)
    drug = forms.ModelChoiceField(
        label="Drug", queryset=Drug.objects.order_by("name"), to_field_name="slug"
    )
    start_date = forms.DateField(label="Start date", widget=DATE)
    end_date = forms.DateField(label="End date", required=False, widget=DATE)
    dose = forms.CharField(label="Dose", max_length=100, required=False)
    route = forms.ChoiceField(label="Route", choices=[("", "—"), *Route.choices], required=False)
    lot_number = forms.CharField(label="Lot number", max_length=50, required=False)


class ExposureUploadForm(forms.Form):
    file = forms.FileField(label="CSV file")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            "One patient a line, under a header line that names the columns. "
            f"At most {settings.EXPOSURES_MAX_ROWS:,} rows a file."
        )


class SiteChoiceForm(forms.Form):
    site = forms.ModelChoiceField(
        label="Site", queryset=Site.objects.order_by("name"), to_field_name="code"
    )
