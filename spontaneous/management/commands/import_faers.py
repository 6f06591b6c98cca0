from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from tqdm import tqdm

from spontaneous.baseline import source_baselines_compute
from spontaneous.faers import FaersError, Quarter, quarter_open
from spontaneous.faers_load import (
    DEFAULT_ROLES,
    FaersImportResult,
    faers_import,
    faers_source,
    roles_parse,
)

UNITS = {"reading": ("B", True), "writing reports": (" reports", False)}


class _Bars:
    """One tqdm bar per step of an import, on the terminal only (disable=None)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.step = ""
        self.bar: tqdm[Any] | None = None

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if step != self.step:
            self.close()
            self.step = step
            unit, scale = UNITS.get(step.split(" ", 1)[0], UNITS.get(step, (" pairs", False)))
            self.bar = tqdm(
                total=total,
                desc=f"{self.label} {step}",
                unit=unit,
                unit_scale=scale,
                disable=None,
                leave=False,
            )
        assert self.bar is not None
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "Import FDA FAERS quarterly ASCII extracts (zip files or folders; the current layout "
        "from 2012Q4 and the legacy AERS layout before), de-duplicated across every quarter "
        "loaded: the highest version of each case is kept and cases on a DELETE list removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--roles",
            default=",".join(DEFAULT_ROLES),
            help="The drug roles counted as the case's products, comma-separated: PS primary "
            "suspect, SS secondary suspect, C concomitant, I interacting (default PS,SS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            roles = roles_parse(options["roles"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        quarters: list[Quarter] = []
        for path in options["paths"]:
            try:
                quarters.append(quarter_open(path))
            except FaersError as exc:
                raise CommandError(f"nothing imported: {exc}") from exc
        # Oldest first: later versions then supersede earlier ones rather than being set
        # aside (the result is the same in any order).
        quarters.sort(key=lambda q: (q.label, str(q.path)))
        for quarter in quarters:
            bars = _Bars(quarter.label)
            try:
                result = faers_import(quarter=quarter, roles=roles, progress=bars)
            except FaersError as exc:
                raise CommandError(f"{quarter.path.name}: nothing imported: {exc}") from exc
            except DatabaseError as exc:
                raise CommandError(
                    f"{quarter.path.name}: nothing imported, the database refused it ({exc})"
                ) from exc
            finally:
                bars.close()
            self.stdout.write(self._said(quarter, result))
        if quarters:
            self.stdout.write("Computing the FAERS disproportionality baseline...")
            source_baselines_compute(faers_source())
            self.stdout.write("Done: drug tables read from it until the next import.")

    def _said(self, quarter: Quarter, result: FaersImportResult) -> str:
        batch = result.batch
        if result.unchanged:
            return (
                f"{quarter.label} ({quarter.path.name}) was already imported on "
                f"{batch.imported_at:%Y-%m-%d %H:%M}: nothing changed"
            )
        s = batch.summary
        text = (
            f"{s['quarter']} ({s['layout']} layout, {quarter.path.name}): read {s['read']} "
            f"reports; kept {s['kept']} ({s['new']} new, {s['superseded']} superseding an "
            f"earlier version); {s['older'] + s['duplicates']} older versions set aside; "
            f"deleted {s['deleted']}"
        )
        if s["deleted_ahead"]:
            text += f" (and {s['deleted_ahead']} not loaded yet, kept out)"
        if s["deleted_before"]:
            text += f"; {s['deleted_before']} deleted by an earlier list"
        text += (
            f"; {s['pairs']} product-event pairs ({', '.join(s['roles'])}); "
            f"{s['products_created']} new products, {s['events_created']} new events"
        )
        if s["malformed"]:
            text += f"; {s['malformed']} malformed lines skipped"
        return text
