"""Put back the jobs of workers that died (jobs.leases.tasks_sweep). Every worker already does
this every TASK_LEASE_SWEEP seconds; cron it for a deployment whose workers may all be gone."""

from django.core.management.base import BaseCommand

from jobs.leases import tasks_sweep


class Command(BaseCommand):
    help = "Requeue (or fail, when out of attempts) every running job whose lease ran out."

    def handle(self, *args, **options):
        counts = tasks_sweep()
        self.stdout.write(f"{counts['requeued']} requeued, {counts['failed']} failed.")
