from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReferenceConfig(AppConfig):
    name = "reference"
    verbose_name = "Reference data: drugs, terminology and labels"

    def ready(self) -> None:
        from .loaders import sync_after_migrate

        post_migrate.connect(sync_after_migrate, sender=self)
