"""Manufacturers' recalls, the units they found, and the shipments back."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for

from .catalog import Product
from .units import Unit, UnitState


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
                pk__in=RecallUnit.objects.filter(unit__custodian_id__any_of=scope).values(
                    "recall_id"
                )
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
                "organization", Lower("reference"), name="recall_reference_ci_unique"
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
