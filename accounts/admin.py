from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Site, User


@admin.register(User)
class AccountAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "role", "site", "is_active")
    list_filter = ("role", "site", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Role", {"fields": ("role", "site")}))


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "code")
    search_fields = ("name", "code")
