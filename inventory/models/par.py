"""Par levels: the minimum stock of a product at a location."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .catalog import Location, Product


class ParLevel(models.Model):
    """The minimum stock ("par") of one product at one of a distributor's locations, and the
    quantity a replenishment fills it back to. `alerted_at` is set when the level crossed below
    par and its holder was told; it is cleared when the level is back at or above par, which
    re-arms the alert."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="par_levels")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="par_levels")
    par = models.PositiveIntegerField()
    reorder_to = models.PositiveIntegerField()
    alerted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["location", "product"]
        constraints = [
            models.UniqueConstraint(fields=["location", "product"], name="par_level_once"),
            models.CheckConstraint(condition=Q(par__gte=1), name="par_level_par_positive"),
            models.CheckConstraint(
                condition=Q(reorder_to__gte=F("par")), name="par_level_reorder_to_at_least_par"
            ),
        ]

    def __str__(self):
        return f"{self.product.catalog_number} at {self.location}: par {self.par}"
