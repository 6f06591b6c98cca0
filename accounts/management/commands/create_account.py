from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.choices import Role
from accounts.services import account_create_or_update


class Command(BaseCommand):
    help = "Create or update an account; the last line printed is its API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="set this password (default: none, API only)")
        parser.add_argument("--site", help="the site the account reports for (created if new)")
        parser.add_argument(
            "--rotate-token",
            action="store_true",
            help="issue a new API token; the account's old token stops working",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, token, created = account_create_or_update(
                username=options["username"],
                role=options["role"],
                password=options["password"],
                site_name=options["site"],
                rotate_token=options["rotate_token"],
            )
        except ValidationError as exc:
            reasons = "; ".join(exc.messages)
            raise CommandError(f"the password was refused: {reasons}") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else "Updated"
        site = f" at {user.site}" if user.site else ""
        self.stdout.write(f"{verb} {user.get_role_display().lower()} {user.username}{site}")
        self.stdout.write(token.key)
