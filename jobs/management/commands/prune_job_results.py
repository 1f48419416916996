"""Delete background jobs finished more than JOB_RESULT_DAYS ago, with their files and results,
and the old rows other apps register for pruning (jobs.pruning).

Run it daily from cron (README, "Production")."""

from django.core.management.base import BaseCommand

from jobs import pruning
from jobs.services import jobs_prune


class Command(BaseCommand):
    help = (
        "Delete background imports and exports finished more than JOB_RESULT_DAYS ago, and "
        "other apps' expired rows."
    )

    def handle(self, *args, **options):
        deleted = jobs_prune()
        self.stdout.write(f"Pruned {deleted} job(s).")
        for what, count in pruning.run_all().items():
            self.stdout.write(f"Pruned {count} {what}.")
