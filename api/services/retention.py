"""How long the API's own records are kept: the daily prune (`manage.py prune_job_results`)
runs these, as it does the throttle's."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from api.models import WebhookDelivery, WebhookEvent
from events.models import ClientOperation


def webhook_events_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete webhook events (with their delivery log) older than settings.WEBHOOK_LOG_DAYS
    whose every delivery has finished: one still being retried is never touched. Returns
    how many rows went."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.WEBHOOK_LOG_DAYS)
    unfinished = WebhookDelivery.objects.filter(event=OuterRef("pk"), finished_at__isnull=True)
    deleted, _ = (
        WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(Exists(unfinished)).delete()
    )
    return deleted


def api_operations_prune(*, now: datetime.datetime | None = None) -> int:
    """Forget the first answers of API calls sent with an Idempotency-Key after
    settings.API_IDEMPOTENCY_DAYS (a retry comes within minutes, and an answer may quote an
    event's patient reference). Phones' offline marks are the ledger's witnesses: kept."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.API_IDEMPOTENCY_DAYS)
    deleted, _ = ClientOperation.objects.filter(
        kind=ClientOperation.Kind.API, received_at__lt=cutoff
    ).delete()
    return deleted
