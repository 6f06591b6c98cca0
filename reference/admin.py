from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .choices import NameKind
from .models import (
    CtcaeCriteria,
    Drug,
    GroupMembership,
    Label,
    LabelEntry,
    MeddraRelease,
    ReferenceDataset,
    Term,
    TermName,
)
from .normalize import name_key


class TermNameForm(forms.ModelForm):  # type: ignore[type-arg]
    """A name of a term, refused when the term has it already under any spelling (the
    database would refuse it anyway, with an error page instead of a message)."""

    class Meta:
        model = TermName
        fields = ("term", "text", "kind")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # MedDRA names come from the import alone.
        kind = self.fields.get("kind")
        if isinstance(kind, forms.ChoiceField):
            kind.choices = [("", "---------")] + [
                c for c in NameKind.choices if c[0] != NameKind.MEDDRA
            ]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        term = data.get("term") or getattr(self.instance, "term", None)
        key = name_key(data.get("text") or "")
        if term is not None and term.pk is not None and key:
            same = TermName.objects.filter(term=term, key=key).exclude(pk=self.instance.pk)
            existing = same.first()
            if existing is not None:
                raise forms.ValidationError(
                    f"{term} already has this name, written {existing.text!r} ({existing.kind})."
                )
        return data


class ShippedNameInline(admin.TabularInline):  # type: ignore[type-arg]
    """The names the product ships: curated, so read-only here (the next terminology load
    would put them back)."""

    model = TermName
    extra = 0
    fields = ("text", "kind")
    readonly_fields = fields
    can_delete = False
    verbose_name = "shipped name"
    verbose_name_plural = "shipped names"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TermName]:
        return super().get_queryset(request).filter(shipped=True)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SiteNameInline(admin.TabularInline):  # type: ignore[type-arg]
    """The names this site added, or learned from an officer's coding: editable, removable."""

    model = TermName
    form = TermNameForm
    extra = 1
    fields = ("text", "kind", "added_by", "added_at")
    readonly_fields = ("added_by", "added_at")
    verbose_name = "name added here"
    verbose_name_plural = "names added here (site and learned)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TermName]:
        return (
            super()
            .get_queryset(request)
            .filter(shipped=False)
            .exclude(kind=NameKind.MEDDRA)
            .select_related("added_by")
        )


class MeddraNameInline(admin.TabularInline):  # type: ignore[type-arg]
    """The current LLTs of the loaded MedDRA release that name the term: the next import
    sets them, so read-only here."""

    model = TermName
    extra = 0
    fields = ("text",)
    readonly_fields = fields
    can_delete = False
    verbose_name = "MedDRA name"
    verbose_name_plural = "MedDRA names (current LLTs of the loaded release)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TermName]:
        return super().get_queryset(request).filter(shipped=False, kind=NameKind.MEDDRA)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = GroupMembership
    fk_name = "member"
    extra = 0
    autocomplete_fields = ("group",)
    verbose_name = "group membership"


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "soc", "source", "is_group", "meddra_llt_code", "meddra_pt_code")
    list_filter = ("is_group", "source", "soc")
    search_fields = ("name", "names__text", "meddra_code", "meddra_llt_code", "meddra_pt_code")
    readonly_fields = ("meddra_code", "meddra_soc_code")
    inlines = [ShippedNameInline, SiteNameInline, MeddraNameInline, MembershipInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is TermName:
            for name in formset.save(commit=False):
                _stamp_new_name(name, request)
                name.save()
            for name in formset.deleted_objects:
                name.delete()
            formset.save_m2m()
            return
        super().save_formset(request, form, formset, change)


def _stamp_new_name(name: TermName, request: HttpRequest) -> None:
    """A name added here says who added it and when, as a learned name does."""
    if name.pk is None:
        name.shipped = False
        name.added_by = name.added_by or _user(request)
        name.added_at = name.added_at or timezone.now()


def _user(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


@admin.register(TermName)
class TermNameAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every name of the terminology. Shipped names and MedDRA names are read-only and
    cannot be removed; names a site added and names learned from coding can. Removing one
    changes the reference revision (a model signal), so every process's search index
    forgets it."""

    form = TermNameForm
    list_display = ("text", "term", "kind", "shipped", "added_by", "added_at")
    list_filter = ("kind", "shipped")
    list_select_related = ("term", "added_by")
    search_fields = ("text", "term__name", "added_by__username")
    autocomplete_fields = ("term",)
    fields = ("term", "text", "kind", "shipped", "added_by", "added_at")
    readonly_fields = ("shipped", "added_by", "added_at")
    date_hierarchy = "added_at"

    def has_change_permission(self, request: HttpRequest, obj: TermName | None = None) -> bool:
        if obj is not None and (obj.shipped or obj.kind == NameKind.MEDDRA):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: TermName | None = None) -> bool:
        # Checked for each object of a bulk delete too: a selection with a shipped name in it
        # is refused whole.
        if obj is not None and (obj.shipped or obj.kind == NameKind.MEDDRA):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: TermName, form: Any, change: bool) -> None:
        _stamp_new_name(obj, request)
        super().save_model(request, obj, form, change)


@admin.register(CtcaeCriteria)
class CtcaeCriteriaAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("ctcae_term", "term", "version")
    search_fields = ("ctcae_term", "term__name")


@admin.register(Drug)
class DrugAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class LabelEntryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = LabelEntry
    extra = 0
    fields = (
        "term",
        "verbatim",
        "section",
        "band",
        "incidence_pct",
        "grade3_pct",
        "covers_members",
    )
    readonly_fields = fields
    can_delete = False


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("drug", "version", "is_current", "effective_date", "imported_at", "source")
    list_filter = ("is_current", "drug")
    readonly_fields = ("fingerprint", "imported_at")
    inlines = [LabelEntryInline]

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ReferenceDataset)
class ReferenceDatasetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "fingerprint", "loaded_at")


@admin.register(MeddraRelease)
class MeddraReleaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The MedDRA releases imported (import_meddra): a record, not edited here."""

    list_display = ("version", "language", "imported_at", "imported_by", "pts", "llts")
    readonly_fields = (
        "version",
        "language",
        "imported_at",
        "imported_by",
        "pts",
        "llts",
        "current_llts",
        "changes",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
