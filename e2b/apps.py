from django.apps import AppConfig


class E2bConfig(AppConfig):
    name = "e2b"
    verbose_name = "ICH E2B(R3) exchange"
