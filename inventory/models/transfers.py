"""Transfers: custody offered by one holder and accepted or declined by another."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.policies import holder_ids_in_scope, rep_holder_ids
from accounts.selectors import actor_for

from .catalog import Location
from .units import Unit


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
        # A distributor's lists name hundreds of people: each bound once (core.lookups).
        return qs.filter(
            Q(sender_id__any_of=named | scope)
            | Q(recipient_id__any_of=named)
            | Q(started_by_id__any_of=named)
            | Q(on_behalf_of_id__any_of=named)
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
            # "Sent, awaiting acceptance": started by me OR sent from my scope. With this one
            # beside the sender index, PostgreSQL ORs two index scans instead of filtering
            # every transfer of the organization (migration 0028).
            models.Index(
                fields=["organization", "status", "started_by"], name="transfer_org_starter_idx"
            ),
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
