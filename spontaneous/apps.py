from django.apps import AppConfig


class SpontaneousConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "spontaneous"
    verbose_name = "Spontaneous reports"
