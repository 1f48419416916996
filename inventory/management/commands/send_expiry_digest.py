"""Email each holder the units in their custody that expired or expire within 30 days.

Run it daily from cron (README, "Production"); a second run on the same day sends nothing twice.
"""

from django.core.management.base import BaseCommand

from inventory.services.expiry_digest import expiry_digest_enqueue


class Command(BaseCommand):
    help = "Enqueue the daily expiry digest: one email per holder with expiring units."

    def handle(self, *args, **options):
        enqueued = expiry_digest_enqueue()
        self.stdout.write(f"Enqueued {enqueued} expiry digest email(s).")
