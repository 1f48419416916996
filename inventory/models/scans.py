"""What scans leave behind besides custody: labels that disagreed with a unit's record."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..udi import FORMAT_GS1, FORMAT_GS1_DIGITAL_LINK, FORMAT_HIBCC, GROUP_SEPARATOR
from .units import Unit

FORMAT_NAMES = {
    FORMAT_GS1: "GS1",
    FORMAT_GS1_DIGITAL_LINK: "GS1 Digital Link",
    FORMAT_HIBCC: "HIBCC",
}


@dataclass(frozen=True)
class ComparedField:
    """One field as the label said it and as the record had it; `differs` when both carry a
    value and they disagree (a field the record lacks is no disagreement, as in the scan)."""

    name: str
    label: str
    record: str
    checked: bool = True  # False: shown only (the serial, which found the unit ignoring case)

    @property
    def differs(self) -> bool:
        return self.checked and bool(self.label and self.record and self.label != self.record)


class LabelMismatch(models.Model):
    """A scanned label that named a unit by serial while its product (GTIN or HIBC), lot or
    expiry disagreed with the unit's record. The scan itself was refused and changed nothing;
    this row keeps what the label said and what the record said then, for an admin to check
    the box and correct the data, then mark the row resolved."""

    class Where(models.TextChoices):
        # Which scan box read the label; more boxes add their own value here.
        MARK_USED = "mark_used", "Mark Used"
        TRANSFER = "transfer", "Transfer"
        SCAN = "scan", "Scan page"
        RECEIVE = "receive", "Receiving"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="label_mismatches")
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    where = models.CharField(max_length=30, choices=Where.choices)
    # The case the scan was made on (Mark Used). A plain column, not a foreign key: events
    # build on inventory, never the other way round (as CustodyEntry.event_id).
    event_id = models.BigIntegerField(null=True, blank=True)
    # The line as the scanner sent it, a GS separator included.
    label_text = models.CharField(max_length=500)
    label_format = models.CharField(max_length=30, blank=True)
    # What the label said...
    label_gtin = models.CharField("label GTIN", max_length=14, blank=True)
    label_hibc = models.CharField("label HIBC", max_length=40, blank=True)
    label_lot = models.CharField(max_length=64, blank=True)
    label_serial = models.CharField(max_length=64, blank=True)
    label_expiry = models.DateField(null=True, blank=True)
    # ...and what the unit's record said when it was scanned.
    record_gtin = models.CharField("record GTIN", max_length=14, blank=True)
    record_hibc = models.CharField("record HIBC", max_length=40, blank=True)
    record_lot = models.CharField(max_length=64, blank=True)
    record_expiry = models.DateField(null=True, blank=True)
    # The refusal the person scanning was shown.
    message = models.CharField(max_length=1000)
    # An admin marks the row dealt with once the data (or the box) is put right.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "label mismatches"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True, resolved_by__isnull=True)
                | models.Q(resolved_at__isnull=False, resolved_by__isnull=False),
                name="label_mismatch_resolved_whole",
            ),
        ]
        indexes = [
            # The admins' list, newest first, read a page at a time (open ones by default).
            models.Index(fields=["organization", "-at", "-id"], name="label_mismatch_recent_idx"),
            models.Index(
                fields=["organization", "-at", "-id"],
                condition=models.Q(resolved_at__isnull=True),
                name="label_mismatch_open_idx",
            ),
        ]

    def __str__(self):
        return f"Label mismatch #{self.pk} on unit {self.unit_id}"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def label_format_name(self) -> str:
        return FORMAT_NAMES.get(self.label_format, self.label_format)

    @property
    def label_text_shown(self) -> str:
        """The scanned text with its invisible GS separators written as <GS> (how a person
        types one into a scan box)."""
        return self.label_text.replace(GROUP_SEPARATOR, "<GS>")

    @property
    def compared(self) -> list[ComparedField]:
        """The label's fields beside the record's, in one order for both columns: the product
        (by GTIN or HIBC, whichever either side carries), lot, serial and expiry."""
        fields = []
        if self.label_gtin or self.record_gtin:
            fields.append(ComparedField("GTIN", self.label_gtin, self.record_gtin))
        if self.label_hibc or self.record_hibc:
            fields.append(ComparedField("HIBC", self.label_hibc, self.record_hibc))
        label_expiry = self.label_expiry.isoformat() if self.label_expiry else ""
        record_expiry = self.record_expiry.isoformat() if self.record_expiry else ""
        serial = ComparedField("Serial", self.label_serial, self.unit.serial_number, checked=False)
        return [
            *fields,
            ComparedField("Lot", self.label_lot, self.record_lot),
            serial,
            ComparedField("Expiry", label_expiry, record_expiry),
        ]
