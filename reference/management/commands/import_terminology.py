import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reference.services.terminology_io import TerminologyFileError, terminology_local_import


class Command(BaseCommand):
    help = (
        "Add the names and local terms of a file written by export_terminology that this "
        "site lacks. Reading a file twice changes nothing; nothing read is marked shipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="a file written by export_terminology")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        except ValueError as exc:
            raise CommandError(f"{path} is not JSON: {exc}") from exc
        try:
            result = terminology_local_import(data)
        except TerminologyFileError as exc:
            for problem in exc.problems:
                self.stderr.write(f"invalid: {problem}")
            raise CommandError(
                f"{path} is not a terminology file ({len(exc.problems)} problem(s)); "
                "nothing was changed"
            ) from exc
        for line in [*result.skipped, *result.names_skipped]:
            self.stdout.write(f"skipped: {line}")
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        self.stdout.write(
            f"terms: {len(result.terms_added)} added, {len(result.terms_present)} already present"
        )
        self.stdout.write(
            f"names: {result.names_added} added, {result.names_present} already present, "
            f"{len(result.names_skipped)} skipped"
        )
        self.stdout.write(f"group memberships: {result.memberships_added} added")
