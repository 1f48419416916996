"""Load the demo organization. Safe to run again: it only adds what is missing.

It lives in events, the top app, because it seeds every app: accounts, then inventory, then
events (imports run events -> inventory -> accounts).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from accounts import demo
from events import demo as events_demo
from inventory import demo as inventory_demo

DEMO_PASSWORD = demo.DEMO_PASSWORD


class Command(BaseCommand):
    help = "Create the Demo Orthopedics organization: users, groups, stock, events (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (never on a production database).",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with a published password; it refuses to run with "
                "DEBUG off. Pass --force if this really is a throwaway database."
            )
        # The demo's @mention sends an email; keep it out of the console and real inboxes.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            transaction.atomic(),
        ):
            summary = demo.seed()
            inventory_demo.seed(summary)
            events_demo.seed(summary)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in '{summary.organization}'."))
        self.stdout.write(f"Log in at {settings.SITE_URL}/")
        # A password is shown only for a user this run created: one already there may have
        # changed theirs, and seed_demo never resets it.
        created = [login for login in summary.logins if login[0] in summary.created]
        existing = [login for login in summary.logins if login[0] not in summary.created]
        if created:
            self.stdout.write(f"Created these users, with password '{DEMO_PASSWORD}':")
            self._list(created)
        if existing:
            self.stdout.write("These users already exist; their passwords were left unchanged:")
            self._list(existing)

    def _list(self, logins):
        for username, role, note in logins:
            self.stdout.write(f"  {username:<8} {role:<12} {note}")
