from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Code every app shares (API plumbing, HTTP middleware, database session settings). It
    depends on no app of the product, so every app may import it."""

    name = "core"
    verbose_name = "Shared building blocks"
