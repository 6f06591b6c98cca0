from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class ReferenceConfig(AppConfig):
    name = "reference"
    verbose_name = "Reference data: drugs, terminology and labels"

    def ready(self) -> None:
        from .loaders import sync_after_migrate
        from .models import Drug, GroupMembership, Label, LabelEntry, Term, TermName
        from .revision import on_reference_change

        post_migrate.connect(sync_after_migrate, sender=self)
        for model in (Term, TermName, GroupMembership, Drug, Label, LabelEntry):
            for signal in (post_save, post_delete):
                signal.connect(
                    on_reference_change, sender=model, dispatch_uid=f"revision:{model.__name__}"
                )
