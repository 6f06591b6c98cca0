import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reference.services.terminology_io import terminology_local_export


class Command(BaseCommand):
    help = (
        "Write the terminology this site grew itself to a file: every name that is not "
        "shipped (learned from coding or added here) and the local terms they name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", type=Path, help="the file to write (.json)")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        data = terminology_local_export()
        try:
            out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc}") from exc
        kinds: dict[str, int] = {}
        for name in data["names"]:
            kinds[name["kind"]] = kinds.get(name["kind"], 0) + 1
        per_kind = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
        self.stdout.write(
            f"{out}: {len(data['names'])} name(s) ({per_kind}), {len(data['terms'])} local term(s)"
        )
