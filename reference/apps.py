from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class ReferenceConfig(AppConfig):
    name = "reference"
    verbose_name = "Reference data: drugs, terminology and labels"

    def ready(self) -> None:
        from .loaders import sync_after_migrate
        from .models import GroupMembership, Term, TermName
        from .revision import on_terminology_change

        post_migrate.connect(sync_after_migrate, sender=self)
        for model in (Term, TermName, GroupMembership):
            for signal in (post_save, post_delete):
                signal.connect(
                    on_terminology_change, sender=model, dispatch_uid=f"revision:{model.__name__}"
                )
