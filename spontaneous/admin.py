from django.contrib import admin

from .models import DisproportionalityBaseline, ReportImport


@admin.register(ReportImport)
class ReportImportAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["file_name", "source", "reports", "pairs", "imported_at"]
    readonly_fields = [f.name for f in ReportImport._meta.fields]


@admin.register(DisproportionalityBaseline)
class DisproportionalityBaselineAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["source", "revision", "method", "n_reports", "pairs", "computed_at"]
    readonly_fields = [f.name for f in DisproportionalityBaseline._meta.fields]
