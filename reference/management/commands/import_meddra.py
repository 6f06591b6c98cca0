from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reference.meddra import MeddraFormatError, release_read
from reference.services import MeddraImportError, MeddraImportResult, meddra_import

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Load a licensed MedDRA ASCII release (the release folder or its MedAscii folder): "
        "terms gain their LLT, PT and primary SOC codes, current LLTs become names."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The release folder or its MedAscii folder.")
        parser.add_argument(
            "--force", action="store_true", help="Import a release older than the loaded one."
        )
        parser.add_argument(
            "--encoding",
            default=None,
            help="The files' encoding (default: UTF-8, else Windows-1252).",
        )
        parser.add_argument(
            "--smq",
            action="append",
            default=[],
            metavar="NAME",
            help="Make a group of this SMQ's narrow-scope terms (repeatable).",
        )
        parser.add_argument(
            "--group-name", default="", help="The group's name (one --smq); default the SMQ's."
        )
        parser.add_argument(
            "--covers-members",
            action="store_true",
            help="A label that lists the SMQ group lists each of its members.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            release = release_read(options["path"], encoding=options["encoding"])
            result = meddra_import(
                release=release,
                imported_by="command",
                force=options["force"],
                smqs=options["smq"],
                group_name=options["group_name"],
                covers_members=options["covers_members"],
            )
        except (MeddraFormatError, MeddraImportError) as exc:
            raise CommandError(f"{exc}; nothing was imported") from exc
        self._report(result)

    def _report(self, result: MeddraImportResult) -> None:
        head = f"MedDRA {result.version} {result.language}"
        if not result.changed:
            self.stdout.write(f"{head} is already loaded: nothing changed")
        else:
            self.stdout.write(f"{head} {'imported' if result.new_release else 'applied again'}")
            self._changes(result)
        for group in result.groups:
            state = "made" if group.created else "brought up to date"
            self.stdout.write(
                f"group {group.name!r} {state}: {group.members} members "
                f"({group.added} added, {group.removed} removed)"
            )

    def _changes(self, result: MeddraImportResult) -> None:
        self._list("terms coded", result.terms_coded)
        self._list("codes changed", result.codes_changed)
        self._list("new terms (PTs no term had)", result.terms_new)
        self.stdout.write(
            f"MedDRA names: {result.names_added} added, {result.names_removed} removed, "
            f"{result.names_renamed} respelled"
        )
        if result.names_skipped:
            self.stdout.write(
                f"{result.names_skipped} current LLTs are not names: another term has that name"
            )
        self._list(
            "PTs without a term (their name is a group's or several terms')", result.pts_skipped
        )
        for group in result.groups:
            state = "made" if group.created else "brought up to date"
            self.stdout.write(
                f"group {group.name!r} {state}: {group.members} members "
                f"({group.added} added, {group.removed} removed)"
            )

    def _list(self, title: str, items: list[str]) -> None:
        if not items:
            return
        more = f", and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
        self.stdout.write(f"{title}: {len(items)}: {'; '.join(items[:SHOWN])}{more}")
