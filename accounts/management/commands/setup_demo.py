from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.choices import Role
from accounts.services import account_create_or_update

DEMO_SITE = "Demo General Hospital"
DEMO_ACCOUNTS = [
    ("nurse", Role.NURSE, "nurse-demo-pass"),
    ("officer", Role.SAFETY_OFFICER, "officer-demo-pass"),
]


class Command(BaseCommand):
    help = "Create the demo accounts (a nurse and a safety officer) and print how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", default=DEMO_SITE)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            "Demo accounts (demo data only; never use these passwords in production):"
        )
        for username, role, password in DEMO_ACCOUNTS:
            user, token, _ = account_create_or_update(
                username=username, role=role, password=password, site_name=options["site"]
            )
            self.stdout.write(
                f"  {user.get_role_display():<15} username {username:<8} password {password:<18}"
                f" API token {token.key}"
            )
