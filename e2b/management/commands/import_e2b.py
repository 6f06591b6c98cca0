from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User

from ...reader import IcsrUnreadable
from ...services import ImportRefused, icsr_import


class Command(BaseCommand):
    help = (
        "Import ICH E2B(R3) batches as reports, all or nothing. C.1.1 is the key: the same "
        "case again changes nothing, a later C.1.5 is a follow-up, a nullification voids."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="ICSR batch files")
        parser.add_argument(
            "--user",
            required=True,
            help="the account the reports are filed by (a nurse or an officer)",
        )
        parser.add_argument("--site", default="", help="the site the reports come from")
        parser.add_argument(
            "--new-drugs", action="store_true", help="add suspect drugs the formulary does not know"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["user"]).first()
        if actor is None:
            raise CommandError(f"No account {options['user']!r}.")
        failed = False
        for path in options["paths"]:
            try:
                data = Path(path).read_bytes()
                results = icsr_import(
                    data=data, actor=actor, site=options["site"], new_drugs=options["new_drugs"]
                )
            except OSError as exc:
                self.stderr.write(f"{path}: cannot be read: {exc.strerror}.")
                failed = True
                continue
            except IcsrUnreadable as exc:
                self.stderr.write(f"{path}: {exc}")
                failed = True
                continue
            except ImportRefused as exc:
                for case, messages in exc.errors.items():
                    for message in messages:
                        self.stderr.write(f"{path}: {case}: {message}")
                self.stderr.write(f"{path}: nothing was imported.")
                failed = True
                continue
            for result in results:
                self.stdout.write(
                    f"{path}: {result.safety_report_id} -> {result.report.reference} "
                    f"({result.action.replace('_', ' ')})"
                )
        if failed:
            raise CommandError("Some files were not imported (see above).")
