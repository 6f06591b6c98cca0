from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reference.selectors import drug_find
from surveillance.choices import Trigger
from surveillance.services import run_create, run_execute


class Command(BaseCommand):
    help = "Run signal detection now, in this process, and print a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--drug", help="only this drug (slug or name)")

    def handle(self, *args: Any, **options: Any) -> None:
        drug = None
        if options["drug"]:
            drug = drug_find(options["drug"])
            if drug is None:
                raise CommandError(f"unknown drug {options['drug']!r}")
        run = run_execute(run_create(trigger=Trigger.COMMAND_LINE, drug=drug))
        for note in run.notes:
            self.stdout.write(f"note: {note}")
        counts = run.counts
        self.stdout.write(
            f"Run {run.pk} {run.status}: {run.drugs_done} drug(s), "
            f"{counts.get('findings', 0)} rules evaluated, {counts.get('met', 0)} met; "
            f"signals {counts.get('signals_new', 0)} new, {counts.get('signals_updated', 0)} "
            f"updated, {counts.get('signals_reopened', 0)} reopened"
        )
        if run.error:
            raise CommandError(run.error)
