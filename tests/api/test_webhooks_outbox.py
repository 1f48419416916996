"""The outbox: every action writes its event (and deliveries) in its own transaction, only for
subscribers, with ids and changed fields and never a patient reference."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from api.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from api.webhooks import signing
from api.webhooks.services import subscription_create
from core import outbox
from events.services.events import event_complete, event_mark_paid, event_reopen, event_submit
from events.services.usage import event_unmark
from inventory.models import UnitState
from inventory.services.par import par_level_set, par_levels_check
from inventory.services.recalls import recall_record, recall_return
from inventory.services.transfers import (
    transfer_accept,
    transfer_cancel,
    transfer_create,
    transfer_decline,
)
from jobs.models import Job
from jobs.services import job_finish
from tests.events.factories import mark_used, open_event
from tests.factories import OrganizationFactory, UserFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units

PATIENT = "PT-SECRET-4711"
TASK_PATH = "api.webhooks.delivery.deliver_webhook"


def subscribe(admin, types=None, url="https://hooks.example.com/in"):
    subscription, secret = subscription_create(
        actor=admin, url=url, event_types=types or list(outbox.EVENT_TYPES)
    )
    return subscription


def types_written():
    return list(WebhookEvent.objects.order_by("pk").values_list("type", flat=True))


@pytest.fixture
def cast(org, admin_user, distributor, rep, pooled):
    return {"admin": admin_user, "distributor": distributor, "rep": rep, "org": org}


def test_every_action_writes_its_event_with_one_delivery_per_subscriber(cast):
    admin, distributor, rep = cast["admin"], cast["distributor"], cast["rep"]
    first, second = subscribe(admin), subscribe(admin, url="https://other.example.com/in")
    product = ProductFactory(organization=cast["org"])
    units = receive_units(admin, rep, n=6, product=product)
    assert types_written() == ["units.received"]

    (sent,) = transfer_create(actor=rep, unit_ids=[units[0].pk], recipient=distributor)
    transfer_accept(actor=distributor, transfer=sent)
    (declined,) = transfer_create(actor=rep, unit_ids=[units[1].pk], recipient=distributor)
    transfer_decline(actor=distributor, transfer=declined, reason="Wrong size")
    (cancelled,) = transfer_create(actor=rep, unit_ids=[units[2].pk], recipient=distributor)
    transfer_cancel(actor=rep, transfer=cancelled)
    # The distributor speaks for her rep: completed at once, so also accepted.
    transfer_create(actor=distributor, unit_ids=[units[3].pk], recipient=distributor)
    case = open_event(rep)
    mark_used(rep, case, units[4:6])
    event_unmark(actor=rep, event=case, unit_ids=[units[5].pk])
    event_submit(actor=rep, event=case)
    event_reopen(actor=distributor, event=case)
    event_submit(actor=distributor, event=case)
    event_complete(actor=admin, event=case, po_number="PO-77")
    event_mark_paid(actor=admin, event=case)

    assert types_written() == [
        "units.received",
        "transfer.created",
        "transfer.accepted",
        "transfer.created",
        "transfer.declined",
        "transfer.created",
        "transfer.cancelled",
        "transfer.created",
        "transfer.accepted",
        "unit.marked_used",
        "unit.unmarked",
        "event.submitted",
        "event.reopened",
        "event.submitted",
        "event.po_recorded",
        "event.paid",
    ]
    events = WebhookEvent.objects.count()
    assert WebhookDelivery.objects.filter(subscription=first).count() == events
    assert WebhookDelivery.objects.filter(subscription=second).count() == events
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    # Each delivery's attempt is queued in the same transaction.
    assert DBTaskResult.objects.filter(task_path=TASK_PATH).count() == 2 * events

    paid = WebhookEvent.objects.get(type="event.paid").payload
    assert paid["event"]["id"] == case.pk and paid["event"]["status"] == "paid"
    assert paid["event"]["po_number"] == "PO-77"
    assert [ln["unit_id"] for ln in paid["lines"]] == [units[4].pk]
    accepted = WebhookEvent.objects.filter(type="transfer.accepted").first().payload
    assert accepted["transfer"]["id"] == sent.pk
    assert accepted["units"] == [
        {
            "id": units[0].pk,
            "product_id": product.pk,
            "state": UnitState.AVAILABLE,
            "custodian_id": distributor.pk,
            "location_id": None,
        }
    ]
    used = WebhookEvent.objects.get(type="unit.marked_used").payload
    assert {u["id"]: u["state"] for u in used["units"]} == {
        units[4].pk: "allocated",
        units[5].pk: "allocated",
    }
    unmarked = WebhookEvent.objects.get(type="unit.unmarked").payload
    assert [(u["id"], u["state"]) for u in unmarked["units"]] == [(units[5].pk, "available")]


def test_recalls_par_levels_and_jobs_write_their_events(cast):
    admin, distributor = cast["admin"], cast["distributor"]
    subscribe(admin)
    product = ProductFactory(organization=cast["org"], lot_tracked=True)
    bin_ = LocationFactory(organization=cast["org"], holder=distributor, kind="bin")
    stock = receive_units(admin, distributor, n=2, product=product, location=bin_, lot_number="L1")
    level = par_level_set(actor=distributor, location=bin_, product=product, par=2, reorder_to=3)
    recall = recall_record(
        actor=admin,
        reference="R-1",
        reason="Seal may fail",
        recall_class="II",
        product=product,
        lot_numbers=["L1"],
        recall_date=timezone.localdate(),
    )
    par_levels_check(level_ids=[level.pk])
    recall_return(actor=admin, recall=recall, reference="RMA-9", returned_on=timezone.localdate())
    job = Job.objects.create(organization=cast["org"], owner=admin, kind="export")
    with transaction.atomic():
        job_finish(job, status=Job.Status.DONE, result_count=12)

    assert types_written() == [
        "units.received",
        "recall.recorded",
        "unit.below_par",
        "recall.returned",
        "job.finished",
    ]
    recorded = WebhookEvent.objects.get(type="recall.recorded").payload
    assert recorded["recall"]["id"] == recall.pk and recorded["recall"]["lot_numbers"] == ["L1"]
    assert {u["id"]: u["state"] for u in recorded["units"]} == {u.pk: "quarantined" for u in stock}
    below = WebhookEvent.objects.get(type="unit.below_par").payload
    assert below["par_level"]["id"] == level.pk and below["usable_count"] == 0
    assert below["holder_id"] == distributor.pk
    returned = WebhookEvent.objects.get(type="recall.returned").payload
    assert {u["state"] for u in returned["units"]} == {"inactive"}
    finished = WebhookEvent.objects.get(type="job.finished").payload["job"]
    assert (finished["id"], finished["status"], finished["result_count"]) == (job.pk, "done", 12)
    assert finished["owner_id"] == admin.pk and finished["problem_count"] == 0


def test_a_large_receipt_goes_out_in_events_of_at_most_a_thousand_units(cast, monkeypatch):
    from inventory import payloads

    monkeypatch.setattr(payloads, "RECEIVED_UNITS_PER_EVENT", 3)
    subscribe(cast["admin"], types=["units.received"])
    units = receive_units(cast["admin"], cast["rep"], n=7)
    sizes = [len(e.payload["units"]) for e in WebhookEvent.objects.order_by("pk")]
    assert sizes == [3, 3, 1]
    sent = [u["id"] for e in WebhookEvent.objects.order_by("pk") for u in e.payload["units"]]
    assert sent == [u.pk for u in units]


def test_nothing_is_written_when_nobody_subscribes_to_the_type(cast):
    subscribe(cast["admin"], types=["event.paid"])
    switched_off = subscribe(cast["admin"], types=["units.received"])
    WebhookSubscription.objects.filter(pk=switched_off.pk).update(is_active=False)
    # Another organization's subscriber hears nothing of this one.
    subscribe(UserFactory(organization=OrganizationFactory(), admin=True))
    receive_units(cast["admin"], cast["rep"], n=2)
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not DBTaskResult.objects.filter(task_path=TASK_PATH).exists()


def test_an_action_rolled_back_writes_no_event_and_queues_nothing(cast):
    subscribe(cast["admin"])
    units = receive_units(cast["admin"], cast["rep"], n=1)
    before = (WebhookEvent.objects.count(), DBTaskResult.objects.count())

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        transfer_create(actor=cast["rep"], unit_ids=[units[0].pk], recipient=cast["distributor"])
        assert WebhookEvent.objects.count() == before[0] + 1  # written, inside the transaction
        raise Boom
    assert (WebhookEvent.objects.count(), DBTaskResult.objects.count()) == before


def test_a_refused_action_writes_no_event(cast):
    subscribe(cast["admin"])
    other = UserFactory(organization=OrganizationFactory(), rep=True)
    before = WebhookEvent.objects.count()
    with pytest.raises(ValidationError):
        transfer_create(actor=cast["rep"], unit_ids=[], recipient=other)
    assert WebhookEvent.objects.count() == before


def test_no_payload_carries_the_patient_reference(cast):
    admin, distributor, rep = cast["admin"], cast["distributor"], cast["rep"]
    subscribe(admin)
    units = receive_units(admin, rep, n=2)
    case = open_event(rep)
    case.patient_ref = PATIENT
    case.save(update_fields=["patient_ref"])
    mark_used(rep, case, units)
    event_unmark(actor=rep, event=case, unit_ids=[units[1].pk])
    event_submit(actor=rep, event=case)
    event_reopen(actor=distributor, event=case)
    event_submit(actor=distributor, event=case)
    event_complete(actor=admin, event=case, po_number="PO-1")
    event_mark_paid(actor=admin, event=case)
    payloads = list(WebhookEvent.objects.values_list("type", "payload"))
    assert {t for t, _ in payloads} >= {
        "unit.marked_used",
        "unit.unmarked",
        "event.submitted",
        "event.reopened",
        "event.po_recorded",
        "event.paid",
    }
    for type, payload in payloads:
        text = json.dumps(payload)
        assert PATIENT not in text, type
        assert "patient" not in text.lower(), type


@pytest.mark.parametrize(
    "data",
    [
        {"event": {"id": 1, "patient_ref": "x"}},
        {"lines": [{"patient": "x"}]},
        {"patient_reference": ""},
    ],
)
def test_emit_refuses_a_patient_key_at_any_depth(data):
    with pytest.raises(ValueError, match="may not carry"):
        outbox.emit(organization_id=1, type=outbox.EVENT_PAID, data=data)


def test_emit_refuses_an_unknown_type():
    with pytest.raises(ValueError, match="unknown outbox event type"):
        outbox.emit(organization_id=1, type="event.exploded", data={})


def test_the_secret_is_stored_encrypted(admin_user):
    subscription, secret = subscription_create(
        actor=admin_user, url="https://hooks.example.com/in", event_types=["event.paid"]
    )
    assert secret.startswith("whsec_") and len(secret) > 40
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT secret_encrypted FROM {WebhookSubscription._meta.db_table} WHERE id = %s",  # noqa: S608
            [subscription.pk],
        )
        (raw,) = cursor.fetchone()
    assert raw != secret
    assert secret not in raw and secret.removeprefix("whsec_") not in raw
    assert signing.decrypt_secret(raw) == secret


def test_a_secret_encrypted_under_an_old_key_still_opens_from_the_fallbacks(settings):
    settings.WEBHOOK_SECRET_KEY = "old-key"
    token = signing.encrypt_secret("whsec_abc")
    settings.WEBHOOK_SECRET_KEY = "new-key"
    with pytest.raises(signing.InvalidToken):
        signing.decrypt_secret(token)
    settings.WEBHOOK_SECRET_KEY_FALLBACKS = ["old-key"]
    assert signing.decrypt_secret(token) == "whsec_abc"


def test_a_delivery_is_written_pending_and_due_now(cast):
    subscribe(cast["admin"], types=["units.received"])
    start = timezone.now()
    receive_units(cast["admin"], cast["rep"], n=1)
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert start <= delivery.next_attempt_at <= timezone.now() + datetime.timedelta(seconds=1)
    assert delivery.event.webhook_id.startswith("msg_")


def test_an_action_nobody_listens_to_costs_one_query(cast, django_assert_num_queries):
    subscribe(cast["admin"], types=["event.paid"])
    with django_assert_num_queries(1):
        outbox.emit(organization_id=cast["org"].pk, type=outbox.UNITS_RECEIVED, data={})


def test_writing_an_event_for_subscribers_reads_them_once(cast, django_assert_num_queries):
    for n in range(3):
        subscribe(cast["admin"], types=["event.paid"], url=f"https://h{n}.example.com/in")
    # Subscribers, the event, its deliveries, then one queue row per delivery.
    with django_assert_num_queries(3 + 3):
        outbox.emit(organization_id=cast["org"].pk, type=outbox.EVENT_PAID, data={"x": 1})
