"""Send every webhook delivery that is due now, behind the queue (cron, or by hand after an
outage); safe beside running workers: each delivery is claimed under its lease."""

from django.core.management.base import BaseCommand

from api.webhooks.delivery import deliver_due


class Command(BaseCommand):
    help = "Attempt the webhook deliveries that are due now (at most --limit)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, limit, **options):
        outcomes = deliver_due(limit=max(1, limit))
        summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        self.stdout.write(summary or "Nothing due.")
