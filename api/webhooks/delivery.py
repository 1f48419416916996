"""Delivering webhook events: claim, attempt, record; retry, give up, switch a subscription off.

One attempt per delivery is in flight at a time, whatever the number of workers or of queued
tasks naming it. A worker claims the delivery in a short transaction (SELECT ... FOR UPDATE SKIP
LOCKED, only while it is due) and sets a lease (`claimed_until`) longer than the attempt can
last (connect + read timeouts, enforced by the transport's watchdog, plus LEASE_MARGIN). The
HTTP call runs outside any transaction; its result is recorded only while the worker still
holds the same lease. Another worker meanwhile finds the delivery leased, not due, and leaves
it. A worker that dies mid-attempt leaves a lease that runs out; the delivery is then due again.

So the task is safe to run any number of times: a run that finds nothing due does nothing.

Retries keep the event's `webhook-id` and wait settings.WEBHOOK_RETRY_SCHEDULE seconds in turn;
after the last the delivery gives up. The rule for switching off: a subscription whose
deliveries give up settings.WEBHOOK_DISABLE_AFTER times in a row (a success in between resets
the count) is switched off, and the organization's admins are told.
"""

from __future__ import annotations

import datetime
import json
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, Role, User
from accounts.services import notify
from api.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from api.webhooks import signing, transport
from core.tasks import task

logger = logging.getLogger("trunkpool.webhooks")

UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.DELIVERING)
# How much longer than an attempt's own time limit a lease lasts.
LEASE_MARGIN = 60


def lease_length() -> datetime.timedelta:
    return datetime.timedelta(
        # The lookup (bounded by the connect timeout), then connecting and reading.
        seconds=2 * settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT + LEASE_MARGIN
    )


@task
def deliver_webhook(*, delivery_id: int, organization_id: int) -> None:
    """The queued job: one attempt at the delivery if it is due (see attempt_delivery)."""
    attempt_delivery(delivery_id=delivery_id)


def enqueue_delivery(delivery: WebhookDelivery, *, at: datetime.datetime | None = None) -> None:
    """Queue an attempt at `delivery` (at `at`, else now), in the caller's transaction."""
    queued = deliver_webhook.using(run_after=at) if at is not None else deliver_webhook
    queued.enqueue(delivery_id=delivery.pk, organization_id=delivery.subscription.organization_id)


def body_of(event: WebhookEvent) -> bytes:
    """The request body, the same bytes on every attempt: the Standard Webhooks envelope."""
    envelope = {"type": event.type, "timestamp": event.created_at, "data": event.payload}
    return json.dumps(
        envelope, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True
    ).encode()


def signing_secrets(subscription: WebhookSubscription, now: datetime.datetime) -> list[str]:
    """The current secret, and the previous one while a rotation's overlap lasts."""
    secrets = [signing.decrypt_secret(subscription.secret_encrypted)]
    if (
        subscription.previous_secret_encrypted
        and subscription.previous_secret_until is not None
        and subscription.previous_secret_until > now
    ):
        secrets.append(signing.decrypt_secret(subscription.previous_secret_encrypted))
    return secrets


def attempt_delivery(*, delivery_id: int) -> str:
    """Make one attempt at the delivery if it is due and nobody holds it; record the outcome.

    Returns what happened: "succeeded", "retrying", "gave_up", "switched_off" (its
    subscription is off: given up without trying), "busy" (another worker holds it), "not_due"
    (finished, or waiting for its next attempt), or "lost_lease" (the attempt outlived its
    lease and someone else's attempt counts instead).
    """
    claimed = _claim(delivery_id)
    if isinstance(claimed, str):
        return claimed
    delivery, lease = claimed
    now = timezone.now()
    status_code, response, error = None, "", ""
    try:
        secrets = signing_secrets(delivery.subscription, now)
    except signing.InvalidToken:
        error = "The endpoint's secret cannot be decrypted: was WEBHOOK_SECRET_KEY changed?"
    else:
        body = body_of(delivery.event)
        headers = signing.sign_headers(
            webhook_id=delivery.event.webhook_id, timestamp=now, body=body, secrets=secrets
        )
        try:
            answer = transport.post(delivery.subscription.url, body=body, headers=headers)
        except (transport.DeliveryRefused, transport.DeliveryFailed) as exc:
            error = str(exc)[:500]
        else:
            status_code, response = answer.status, answer.body
            if 300 <= answer.status < 400:
                error = f"Redirects are not followed ({answer.status} to {answer.location or '?'})."
            elif not 200 <= answer.status < 300:
                error = f"The endpoint answered {answer.status}."
    return _record(
        delivery_id, lease=lease, status_code=status_code, response=response, error=error
    )


def _claim(delivery_id: int) -> tuple[WebhookDelivery, datetime.datetime] | str:
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "subscription")
            .filter(pk=delivery_id, status__in=UNFINISHED, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return _why_not_claimed(delivery_id, now)
        if not delivery.subscription.is_active:
            _finish(
                delivery, DeliveryStatus.GAVE_UP, now, error="The subscription is switched off."
            )
            return "switched_off"
        lease = now + lease_length()
        delivery.status = DeliveryStatus.DELIVERING
        delivery.attempts += 1
        delivery.claimed_until = lease
        # A leased delivery is due again when its lease runs out (its worker may have died).
        delivery.next_attempt_at = lease
        delivery.last_attempt_at = now
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "claimed_until",
                "next_attempt_at",
                "last_attempt_at",
            ]
        )
    return delivery, lease


def _why_not_claimed(delivery_id: int, now: datetime.datetime) -> str:
    row = (
        WebhookDelivery.objects.filter(pk=delivery_id)
        .select_related("subscription")
        .only("status", "claimed_until", "subscription__organization_id")
        .first()
    )
    if row is None or row.status != DeliveryStatus.DELIVERING:
        return "not_due"  # finished, waiting, or being claimed this instant by another worker
    if row.claimed_until is not None and row.claimed_until > now:
        # Its holder records the outcome and queues any retry; should the holder die, this
        # job comes back when the lease ends and takes over.
        enqueue_delivery(row, at=row.claimed_until)
    return "busy"


def _record(
    delivery_id: int, *, lease: datetime.datetime, status_code, response: str, error: str
) -> str:
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status=DeliveryStatus.DELIVERING, claimed_until=lease)
            .first()
        )
        if delivery is None:
            logger.warning("Webhook delivery %s outlived its lease; result dropped", delivery_id)
            return "lost_lease"
        subscription = WebhookSubscription.objects.select_for_update().get(
            pk=delivery.subscription_id
        )
        delivery.last_status_code = status_code
        delivery.last_response = response
        delivery.last_error = error
        if not error:
            _finish(delivery, DeliveryStatus.SUCCEEDED, now)
            if subscription.consecutive_failures:
                subscription.consecutive_failures = 0
                subscription.save(update_fields=["consecutive_failures"])
            return "succeeded"
        schedule = settings.WEBHOOK_RETRY_SCHEDULE
        if delivery.attempts <= len(schedule):
            delivery.status = DeliveryStatus.RETRYING
            delivery.claimed_until = None
            delivery.next_attempt_at = now + datetime.timedelta(
                seconds=schedule[delivery.attempts - 1]
            )
            delivery.save(update_fields=_RESULT_FIELDS)
            enqueue_delivery(delivery, at=delivery.next_attempt_at)
            return "retrying"
        _finish(delivery, DeliveryStatus.GAVE_UP, now, error=error)
        subscription.consecutive_failures += 1
        subscription.save(update_fields=["consecutive_failures"])
        if (
            subscription.is_active
            and subscription.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER
        ):
            _switch_off_failing(subscription, now)
        return "gave_up"


_RESULT_FIELDS = [
    "status",
    "claimed_until",
    "next_attempt_at",
    "finished_at",
    "last_status_code",
    "last_response",
    "last_error",
]


def _finish(
    delivery: WebhookDelivery, status: str, now: datetime.datetime, *, error: str | None = None
) -> None:
    delivery.status = status
    delivery.claimed_until = None
    delivery.next_attempt_at = None
    delivery.finished_at = now
    if error is not None:
        delivery.last_error = error[:500]
    delivery.save(update_fields=_RESULT_FIELDS)


def _switch_off_failing(subscription: WebhookSubscription, now: datetime.datetime) -> None:
    """Switch the (locked) subscription off and tell the organization's admins, in-app and by
    email, in the same transaction (a retried job does not tell twice: it finds it off)."""
    count = subscription.consecutive_failures
    subscription.is_active = False
    subscription.disabled_at = now
    subscription.disabled_reason = (
        f"Switched off automatically: {count} deliveries in a row failed after every retry."
    )
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    host = urlsplit(subscription.url).hostname or subscription.url
    admins = User.objects.filter(
        organization_id=subscription.organization_id, role=Role.ADMIN, is_active=True
    ).values_list("pk", flat=True)
    notify(
        recipients=list(admins),
        kind=NotificationKind.WEBHOOK_DISABLED,
        actor=None,
        organization_id=subscription.organization_id,
        summary=f"Webhook to {host} switched off after {count} failed deliveries",
        detail=(
            f"Deliveries to {subscription.url} kept failing after every retry, so Trunkpool "
            "stopped sending to it. Check the endpoint, then switch the subscription on again "
            "and send the failed deliveries again from its log."
        ),
        url=reverse("integrations:webhook_detail", args=[subscription.pk]),
        email_key=f"webhook-disabled:{subscription.pk}:{int(now.timestamp())}",
    )
    logger.warning("Webhook subscription %s switched off after failures", subscription.pk)


def deliver_due(*, limit: int = 100) -> dict[str, int]:
    """Attempt up to `limit` deliveries that are due now, oldest first (a sweep behind the
    queue: `manage.py deliver_webhooks`). Returns how many ended each way."""
    due = (
        WebhookDelivery.objects.filter(status__in=UNFINISHED, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {}
    for delivery_id in list(due):
        outcome = attempt_delivery(delivery_id=delivery_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
