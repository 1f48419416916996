"""The daily prune forgets old API answers and finished webhook events, nothing else."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.utils import timezone

from api.models import WebhookDelivery, WebhookEvent
from api.services.retention import api_operations_prune, webhook_events_prune
from api.webhooks.services import subscription_create
from events.models import ClientOperation
from jobs import pruning
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def _op(user, kind, age_days):
    return ClientOperation.objects.create(
        id=uuid.uuid4(),
        organization=user.organization,
        user=user,
        kind=kind,
        how=ClientOperation.How.API if kind == "api" else ClientOperation.How.LIST,
        status=ClientOperation.Status.APPLIED,
        received_at=timezone.now() - age_days * DAY,
    )


def test_api_answers_go_after_their_days_and_phones_marks_stay(settings):
    settings.API_IDEMPOTENCY_DAYS = 7
    admin = UserFactory(admin=True)
    old_api = _op(admin, ClientOperation.Kind.API, 8)
    new_api = _op(admin, ClientOperation.Kind.API, 6)
    old_phone = _op(admin, ClientOperation.Kind.MARK_USED, 400)
    assert api_operations_prune() == 1
    left = set(ClientOperation.objects.values_list("pk", flat=True))
    assert left == {new_api.pk, old_phone.pk} and old_api.pk not in left


def test_finished_webhook_events_go_after_their_days_and_one_still_retrying_stays(settings):
    settings.WEBHOOK_LOG_DAYS = 30
    admin = UserFactory(admin=True)
    subscription, _ = subscription_create(
        actor=admin, url="https://hooks.example.com/in", event_types=["transfer.created"]
    )
    long_ago = timezone.now() - 31 * DAY

    def event(finished):
        e = WebhookEvent.objects.create(
            organization=admin.organization, type="transfer.created", payload={}
        )
        WebhookEvent.objects.filter(pk=e.pk).update(created_at=long_ago)
        WebhookDelivery.objects.create(
            subscription=subscription, event=e, finished_at=long_ago if finished else None
        )
        return e

    done, retrying = event(True), event(False)
    recent = WebhookEvent.objects.create(
        organization=admin.organization, type="transfer.created", payload={}
    )
    webhook_events_prune()
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {retrying.pk, recent.pk}
    assert not WebhookDelivery.objects.filter(event_id=done.pk).exists()


def test_the_daily_prune_runs_both():
    names = pruning.run_all().keys()
    assert "API Idempotency-Key answer(s)" in names
    assert "webhook event(s) and deliveries" in names
