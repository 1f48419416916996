"""Requeue jobs whose worker died while running them (cron, every few minutes)."""

import datetime

from django.core.management.base import BaseCommand

from core.tasks import sweep_stale_tasks


class Command(BaseCommand):
    help = "Requeue jobs left RUNNING longer than TASK_STALE_AFTER (or --older-than) seconds."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=None, help="Seconds (default TASK_STALE_AFTER)."
        )

    def handle(self, *args, older_than=None, **options):
        counts = sweep_stale_tasks(
            older_than=None if older_than is None else datetime.timedelta(seconds=older_than)
        )
        self.stdout.write(f"{counts['requeued']} requeued, {counts['failed']} failed.")
