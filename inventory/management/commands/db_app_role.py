"""Create or fix the application's database role (README, "Production"): data rights only, and
only SELECT and INSERT on the custody ledger. `migrate` runs it too when it runs as the owner
(inventory.apps), so a release's new tables and any drift are fixed in the same step."""

import getpass
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from core.db_roles import RoleError, grant_app_role
from inventory.models import CustodyEntry

# Tables whose rows are never changed or removed once written: the app role may only append.
APPEND_ONLY = (CustodyEntry._meta.db_table,)


class Command(BaseCommand):
    help = (
        "As the owner of the tables (DATABASE_OWNER_URL), create the app's role if missing and "
        "grant it data rights only: SELECT and INSERT alone on the ledger. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "role",
            nargs="?",
            help="the app's role; by default the user in DATABASE_URL",
        )
        parser.add_argument(
            "--database",
            default="default",
            help="the connection to grant on: the owner's (DATABASE_OWNER_URL, when set)",
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="never prompt for the password",
        )
        parser.add_argument(
            "--keep-password",
            action="store_true",
            help="a role that exists keeps its password (no ALTER ROLE, which needs CREATEROLE)",
        )

    def handle(
        self, *args, role=None, database="default", interactive=True, keep_password=False, **options
    ):
        app = settings.APP_DATABASE
        role = role or app.get("USER")
        if not role:
            raise CommandError("Name the role, or put it in DATABASE_URL.")
        password = os.environ.get("DATABASE_APP_PASSWORD") or (
            app.get("PASSWORD") if role == app.get("USER") else None
        )
        if not password and interactive and sys.stdin.isatty():
            # Empty keeps the password of a role that exists; never taken from the command line.
            password = getpass.getpass(f"Password for {role} (empty: keep it): ") or None
        try:
            lines = grant_app_role(
                connections[database],
                role=role,
                password=password,
                append_only=APPEND_ONLY,
                keep_password=keep_password,
            )
        except RoleError as error:
            raise CommandError(str(error)) from error
        for line in lines:
            self.stdout.write(line)
