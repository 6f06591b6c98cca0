from django.contrib import admin

from .models import (
    CtcaeCriteria,
    Drug,
    GroupMembership,
    Label,
    LabelEntry,
    ReferenceDataset,
    Term,
    TermName,
)


class TermNameInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TermName
    extra = 1
    fields = ("text", "kind", "shipped")
    readonly_fields = ("shipped",)


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = GroupMembership
    fk_name = "member"
    extra = 0
    autocomplete_fields = ("group",)
    verbose_name = "group membership"


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "soc", "source", "is_group", "meddra_code")
    list_filter = ("is_group", "source", "soc")
    search_fields = ("name", "names__text", "meddra_code")
    inlines = [TermNameInline, MembershipInline]


@admin.register(TermName)
class TermNameAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("text", "term", "kind", "shipped")
    list_filter = ("kind", "shipped")
    search_fields = ("text", "term__name")
    autocomplete_fields = ("term",)


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
    fields = ("term", "section", "band", "incidence_pct", "grade3_pct", "covers_members")
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
