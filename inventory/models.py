"""Catalog, locations, units and the append-only custody ledger, plus transfers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.policies import holder_ids_in_scope, rep_holder_ids
from accounts.selectors import actor_for

from .identification import Identified


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
    single_use = models.BooleanField(default=True)
    tracking = models.CharField(max_length=10, choices=Tracking.choices, default=Tracking.SERIAL)

    class Meta:
        ordering = ["catalog_number"]
        constraints = [
            # "abc-1" and "ABC-1" are one catalog number to the people who type them.
            models.UniqueConstraint(
                Lower("catalog_number"), "organization", name="product_catalog_number_ci_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "gtin"],
                condition=Q(gtin__isnull=False),
                name="product_gtin_unique",
            ),
            models.CheckConstraint(
                condition=Q(tracking__in=["serial", "lot"]), name="product_tracking_valid"
            ),
        ]

    def __str__(self):
        return f"{self.catalog_number} {self.description}"


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
        return qs.filter(Q(holder__isnull=True) | Q(holder_id__in=scope))


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
            models.UniqueConstraint(Lower("name"), "organization", name="location_name_ci_unique")
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
        return qs.filter(custodian_id__in=scope)


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
            models.Index(fields=["lot_number"]),
            models.Index(fields=["serial_number"]),
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
    note = models.CharField(max_length=500, blank=True)

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

    def __str__(self):
        return f"{self.unit_id}#{self.sequence} {self.kind}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Custody ledger entries are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Custody ledger entries are never deleted.")


class TransferQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Transfers that name the user (or, for a distributor, one of their reps) as sender,
        recipient, starter or the person acted for, and transfers whose units were all in the
        user's scope when sent, i.e. whose sender is in it.

        So a pooled rep sees the distributor's transfers of the distributor's own stock, but not
        a transfer that someone of another group sent *to* the distributor: its units were
        never the rep's to see. Admins see the organization's.
        """
        if not user.is_authenticated or user.organization_id is None:
            return self.none()
        actor = actor_for(user)
        qs = self.filter(organization_id=actor.organization_id)
        scope = holder_ids_in_scope(actor=actor)
        if scope is None:
            return qs
        if not actor.is_active:
            return qs.none()
        named = {actor.id, *rep_holder_ids(actor=actor)}
        return qs.filter(
            Q(sender_id__in=named | scope)
            | Q(recipient_id__in=named)
            | Q(started_by_id__in=named)
            | Q(on_behalf_of_id__in=named)
        )


class Transfer(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    # NULL sender/recipient = organization custody.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # Where the units will sit once the recipient has them; None = not said (location cleared).
    to_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    units = models.ManyToManyField(Unit, through="TransferLine", related_name="transfers")

    objects = TransferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "completed", "declined", "cancelled"]),
                name="transfer_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""),
                name="transfer_decline_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "recipient"]),
            models.Index(fields=["organization", "status", "sender"]),
            # The transfers page's "Recent" list, newest first, read a page at a time.
            models.Index(fields=["organization", "-created_at", "-id"], name="transfer_recent_idx"),
        ]

    def __str__(self):
        return f"Transfer #{self.pk}"

    @property
    def resolved_for(self):
        """Whom the person who closed the transfer answered for, when not themselves: the
        recipient of an accepted or declined transfer, the sender of a cancelled one."""
        party = self.sender if self.status == self.Status.CANCELLED else self.recipient
        if self.resolved_by_id is None or party is None or party.pk == self.resolved_by_id:
            return None
        return party


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="lines")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="transfer_lines")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "unit"], name="transfer_line_unique")
        ]

    def __str__(self):
        return f"{self.transfer} unit {self.unit_id}"


# --- Recalls and par levels --------------------------------------------------------------------


class RecallQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Recalls are the organization's business: admins see them all; distributors see
        those that touch a unit in their scope (their own stock or their reps'). Reps see
        recalls through the refusals and notices that name them, not this list."""
        if not user.is_authenticated or user.organization_id is None:
            return self.none()
        actor = actor_for(user)
        qs = self.filter(organization_id=actor.organization_id)
        if not actor.is_active:
            return qs.none()
        if actor.is_admin:
            return qs
        if actor.is_distributor:
            scope = holder_ids_in_scope(actor=actor)
            return qs.filter(
                pk__in=RecallUnit.objects.filter(unit__custodian_id__in=scope).values("recall_id")
            )
        return qs.none()


class Recall(models.Model):
    """A manufacturer's recall of some lots or serials of one product."""

    class RecallClass(models.TextChoices):
        I = "I", "Class I"  # noqa: E741 - the FDA's name for it
        II = "II", "Class II"
        III = "III", "Class III"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Withdrawn"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    reference = models.CharField(max_length=80)
    reason = models.CharField(max_length=1000)
    recall_class = models.CharField("class", max_length=3, choices=RecallClass.choices)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="recalls")
    # The affected lots and serials as the notice lists them (either may be empty, not both).
    lot_numbers = models.JSONField(default=list, blank=True)
    serial_numbers = models.JSONField(default=list, blank=True)
    recall_date = models.DateField("date")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdraw_reason = models.CharField(max_length=500, blank=True)

    objects = RecallQuerySet.as_manager()

    class Meta:
        ordering = ["-recall_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                Lower("reference"), "organization", name="recall_reference_ci_unique"
            ),
            models.CheckConstraint(
                condition=Q(recall_class__in=["I", "II", "III"]), name="recall_class_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "withdrawn"]), name="recall_status_valid"
            ),
        ]

    def __str__(self):
        return f"Recall {self.reference}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class RecallReturn(models.Model):
    """One shipment of quarantined units back to the manufacturer."""

    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="returns")
    reference = models.CharField(max_length=80)
    returned_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-returned_on", "-pk"]

    def __str__(self):
        return f"Return {self.reference} ({self.recall})"


class RecallUnit(models.Model):
    """A unit a recall found when it was recorded, with the state it was found in; or one
    received later into a lot or serial it names (`on_receipt`), quarantined as it came in
    (`found_state` is then the state it was received in)."""

    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="recall_units")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="recall_units")
    found_state = models.CharField(max_length=20, choices=UnitState.choices)
    # A database default too: the bench's bulk COPY names its columns and leaves this one out.
    on_receipt = models.BooleanField(default=False, db_default=False)
    returned_in = models.ForeignKey(
        RecallReturn, null=True, blank=True, on_delete=models.PROTECT, related_name="units"
    )

    class Meta:
        ordering = ["recall", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["recall", "unit"], name="recall_unit_once"),
        ]
        indexes = [models.Index(fields=["unit", "recall"], name="recall_unit_by_unit_idx")]

    def __str__(self):
        return f"{self.recall} · unit {self.unit_id}"

    @property
    def found_display(self) -> str:
        """How the recall page says where the recall found the unit."""
        return "Quarantined on receipt" if self.on_receipt else self.get_found_state_display()


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
