"""Webhooks: an admin's subscriptions, the outbox of events, and one delivery per (subscription,
event) with its attempts.

The event row is written in the transaction of the action it tells (core.outbox, api.webhooks.
outbox), with one delivery per active subscription of its type. Workers then claim deliveries
one at a time under a lease (api.webhooks.delivery), so one attempt per event and endpoint is in
flight, and every retry of it carries the same `webhook_id`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookSubscriptionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """An organization's subscriptions, to its active admins; nobody else sees any."""
        if (
            not user.is_authenticated
            or user.organization_id is None
            or user.role != "admin"
            or not user.is_active
        ):
            return self.none()
        return self.filter(organization_id=user.organization_id)


class WebhookSubscription(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    url = models.URLField("endpoint URL", max_length=500)
    description = models.CharField(max_length=100, blank=True)
    # A list of core.outbox type names; JSON rather than an array so SQLite (the demo) works.
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    # Why and when it was switched off (by an admin, or after repeated failures).
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Deliveries given up in a row (each after its whole retry schedule); any success resets it.
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The signing secret, Fernet-encrypted with settings.WEBHOOK_SECRET_KEY (api.webhooks.
    # signing): signing needs the secret itself, so it cannot be a hash.
    secret_encrypted = models.TextField()
    # After a rotation, deliveries are signed with this one too until `previous_secret_until`.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookSubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "is_active"], name="webhook_sub_org_active_idx"),
            models.Index(
                fields=["organization", "-created_at", "-id"], name="webhook_sub_list_idx"
            ),
        ]

    def __str__(self):
        return self.description or self.url

    def wants(self, type: str) -> bool:
        return type in (self.event_types or [])


class WebhookEvent(models.Model):
    """One thing that happened, as every subscriber of its type receives it."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    type = models.CharField(max_length=40)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # The `webhook-id` header: the same on every attempt, so a receiver can drop duplicates.
    webhook_id = models.CharField(max_length=40, unique=True, default=new_webhook_id)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="webhook_event_idx")]

    def __str__(self):
        return f"{self.type} {self.webhook_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    DELIVERING = "delivering", "Being sent"
    SUCCEEDED = "succeeded", "Delivered"
    RETRYING = "retrying", "Failed; will retry"
    GAVE_UP = "gave_up", "Gave up"


class WebhookDelivery(models.Model):
    """An event on its way to one subscription: its status and its latest attempt."""

    Status = DeliveryStatus

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due (pending, retrying); None once finished.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's lease while it attempts (delivering): nobody else claims it before then.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Only the start of the receiver's answer is kept (WEBHOOK_RESPONSE_KEEP characters).
    last_response = models.TextField(blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"
            ),
        ]
        indexes = [
            # The log of one subscription, newest first, by cursor.
            models.Index(
                fields=["subscription", "-created_at", "-id"], name="webhook_delivery_log_idx"
            ),
            # What is due: only unfinished rows are in the index.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying", "delivering"]),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.event} to {self.subscription_id}: {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.GAVE_UP)
