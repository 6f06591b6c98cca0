import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction
from tqdm import tqdm

from spontaneous.baseline import source_baselines_compute
from spontaneous.services import ReportImportError, file_digest, reports_import

SHOWN_PROBLEMS = 200


class Command(BaseCommand):
    help = (
        "Import spontaneous reports from a CSV of report id, drug, event and optional sex "
        "(one row per drug-event pair of a report), all or nothing, into a source of spontaneous "
        "reports. Drugs and events are kept as the source names them and linked to the "
        "formulary drug or term they name; none is added to the formulary or the terminology."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--source",
            default="",
            help="The database the reports come from (report ids are unique within it); "
            "the file name by default.",
        )
        parser.add_argument(
            "--all-problems", action="store_true", help="List every problem, however many."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Read the whole file, say what it would import, and keep nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            with path.open("rb") as raw:
                digest, lines = file_digest(iter(lambda: raw.read(1 << 20), b""))
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle)
                header = next(reader, None)
                if header is None:
                    raise CommandError(f"{path} is empty")
                with (
                    tqdm(
                        reader, total=max(lines - 1, 0), desc="reading", unit=" rows", disable=None
                    ) as rows,
                    tqdm(desc="writing", unit=" pairs", disable=None) as bar,
                ):

                    def written(count: int) -> None:
                        bar.update(count)

                    with transaction.atomic():
                        result = reports_import(
                            rows=rows,
                            header=header,
                            source=options["source"] or path.stem,
                            file_name=path.name,
                            sha256=digest,
                            progress=written,
                        )
                        if options["check"]:
                            transaction.set_rollback(True)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        except IntegrityError as exc:
            # Two imports at once both creating one source, product, event or report: one
            # of them wins.
            raise CommandError(
                "nothing imported: another import wrote some of the same products, events or "
                f"reports meanwhile; run this one again ({exc})"
            ) from exc
        except ReportImportError as exc:
            shown = exc.problems if options["all_problems"] else exc.problems[:SHOWN_PROBLEMS]
            for problem in shown:
                self.stderr.write(problem)
            if len(shown) < len(exc.problems):
                self.stderr.write(
                    f"... and {len(exc.problems) - len(shown)} more (--all-problems lists them)"
                )
            raise CommandError(str(exc)) from exc
        batch = result.batch
        if result.unchanged:
            self.stdout.write(
                f"{path.name} was already imported on {batch.imported_at:%Y-%m-%d %H:%M} "
                f"({batch.reports} reports): nothing changed"
            )
            return
        links = result.links
        if not options["check"]:
            source_baselines_compute(batch.source)
        self.stdout.write(
            ("Check only, nothing kept: would import " if options["check"] else "")
            + f"{batch.reports} reports from {batch.source}: {batch.pairs} drug-event pairs "
            f"({batch.rows} rows); {result.new_products} new products, "
            f"{result.new_events} new events"
        )
        if links is not None:
            self.stdout.write(
                f"{batch.source} now has {links.products} products "
                f"({links.products_linked} linked to formulary drugs) and {links.events} "
                f"events ({links.events_linked} linked to terms)"
            )
