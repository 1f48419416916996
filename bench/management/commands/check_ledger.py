"""Replay every unit's ledger, in SQL, on the database DATABASE_URL names, and fail unless each
unit's row is where and what its ledger says (bench.build.replay.replay_problems).

Run after restoring a backup (README, "Production"): a restore whose ledger does not replay to
every unit's state is not a restore. Reads the primary even with a replica configured (raw SQL
on the default connection), and changes nothing.

    DATABASE_URL=postgres://.../restored .venv/bin/python manage.py check_ledger
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import Organization
from bench.build.replay import replay_problems
from inventory.models import CustodyEntry, Unit


class Command(BaseCommand):
    help = "Replay every unit's ledger and fail on any unit that disagrees with it."

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("check_ledger replays the ledger in PostgreSQL's SQL only.")
        failed = []
        with connection.cursor() as cursor:
            for org in Organization.objects.order_by("pk"):
                problems = {k: n for k, n in replay_problems(cursor, org.pk).items() if n}
                units = Unit.objects.filter(organization=org).count()
                entries = CustodyEntry.objects.filter(organization=org).count()
                summary = f"{org.name}: {units} units, {entries} ledger entries"
                if problems:
                    failed.append(org.name)
                    details = ", ".join(f"{what}: {n}" for what, n in problems.items())
                    self.stdout.write(f"{summary}, FAILED ({details})")
                else:
                    self.stdout.write(f"{summary}, every unit replays to its state")
        if failed:
            raise CommandError(f"The ledger does not replay for {', '.join(failed)}.")
