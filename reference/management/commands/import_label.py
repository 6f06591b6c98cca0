import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reference.choices import Band
from reference.label_text import UnreadLine, parse_label_text
from reference.services import (
    LabelImportError,
    entries_from_label,
    entries_from_parsed,
    label_import,
    parse_problems,
)
from reference.structured import StructuredLabelError, structured_label_read


class Command(BaseCommand):
    help = (
        "Import a drug label from a drug-information page (text) or the structured "
        "format (.json) and make it the drug's current label. All or nothing for the "
        "professional section; consumer wording that codes to no term is kept to be coded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--drug", help="drug name (required for a text page)")
        parser.add_argument("--source", help="where the label comes from (default: file name)")
        parser.add_argument("--effective-date", type=date.fromisoformat, default=None)
        parser.add_argument("--brand", action="append", default=[], help="a brand name")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            # utf-8-sig: a byte-order mark at the start must not hide the first heading.
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc

        unread: list[UnreadLine] = []
        problems: list[str] = []
        brands: list[str] = options["brand"]
        drug = (options["drug"] or "").strip()
        slug = ""
        if path.suffix.lower() == ".json":
            try:
                structured = structured_label_read(json.loads(text))
            except ValueError as exc:
                raise CommandError(f"{path} is not JSON: {exc}") from exc
            except StructuredLabelError as exc:
                for problem in exc.problems:
                    self.stderr.write(f"invalid: {problem}")
                raise CommandError(
                    f"{path} is not a structured label ({len(exc.problems)} problem(s): "
                    f"{'; '.join(exc.problems)}); nothing was changed"
                ) from exc
            entries = entries_from_label(structured)
            if not drug:
                drug, slug = structured.drug_name, structured.drug_slug
            brands = brands or structured.brand_names
            effective = options["effective_date"] or structured.effective_date
            source = options["source"] or structured.source or path.name
        else:
            parsed = parse_label_text(text)
            entries = entries_from_parsed(parsed)
            unread = parsed.unread
            problems = parse_problems(parsed)
            effective = options["effective_date"]
            source = options["source"] or path.name
        if not drug:
            raise CommandError("name the drug with --drug")

        for line in unread:
            shown = line.text if len(line.text) <= 100 else line.text[:97] + "..."
            self.stdout.write(f"not read, line {line.line_no} ({line.reason}): {shown}")
        try:
            result = label_import(
                drug_name=drug,
                entries=entries,
                source=source,
                effective_date=effective,
                brand_names=brands,
                drug_slug=slug,
                unread=unread,
                problems=problems,
            )
        except LabelImportError as exc:
            for name in exc.uncoded:
                self.stderr.write(f"uncodable: {name}")
            for problem in exc.problems:
                self.stderr.write(f"invalid: {problem}")
            raise CommandError(f"{exc}; nothing was changed") from exc

        for note in result.notes:
            self.stdout.write(f"note: {note}")
        for band, label in Band.choices:
            self.stdout.write(f"{label}: {result.per_band[band]}")
        for wording in result.awaiting_coding:
            where = f"line {wording.line_no}: " if wording.line_no else ""
            self.stdout.write(f"awaits coding: {where}{wording.verbatim}")
        self.stdout.write(
            f"consumer wording: {result.consumer} "
            f"({len(result.awaiting_coding)} awaiting coding, listing nothing until coded)"
        )
        state = "new current version" if result.created else "unchanged, current version kept"
        self.stdout.write(
            f"{result.label}: {result.entries} professional entries ({state}); "
            f"{len(unread)} line(s) not read"
        )
