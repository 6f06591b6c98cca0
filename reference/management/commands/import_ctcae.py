import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reference.services import CtcaeImportError, ctcae_import


class Command(BaseCommand):
    help = "Load CTCAE grade 1-5 criteria (CSV with the NCI columns) for display beside the grade."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                fieldnames = list(reader.fieldnames or [])
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            result = ctcae_import(rows=rows, fieldnames=fieldnames)
        except CtcaeImportError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{result.rows} CTCAE terms resolved: {result.created} criteria added, "
            f"{result.updated} updated"
        )
