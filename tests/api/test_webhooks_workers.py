"""Only one attempt per event is in flight, however many workers and queued jobs name it: two
real worker processes, and six threads, deliver to a receiver that records overlaps."""

import datetime
import time

import pytest
from django.conf import settings
from django.utils import timezone

from api.models import DeliveryStatus, WebhookDelivery
from api.webhooks.delivery import attempt_delivery, deliver_webhook
from api.webhooks.services import subscription_create
from tests.api.receiver import Answer, Receiver, self_signed_certificate
from tests.concurrency import race
from tests.inventory.factories import receive_units
from tests.processes import start_worker

EVENTS = 4
FAILURES = 2  # each event's first two attempts fail, the third is answered
EXTRA_JOBS = 5  # queued jobs naming the same delivery, besides the one the action queued


def _slow_receiver(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    # Slow answers keep each attempt in flight long enough for the other worker to try too.
    return cert, Receiver(
        cert, key, per_id=lambda n: Answer(500 if n <= FAILURES else 200, delay=0.4)
    )


def _events(admin_user, rep, url):
    subscription_create(actor=admin_user, url=url, event_types=["units.received"])
    for _ in range(EVENTS):
        receive_units(admin_user, rep, n=1)
    deliveries = list(WebhookDelivery.objects.select_related("subscription"))
    assert len(deliveries) == EVENTS
    return deliveries


def _assert_one_attempt_at_a_time(receiver):
    assert len(receiver.max_in_flight) == EVENTS
    assert receiver.max_in_flight == {webhook_id: 1 for webhook_id in receiver.max_in_flight}
    assert receiver.seen == {webhook_id: FAILURES + 1 for webhook_id in receiver.seen}
    done = WebhookDelivery.objects.values_list("status", "attempts")
    assert list(done) == [(DeliveryStatus.SUCCEEDED, FAILURES + 1)] * EVENTS


@pytest.mark.postgres
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_never_overlap_attempts_at_one_event(tmp_path, admin_user, rep):
    cert, receiver = _slow_receiver(tmp_path)
    try:
        deliveries = _events(admin_user, rep, receiver.url())
        # The queue serves the earliest run_after first: dated an hour ago, the extra jobs come
        # before any retry, so both workers take jobs for a delivery while it is in flight.
        early = deliver_webhook.using(run_after=timezone.now() - datetime.timedelta(hours=1))
        for delivery in deliveries:
            for _ in range(EXTRA_JOBS):
                early.enqueue(
                    delivery_id=delivery.pk, organization_id=delivery.subscription.organization_id
                )
        env = {
            "WEBHOOK_ALLOW_PRIVATE": "1",
            "WEBHOOK_CA_FILE": str(cert),
            "WEBHOOK_RETRY_SCHEDULE": ",".join(["0"] * 7),
            # The workers must open the secrets this process encrypted.
            "WEBHOOK_SECRET_KEY": settings.WEBHOOK_SECRET_KEY,
        }
        workers = [start_worker(tmp_path, f"worker-{i}", batch=True, env=env) for i in range(2)]
        try:
            exit_codes = [worker.wait(timeout=120) for worker in workers]
        finally:
            for worker in workers:
                worker.stop()
        assert exit_codes == [0, 0], "\n".join(w.output() for w in workers)
        _assert_one_attempt_at_a_time(receiver)
    finally:
        receiver.stop()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_six_threads_never_overlap_attempts_at_one_event(tmp_path, admin_user, rep, settings):
    cert, receiver = _slow_receiver(tmp_path)
    settings.WEBHOOK_CA_FILE = str(cert)
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_SCHEDULE = [0] * 7
    try:
        deliveries = _events(admin_user, rep, receiver.url())

        def keep_trying():
            # What a worker does with every queued job naming these deliveries, until done.
            while WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists():
                for delivery in deliveries:
                    attempt_delivery(delivery_id=delivery.pk)
                time.sleep(0.02)

        outcomes = race(*[keep_trying] * 6)
        assert [kind for kind, _ in outcomes] == ["ok"] * 6, outcomes
        _assert_one_attempt_at_a_time(receiver)
    finally:
        receiver.stop()
