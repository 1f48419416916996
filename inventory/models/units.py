"""Units and their append-only custody ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for

from ..identification import Identified
from .catalog import Facility, Location, Product


class UnitState(models.TextChoices):
    AVAILABLE = "available", "Available"
    IN_TRANSIT = "in_transit", "In transit"
    HOLD = "hold", "Hold"
    ALLOCATED = "allocated", "Allocated"
    FACILITY_STOCK = "facility_stock", "Facility stock"
    QUARANTINED = "quarantined", "Quarantined"
    INACTIVE = "inactive", "Inactive"


class UnitQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one answer to "which units may this user see (and move, and use)?".

        Rep: own custody, plus the distributor's while pooling is on. Distributor: own plus
        assigned reps'. Admin: the whole organization, organization custody included.
        Everything else answers 404.
        """
        if not user.is_authenticated or user.organization_id is None:
            return self.none()
        actor = actor_for(user)
        qs = self.filter(organization_id=actor.organization_id)
        scope = holder_ids_in_scope(actor=actor)
        if scope is None:
            return qs
        return qs.filter(custodian_id__any_of=scope)


class Unit(models.Model):
    """One physical unit. Its custodian and state always equal what its ledger says."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="units")
    serial_number = models.CharField(max_length=64, blank=True)
    lot_number = models.CharField(max_length=64, blank=True)
    expiration_date = models.DateField(null=True, blank=True)
    udi = models.CharField("UDI", max_length=255, blank=True)
    # NULL custodian = organization custody (receiving dock, returns, quarantine).
    custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custody_units",
    )
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT)
    state = models.CharField(max_length=20, choices=UnitState.choices, default=UnitState.AVAILABLE)
    # The facility a unit was sold to (facility stock); kept after it is consumed, as history.
    facility = models.ForeignKey(
        Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Sequence number of the unit's last ledger entry; the next entry takes ledger_seq + 1.
    ledger_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["expiration_date", "pk"]
        constraints = [
            # One device, one record: D-1002 and d-1002 are one serial (migration 0018).
            models.UniqueConstraint(
                Lower("serial_number"),
                "product",
                condition=~Q(serial_number=""),
                name="unit_serial_ci_unique_per_product",
            ),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in UnitState]), name="unit_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="facility_stock") | Q(facility__isnull=False),
                name="unit_facility_stock_has_facility",
            ),
            # What the ledger's composite foreign key (unit, organization) points at, so that
            # no entry names another organization than its unit's (migration 0024).
            models.UniqueConstraint(fields=["id", "organization"], name="unit_id_org_unique"),
        ]
        indexes = [
            models.Index(fields=["organization", "custodian", "state"]),
            # A holder's stock in list order (earliest expiry first) without scanning the org.
            models.Index(
                fields=["custodian", "expiration_date", "id"], name="unit_custodian_expiry_idx"
            ),
            models.Index(fields=["organization", "expiration_date", "id"]),
            # A catalog number's units in list order (the search's exact catalog-number step).
            models.Index(
                fields=["product", "expiration_date", "id"], name="unit_product_expiry_idx"
            ),
            # Scans and recalls find units by exact lot or serial, always inside one
            # organization: with many on one cluster, a lot shared by every organization's
            # stock would otherwise be read for each (migration 0024).
            models.Index(fields=["organization", "lot_number"], name="unit_org_lot_idx"),
            models.Index(fields=["organization", "serial_number"], name="unit_org_serial_idx"),
            # Dashboard: expiry counts per holder read only live units near expiry, and pool
            # levels count a holder's available units per location, from the index alone.
            models.Index(
                fields=["organization", "custodian", "expiration_date"],
                condition=~Q(state="inactive"),
                name="unit_live_expiry_idx",
            ),
            models.Index(
                fields=["organization", "expiration_date"],
                condition=~Q(state="inactive"),
                name="unit_org_live_expiry_idx",
            ),
            models.Index(
                fields=["organization", "custodian", "location", "expiration_date"],
                condition=Q(state="available"),
                name="unit_available_location_idx",
            ),
            # Par levels: usable stock per (location, product, holder), counted for a few
            # locations and the products with a par there, from the index alone (the
            # location and product indexes ANDed read 2,500 heap pages for a distributor's
            # dashboard at full scale: 19 ms, against 2 ms).
            models.Index(
                fields=[
                    "location",
                    "product",
                    "expiration_date",
                    "custodian",
                    "organization",
                    "id",
                ],
                condition=Q(state="available"),
                name="unit_par_count_idx",
            ),
            # Dashboard: facility stock per facility, for the organization or some holders, read
            # from the index alone instead of joining and hashing every unit.
            models.Index(
                fields=["organization", "custodian", "facility"],
                condition=Q(state="facility_stock"),
                name="unit_facility_stock_idx",
            ),
            # The admins' hold queue and the dashboard's count of it, without scanning the org.
            models.Index(
                fields=["organization", "id"],
                condition=Q(state="hold"),
                name="unit_on_hold_idx",
            ),
        ]

    def __str__(self):
        ident = f"SN {self.serial_number}" if self.serial_number else f"lot {self.lot_number}"
        return f"{self.product.catalog_number} {ident}"

    @property
    def label(self):
        """How a person names the unit in a message: serial, else lot and id."""
        if self.serial_number:
            return self.serial_number
        return f"lot {self.lot_number} (#{self.pk})"

    def is_expired(self, today=None):
        today = today or timezone.localdate()
        return self.expiration_date is not None and self.expiration_date < today


class EntryKind(models.TextChoices):
    RECEIVED = "received", "Received"
    TRANSFER_SENT = "transfer_sent", "Transfer sent"
    TRANSFER_ACCEPTED = "transfer_accepted", "Transfer accepted"
    TRANSFER_DECLINED = "transfer_declined", "Transfer declined"
    TRANSFER_CANCELLED = "transfer_cancelled", "Transfer cancelled"
    HOLD_RELEASED = "hold_released", "Hold released"
    MARKED_USED = "marked_used", "Marked used"
    UNMARKED = "unmarked", "Unmarked"
    CONSUMED = "consumed", "Consumed"
    SOLD_TO_FACILITY = "sold_to_facility", "Sold to facility"
    ADJUSTED = "adjusted", "Adjusted"
    REALLOCATED = "reallocated", "Re-allocated on reopen"
    MOVED = "moved", "Moved"
    QUARANTINED = "quarantined", "Quarantined"
    RETURNED = "returned", "Returned"
    RECALL_WITHDRAWN = "recall_withdrawn", "Recall withdrawn"


class AppendOnlyError(Exception):
    """The custody ledger is never updated or deleted."""


class CustodyEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Custody ledger entries are never updated.")

    def delete(self):
        raise AppendOnlyError("Custody ledger entries are never deleted.")


class CustodyEntry(models.Model):
    """One change of a unit's custodian or state. Append-only (and a trigger on PostgreSQL).

    On PostgreSQL a composite foreign key (unit, organization) -> unit (id, organization) refuses
    an entry whose organization is not its unit's (migration 0024; Django cannot declare it).

    from/to custodian and from/to state are the unit's values before and after the entry, so
    replaying a unit's entries in sequence order yields its current custodian and state.
    A NULL custodian is organization custody.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="ledger")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=30, choices=EntryKind.choices)
    from_custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, choices=UnitState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transfer = models.ForeignKey(
        "Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    # The event a "marked used", "unmarked", "consumed" (or reopen) entry belongs to. A plain
    # column, not a foreign key: events build on inventory, never the other way round. The
    # events services write it and keep it pointing at an event of the same organization.
    event_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The recall a "quarantined", "returned" or "recall withdrawn" entry acts on.
    recall = models.ForeignKey(
        "Recall", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    # Where the unit sat before and after the entry (recorded from migration 0020 on; a
    # "moved" entry changes only these).
    from_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # How the unit was picked for a "marked used" entry: a recall investigation tells a
    # scanned implant from a clicked one. Empty for other entries and older ones.
    identified_by = models.CharField(
        max_length=30, blank=True, default="", db_default="", choices=Identified.choices
    )
    at = models.DateTimeField(default=timezone.now)
    # An offline mark's time by the phone's clock, kept apart from `at` (when the server
    # recorded it, at sync): a phone's clock can be wrong, so no rule reads it.
    reported_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    # The id of the transaction that inserted the entry (PostgreSQL's pg_current_xact_id(), set
    # by a trigger whatever the insert says; migration 0023). Ids are handed out before commit,
    # so they commit out of order: the change feed (inventory.selectors.ledger_feed) reads in
    # (xact, id) order, and only entries of transactions older than every open one. 0 on
    # other databases (one writer at a time, so id order is commit order) and for entries
    # written before the column existed. A logical dump restored into a new cluster restarts
    # transaction ids: feed followers must then start over from the beginning.
    xact = models.BigIntegerField(default=0, editable=False)

    objects = CustodyEntryQuerySet.as_manager()

    class Meta:
        ordering = ["unit_id", "sequence"]
        verbose_name_plural = "custody entries"
        constraints = [
            models.UniqueConstraint(fields=["unit", "sequence"], name="ledger_sequence_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in EntryKind]), name="ledger_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(to_state__in=[s.value for s in UnitState]),
                name="ledger_to_state_valid",
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="ledger_sequence_positive"),
        ]
        indexes = [
            # The change feed in (xact, id) order: the whole organization's (an admin, an
            # integration), and one holder's entries in and out (a rep's few holders, read
            # apart and merged), each from its cursor on without sorting.
            models.Index(fields=["organization", "xact", "id"], name="ledger_feed_org_idx"),
            models.Index(fields=["to_custodian", "xact", "id"], name="ledger_feed_to_idx"),
            models.Index(fields=["from_custodian", "xact", "id"], name="ledger_feed_from_idx"),
        ]

    def __str__(self):
        return f"{self.unit_id}#{self.sequence} {self.kind}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Custody ledger entries are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Custody ledger entries are never deleted.")
