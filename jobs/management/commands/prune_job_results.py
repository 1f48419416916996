"""Delete background jobs finished more than JOB_RESULT_DAYS ago, with their files and results.

Run it daily from cron (README, "Production")."""

from django.core.management.base import BaseCommand

from jobs.services import jobs_prune


class Command(BaseCommand):
    help = "Delete background imports and exports finished more than JOB_RESULT_DAYS ago."

    def handle(self, *args, **options):
        deleted = jobs_prune()
        self.stdout.write(f"Pruned {deleted} job(s).")
