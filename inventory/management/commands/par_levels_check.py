"""The daily run: units expire without any write, so every par level is checked once a day."""

from django.core.management.base import BaseCommand

from inventory.models import ParLevel
from inventory.services.par import par_levels_check


class Command(BaseCommand):
    help = "Check every par level against its stock; alert the locations that fell below par."

    def handle(self, *args, **options):
        ids = list(ParLevel.objects.values_list("pk", flat=True))
        alerted = par_levels_check(level_ids=ids)
        self.stdout.write(f"Checked {len(ids)} par level(s); {len(alerted)} fell below par.")
