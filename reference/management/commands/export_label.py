import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reference.models import Label
from reference.services import label_as_structured


class Command(BaseCommand):
    help = "Print a drug's current label in the structured format that import_label reads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        label = Label.objects.filter(drug__slug=options["slug"], is_current=True).first()
        if label is None:
            raise CommandError(f"no current label for {options['slug']!r}")
        self.stdout.write(json.dumps(label_as_structured(label), indent=1, ensure_ascii=False))
