from datetime import date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from reports.models import Report
from reports.selectors import reports_visible

from ...selectors import reports_sent
from ...services import ExportBlocked, icsr_export


class Command(BaseCommand):
    help = (
        "Write reports as one ICH E2B(R3) batch (MCCI_IN200100UV01): the reports named, the "
        "expedited ones, or those received since a date; every rule is checked first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="the XML file to write")
        parser.add_argument(
            "--report",
            action="append",
            default=[],
            metavar="REF",
            help="a case number (repeat for several)",
        )
        parser.add_argument(
            "--expedited", action="store_true", help="the expedited reports that are not void"
        )
        parser.add_argument(
            "--since",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="reports received on or after this day",
        )
        parser.add_argument("--user", default="", help="the account the export is audited to")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No account {options['user']!r}.")
        reports = reports_visible(actor) if actor is not None else _all_reports()
        refs: list[str] = options["report"]
        if not (refs or options["expedited"] or options["since"]):
            raise CommandError("Name reports with --report, or choose --expedited or --since.")
        if refs:
            reports = reports.filter(reference__in=refs)
            missing = sorted(set(refs) - set(reports.values_list("reference", flat=True)))
            if missing:
                raise CommandError(f"No report {', '.join(missing)}.")
        if options["expedited"]:
            reports = reports.filter(expedited=True, is_void=False)
        if options["since"]:
            start = timezone.make_aware(datetime.combine(options["since"], time.min))
            reports = reports.filter(received_at__gte=start)
        chosen = list(reports.order_by("received_at", "pk"))
        if not refs:
            # A void case never sent has nothing to nullify: it is left out of a selection.
            sent = reports_sent(r.pk for r in chosen)
            skipped = [r for r in chosen if r.is_void and r.pk not in sent]
            for report in skipped:
                self.stdout.write(f"{report.reference}: void and never sent; left out.")
            chosen = [r for r in chosen if r not in skipped]
        if not chosen:
            raise CommandError("No report matches; nothing was written.")
        try:
            export = icsr_export(reports=chosen, actor=actor, file_name=str(options["out"]))
        except ExportBlocked as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(exc.problems)} rule(s) broken; nothing was written.") from exc
        with open(options["out"], "wb") as out:
            out.write(export.content)
        self.stdout.write(f"Wrote {len(chosen)} ICSR(s) to {options['out']}.")


def _all_reports() -> Any:
    return Report.objects.select_related("site", "patient", "drug").prefetch_related(
        "reactions__term", "other_drugs"
    )
