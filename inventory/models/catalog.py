"""The catalog (products), the places stock sits (locations) and the facilities it is sold to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.policies import holder_ids_in_scope


class Product(models.Model):
    class Tracking(models.TextChoices):
        SERIAL = "serial", "Serial number"
        LOT = "lot", "Lot"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    catalog_number = models.CharField(max_length=64)
    description = models.CharField(max_length=255)
    manufacturer = models.CharField(max_length=120)
    product_line = models.CharField(max_length=120, blank=True)
    gtin = models.CharField("GTIN", max_length=14, null=True, blank=True)
    # The HIBC identity: the labeler's code (LIC) and its product number. A scan's
    # unit-of-measure digit is the packaging level (0: the unit of use), not part of it.
    hibc_lic = models.CharField(
        "HIBC labeler code", max_length=4, blank=True, default="", db_default=""
    )
    hibc_product = models.CharField(
        "HIBC product number", max_length=18, blank=True, default="", db_default=""
    )
    single_use = models.BooleanField(default=True)
    tracking = models.CharField(max_length=10, choices=Tracking.choices, default=Tracking.SERIAL)

    class Meta:
        ordering = ["catalog_number"]
        constraints = [
            # "abc-1" and "ABC-1" are one catalog number to the people who type them.
            # The organization first: many organizations share one cluster (README).
            models.UniqueConstraint(
                "organization", Lower("catalog_number"), name="product_catalog_number_ci_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "gtin"],
                condition=Q(gtin__isnull=False),
                name="product_gtin_unique",
            ),
            models.CheckConstraint(
                condition=Q(tracking__in=["serial", "lot"]), name="product_tracking_valid"
            ),
            models.UniqueConstraint(
                fields=["organization", "hibc_lic", "hibc_product"],
                condition=~Q(hibc_lic=""),
                name="product_hibc_unique",
            ),
            models.CheckConstraint(
                condition=Q(hibc_lic="", hibc_product="") | (~Q(hibc_lic="") & ~Q(hibc_product="")),
                name="product_hibc_whole",
            ),
        ]

    def __str__(self):
        return f"{self.catalog_number} {self.description}"

    @property
    def hibc(self) -> str:
        """The HIBC identity as a label prints it after the +: LIC then product number."""
        return f"{self.hibc_lic}{self.hibc_product}"


class LocationQuerySet(models.QuerySet):
    def offered_to(self, actor):
        """The locations a picker offers `actor` (an `Actor`): those of the holders in their
        scope and the organization's own (receiving dock, returns). An admin's scope is the
        whole organization, whose trunks (one per rep: thousands) no <select> can list, so an
        admin is offered every location but trunks; services still accept any location whose
        holder fits, and a CSV import names a trunk by its name."""
        qs = self.filter(organization_id=actor.organization_id)
        scope = holder_ids_in_scope(actor=actor)
        if scope is None:
            return qs.exclude(kind=Location.Kind.TRUNK)
        return qs.filter(Q(holder__isnull=True) | Q(holder_id__any_of=scope))


class Location(models.Model):
    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        TRUNK = "trunk", "Trunk"
        BIN = "bin", "Hospital bin"
        OTHER = "other", "Other"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WAREHOUSE)
    # Whose shelf this is: a distributor's warehouse or hospital bin, a rep's trunk. NULL is
    # organization custody (receiving dock, returns, quarantine). Units sitting here belong to
    # this holder; moving units between two locations of one holder is a "moved" entry.
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="locations",
    )

    objects = LocationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="location_name_ci_unique")
        ]

    def __str__(self):
        return self.name


class Facility(models.Model):
    """A hospital or surgery centre: events happen there and facility stock sits there."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", "Hospital"
        ASC = "asc", "Surgery centre"
        CLINIC = "clinic", "Clinic"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.HOSPITAL)
    city = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "facilities"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="facility_name_unique")
        ]

    def __str__(self):
        return self.name
