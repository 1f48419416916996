"""Every admin write to webhooks: subscribe, rotate the secret, switch off and on, send a
delivery again. Each is one transaction and says what it refuses."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.selectors import actor_for
from api.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from api.webhooks import signing, transport
from api.webhooks.delivery import enqueue_delivery
from api.webhooks.policies import can_manage_webhooks
from core.outbox import EVENT_TYPES

MAX_URL = WebhookSubscription._meta.get_field("url").max_length


def _require_admin(actor: User, organization_id: int | None = None) -> None:
    who = actor_for(actor)
    if not can_manage_webhooks(actor=who) or (
        organization_id is not None and who.organization_id != organization_id
    ):
        raise PermissionDenied("Only an admin of this organization manages webhooks.")


@transaction.atomic
def subscription_create(
    *, actor: User, url: str, event_types: Iterable[str], description: str = ""
) -> tuple[WebhookSubscription, str]:
    """Subscribe an HTTPS endpoint to event types; returns the subscription and its signing
    secret, which is shown this once (only its encrypted form is kept).

    Raises PermissionDenied for anyone but an admin; ValidationError (by field) for a URL that
    is not https, carries credentials or names a private address, an unknown or empty list of
    event types, or more than settings.WEBHOOK_MAX_SUBSCRIPTIONS subscriptions.
    """
    _require_admin(actor)
    url = (url or "").strip()
    types = list(dict.fromkeys(event_types or []))
    errors = {}
    if not url:
        errors["url"] = "Give the endpoint's URL."
    elif len(url) > MAX_URL:
        errors["url"] = f"The URL has at most {MAX_URL} characters."
    else:
        problem = transport.url_problem(url)
        if problem:
            errors["url"] = problem
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        errors["event_types"] = f"Unknown event type(s): {', '.join(map(str, unknown))}."
    elif not types:
        errors["event_types"] = "Choose at least one event type."
    # Two admins subscribing at once count one after the other: the organization row is the lock.
    Organization.objects.select_for_update().filter(pk=actor.organization_id).first()
    if (
        WebhookSubscription.objects.filter(organization_id=actor.organization_id).count()
        >= settings.WEBHOOK_MAX_SUBSCRIPTIONS
    ):
        errors["url"] = (
            f"An organization has at most {settings.WEBHOOK_MAX_SUBSCRIPTIONS} webhook "
            "subscriptions."
        )
    if errors:
        raise ValidationError(errors)
    secret = signing.new_secret()
    subscription = WebhookSubscription.objects.create(
        organization_id=actor.organization_id,
        url=url,
        description=(description or "").strip()[:100],
        event_types=types,
        secret_encrypted=signing.encrypt_secret(secret),
        created_by=actor,
    )
    return subscription, secret


def _locked(actor: User, subscription: WebhookSubscription) -> WebhookSubscription:
    _require_admin(actor, subscription.organization_id)
    return WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)


@transaction.atomic
def subscription_rotate_secret(*, actor: User, subscription: WebhookSubscription) -> str:
    """Give the subscription a new signing secret and return it (shown once). For
    settings.WEBHOOK_ROTATION_OVERLAP seconds (24 hours) deliveries are signed with the old
    secret too, so the receiver can switch over without refusing any. A second rotation within
    that time drops the oldest secret. Raises PermissionDenied for anyone but its admins."""
    subscription = _locked(actor, subscription)
    secret = signing.new_secret()
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_until = timezone.now() + datetime.timedelta(
        seconds=settings.WEBHOOK_ROTATION_OVERLAP
    )
    subscription.secret_encrypted = signing.encrypt_secret(secret)
    subscription.save(
        update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_until"]
    )
    return secret


@transaction.atomic
def subscription_set_active(
    *, actor: User, subscription: WebhookSubscription, active: bool
) -> WebhookSubscription:
    """Switch a subscription on or off. Off: nothing more is sent (deliveries still waiting
    give up when their turn comes). On again: new events are sent and the failure count starts
    over; failed deliveries can be sent again from the log. Raises PermissionDenied for anyone
    but its admins."""
    subscription = _locked(actor, subscription)
    if active:
        subscription.is_active = True
        subscription.disabled_reason = ""
        subscription.disabled_at = None
        subscription.consecutive_failures = 0
    elif subscription.is_active:
        subscription.is_active = False
        subscription.disabled_reason = f"Switched off by {actor.name}."
        subscription.disabled_at = timezone.now()
    subscription.save(
        update_fields=["is_active", "disabled_reason", "disabled_at", "consecutive_failures"]
    )
    return subscription


@transaction.atomic
def delivery_resend(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, with the same `webhook-id` (the receiver may drop it as a
    duplicate); its retry schedule starts over. Raises PermissionDenied for anyone but its
    admins, ValidationError while its subscription is off or while an attempt is in flight."""
    _require_admin(actor, delivery.subscription.organization_id)
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("subscription")
        .get(pk=delivery.pk)
    )
    now = timezone.now()
    if not delivery.subscription.is_active:
        raise ValidationError("Switch the subscription on before sending deliveries again.")
    if (
        delivery.status == DeliveryStatus.DELIVERING
        and delivery.claimed_until is not None
        and delivery.claimed_until > now
    ):
        raise ValidationError("This delivery is being sent right now; wait for its outcome.")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.claimed_until = None
    delivery.finished_at = None
    delivery.save(
        update_fields=["status", "attempts", "next_attempt_at", "claimed_until", "finished_at"]
    )
    enqueue_delivery(delivery)
    return delivery
