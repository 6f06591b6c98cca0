from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reference.loaders import reference_data_sync


class Command(BaseCommand):
    help = "Load the shipped terminology and labels (migrate does this on its own)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="reload unchanged files too")

    def handle(self, *args: Any, **options: Any) -> None:
        done = reference_data_sync(force=options["force"])
        for line in done:
            self.stdout.write(line)
        if not done:
            self.stdout.write("reference data already up to date")
