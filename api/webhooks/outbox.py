"""The api app's outbox sink (registered with core.outbox in ApiConfig.ready)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import timezone

from api.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from api.webhooks.delivery import enqueue_delivery


def record_event(*, organization_id: int, type: str, data: Mapping) -> WebhookEvent | None:
    """Write the event and one pending delivery per active subscription of the organization to
    `type`, and enqueue their delivery, all in the caller's transaction: the action, its event
    and the queue rows commit together or not at all. Writes nothing when nobody subscribes.
    One query when nobody does."""
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(
            organization_id=organization_id, is_active=True
        ).only("pk", "organization_id", "event_types")
        # Filtered here, not with a JSON lookup: SQLite (the demo) has no JSON containment.
        if s.wants(type)
    ]
    if not subscriptions:
        return None
    now = timezone.now()
    event = WebhookEvent.objects.create(
        organization_id=organization_id, type=type, payload=dict(data), created_at=now
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=s,
            event=event,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for s in subscriptions
    )
    for delivery in deliveries:
        enqueue_delivery(delivery)
    return event
