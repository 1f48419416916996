"""Deliveries to a real HTTPS receiver started by the test: signatures, rotation, retries with
one webhook-id, give-up and switch-off, no SSRF, no redirects, leases."""

import datetime
import ipaddress
import socket
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from accounts.models import Notification, NotificationKind
from api.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from api.webhooks import delivery as delivery_module
from api.webhooks import transport
from api.webhooks.delivery import attempt_delivery
from api.webhooks.services import subscription_create, subscription_rotate_secret
from api.webhooks.signing import new_secret
from tests.api.receiver import Answer, Receiver, self_signed_certificate
from tests.factories import DistributorFactory, UserFactory
from tests.inventory.factories import receive_units
from tests.taskqueue import run_worker

TASK_PATH = "api.webhooks.delivery.deliver_webhook"


@pytest.fixture
def certificate(tmp_path):
    return self_signed_certificate(tmp_path, names=("localhost", "hooks.test"))


@pytest.fixture
def receiver(certificate, settings):
    settings.WEBHOOK_CA_FILE = str(certificate[0])
    # The receiver listens on loopback, which deliveries refuse unless this is on.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_CONNECT_TIMEOUT = 2
    settings.WEBHOOK_READ_TIMEOUT = 5
    running = Receiver(*certificate)
    yield running
    running.stop()


def subscribe(admin, url, types=("units.received",)):
    return subscription_create(actor=admin, url=url, event_types=list(types))


def only_delivery():
    return WebhookDelivery.objects.select_related("event").get()


def make_due():
    """Let every waiting retry's time come without waiting for it."""
    past = timezone.now() - datetime.timedelta(seconds=1)
    WebhookDelivery.objects.filter(status=DeliveryStatus.RETRYING).update(next_attempt_at=past)
    DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").update(run_after=past)


def test_a_delivery_is_signed_and_verifies_with_standardwebhooks(admin_user, rep, receiver):
    subscription, secret = subscribe(admin_user, receiver.url())
    units = receive_units(admin_user, rep, n=2)
    run_worker()
    (request,) = receiver.requests
    verified = Webhook(secret).verify(request.body, request.headers)
    assert verified["type"] == "units.received"
    assert [u["id"] for u in verified["data"]["units"]] == [u.pk for u in units]
    assert request.headers["webhook-id"] == WebhookEvent.objects.get().webhook_id
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, request.headers)
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.last_response == "ok" and delivery.finished_at is not None


def test_after_a_rotation_both_secrets_sign_for_the_overlap_then_only_the_new(
    admin_user, rep, receiver
):
    subscription, old = subscribe(admin_user, receiver.url())
    new = subscription_rotate_secret(actor=admin_user, subscription=subscription)
    assert new != old
    subscription.refresh_from_db()
    overlap = subscription.previous_secret_until - timezone.now()
    assert datetime.timedelta(hours=23, minutes=59) < overlap <= datetime.timedelta(hours=24)
    receive_units(admin_user, rep, n=1)
    run_worker()
    (during,) = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(during.body, during.headers)
    Webhook(new).verify(during.body, during.headers)

    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        previous_secret_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    receive_units(admin_user, rep, n=1)
    run_worker()
    after = receiver.requests[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


def test_an_action_rolled_back_sends_nothing(admin_user, rep, receiver):
    subscribe(admin_user, receiver.url())

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        receive_units(admin_user, rep, n=1)
        raise Boom
    run_worker()
    assert receiver.requests == []
    assert not WebhookEvent.objects.exists()


def test_five_failures_then_an_answer_delivers_once_with_one_webhook_id(
    admin_user, rep, receiver, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE = [0] * 7
    receiver.answers = [Answer(500, b"down")] * 3 + [Answer(503), Answer(429), Answer(204, b"")]
    subscription, secret = subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    run_worker()
    assert len(receiver.requests) == 6
    assert {r.headers["webhook-id"] for r in receiver.requests} == {
        WebhookEvent.objects.get().webhook_id
    }
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 6, 204)
    assert delivery.last_error == ""


def test_retries_wait_the_schedule_from_settings_then_give_up(admin_user, rep, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [30, 600]
    receiver.answers = [Answer(500, b"down")]
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    waits = []
    for _ in range(3):
        run_worker()
        delivery = only_delivery()
        if delivery.status == DeliveryStatus.RETRYING:
            waits.append(
                round((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
            )
            queued = DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").get()
            assert queued.run_after == delivery.next_attempt_at
        make_due()
    assert waits == [30, 600]
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts) == ("gave_up", 3)
    assert delivery.next_attempt_at is None and delivery.last_error == "The endpoint answered 500."
    run_worker()
    assert len(receiver.requests) == 3  # given up: nothing more is sent


def test_the_default_schedule_retries_for_more_than_a_day():
    from config import settings as project_settings

    schedule = project_settings.WEBHOOK_RETRY_SCHEDULE
    assert sum(schedule) >= 24 * 3600
    assert schedule == sorted(schedule)  # backing off, never hurrying


def test_only_the_start_of_the_answer_is_kept(admin_user, rep, receiver):
    receiver.answers = [Answer(200, b"x" * 5000)]
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    run_worker()
    assert only_delivery().last_response == "x" * 1000


def test_a_redirect_is_not_followed(admin_user, rep, receiver):
    elsewhere = receiver.url(path="/elsewhere")
    receiver.answers = [Answer(307, b"", headers={"Location": elsewhere}), Answer(200)]
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    assert attempt_delivery(delivery_id=only_delivery().pk) == "retrying"
    assert [r.path for r in receiver.requests] == ["/hooks"]
    delivery = only_delivery()
    assert delivery.last_status_code == 307
    assert delivery.last_error == f"Redirects are not followed (307 to {elsewhere})."


def test_a_receiver_too_slow_to_answer_fails_the_attempt_in_time(
    admin_user, rep, receiver, settings
):
    settings.WEBHOOK_READ_TIMEOUT = 0.5
    receiver.answers = [Answer(200, delay=3)]
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    started = time.monotonic()
    assert attempt_delivery(delivery_id=only_delivery().pk) == "retrying"
    assert time.monotonic() - started < 2.5
    assert "did not answer in time" in only_delivery().last_error


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_attempts_time_limit(
    admin_user, rep, receiver, settings
):
    settings.WEBHOOK_CONNECT_TIMEOUT = 1
    settings.WEBHOOK_READ_TIMEOUT = 0.5
    receiver.answers = [Answer(200, drip=0.2)]  # ~50 bytes: ten seconds in all
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    started = time.monotonic()
    assert attempt_delivery(delivery_id=only_delivery().pk) == "retrying"
    assert time.monotonic() - started < 3
    assert "did not answer in time" in only_delivery().last_error


def _resolver(monkeypatch, answers: dict[str, list[list[str]]], calls: list[str]):
    """socket.getaddrinfo answering `answers[host]` in turn (the last repeats) and recording
    each host asked; other hosts (IP literals included) resolve as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        calls.append(host)
        seen = calls.count(host)
        addresses = answers[host][min(seen, len(answers[host])) - 1]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_server_too_slow_to_answer_fails_the_attempt_within_its_lease(
    admin_user, rep, receiver, monkeypatch, settings
):
    # getaddrinfo has no timeout of its own: a slow name server must not stretch an attempt
    # past its lease, when another worker could claim the delivery and send it again.
    settings.WEBHOOK_CONNECT_TIMEOUT = 0.5
    release = threading.Event()

    def stalls(*args, **kwargs):
        release.wait(10)
        raise socket.gaierror("gave up")

    subscribe(admin_user, receiver.url(host="slow.test"))
    receive_units(admin_user, rep, n=1)
    monkeypatch.setattr(socket, "getaddrinfo", stalls)
    started = time.monotonic()
    try:
        assert attempt_delivery(delivery_id=only_delivery().pk) == "retrying"
    finally:
        release.set()
    assert time.monotonic() - started < delivery_module.lease_length().total_seconds()
    assert time.monotonic() - started < 3
    assert "took longer than" in only_delivery().last_error


def test_the_connection_goes_to_the_address_checked_not_a_second_lookup(
    admin_user, rep, receiver, monkeypatch, settings
):
    # DNS rebinding: the name answers a good address when checked, another one after. The
    # second (TEST-NET, unroutable) would time out if the connection looked the name up again.
    settings.WEBHOOK_CONNECT_TIMEOUT = 1
    calls = []
    _resolver(monkeypatch, {"hooks.test": [["127.0.0.1"], ["192.0.2.1"]]}, calls)
    subscription, secret = subscribe(admin_user, receiver.url(host="hooks.test"))
    receive_units(admin_user, rep, n=1)
    assert attempt_delivery(delivery_id=only_delivery().pk) == "succeeded"
    assert calls == ["hooks.test"]
    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.test:{receiver.port}"
    Webhook(secret).verify(request.body, request.headers)


def test_a_certificate_for_another_name_is_refused(admin_user, rep, receiver, monkeypatch):
    _resolver(monkeypatch, {"elsewhere.test": [["127.0.0.1"]]}, [])
    subscribe(admin_user, receiver.url(host="elsewhere.test"))
    receive_units(admin_user, rep, n=1)
    assert attempt_delivery(delivery_id=only_delivery().pk) == "retrying"
    assert receiver.requests == []
    assert "TLS certificate of elsewhere.test not accepted" in only_delivery().last_error


FORBIDDEN = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "100.127.255.254",
    "224.0.0.251",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "::1",
    "::",
    "fe80::1",
    "febf::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:100.64.0.1",
    "::ffff:0.0.0.0",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
]
ALLOWED = [
    "93.184.216.34",
    "8.8.8.8",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_each_private_or_special_range_is_refused(address):
    assert transport.address_problem(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert transport.address_problem(ipaddress.ip_address(address)) is None


@pytest.fixture
def no_connection(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was opened to {args[0]}")

    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("address", FORBIDDEN)
def test_a_name_resolving_to_a_private_address_is_refused_without_connecting(
    admin_user, rep, monkeypatch, no_connection, address
):
    _resolver(monkeypatch, {"hooks.example.com": [[address]]}, [])
    subscribe(admin_user, "https://hooks.example.com/in")
    receive_units(admin_user, rep, n=1)
    assert attempt_delivery(delivery_id=only_delivery().pk) == "retrying"
    error = only_delivery().last_error
    assert error.startswith("hooks.example.com resolves to a forbidden address:"), error


@pytest.mark.parametrize("address", FORBIDDEN)
def test_a_private_address_written_in_the_url_is_refused(admin_user, rep, no_connection, address):
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(ValidationError, match="address"):
        subscribe(admin_user, f"https://{literal}/in")
    # Even had it been stored (before a setting changed), the delivery refuses it.
    subscription, _ = subscribe(admin_user, "https://hooks.example.com/in")
    WebhookSubscription.objects.filter(pk=subscription.pk).update(url=f"https://{literal}/in")
    receive_units(admin_user, rep, n=1)
    assert attempt_delivery(delivery_id=only_delivery().pk) == "retrying"
    assert "address" in only_delivery().last_error


def test_one_private_answer_among_public_ones_refuses_the_delivery(
    admin_user, rep, monkeypatch, no_connection
):
    _resolver(monkeypatch, {"hooks.example.com": [["93.184.216.34", "10.1.2.3"]]}, [])
    subscribe(admin_user, "https://hooks.example.com/in")
    receive_units(admin_user, rep, n=1)
    attempt_delivery(delivery_id=only_delivery().pk)
    assert "10.1.2.3 is a private address" in only_delivery().last_error


def test_localhost_is_refused_though_a_receiver_listens_there(admin_user, rep, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    subscribe(admin_user, receiver.url(host="localhost"))
    receive_units(admin_user, rep, n=1)
    attempt_delivery(delivery_id=only_delivery().pk)
    assert receiver.requests == []
    assert "loopback" in only_delivery().last_error


def test_a_finished_delivery_is_not_sent_again_by_a_second_run(admin_user, rep, receiver):
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    delivery_id = only_delivery().pk
    assert attempt_delivery(delivery_id=delivery_id) == "succeeded"
    assert attempt_delivery(delivery_id=delivery_id) == "not_due"
    run_worker()
    assert len(receiver.requests) == 1


def test_a_leased_delivery_is_left_to_its_holder_until_the_lease_ends(admin_user, rep, receiver):
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    delivery = only_delivery()
    DBTaskResult.objects.all().delete()
    lease = timezone.now() + datetime.timedelta(seconds=60)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DELIVERING, claimed_until=lease, next_attempt_at=lease, attempts=1
    )
    assert attempt_delivery(delivery_id=delivery.pk) == "busy"
    assert receiver.requests == []
    # Should the holder have died, this job comes back when the lease ends.
    (queued,) = DBTaskResult.objects.filter(task_path=TASK_PATH)
    assert queued.run_after == lease

    expired = timezone.now() - datetime.timedelta(seconds=1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=expired, next_attempt_at=expired
    )
    assert attempt_delivery(delivery_id=delivery.pk) == "succeeded"
    assert len(receiver.requests) == 1 and only_delivery().attempts == 2


def test_an_attempt_that_outlived_its_lease_does_not_overwrite_the_next(admin_user, rep, receiver):
    subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    delivery_id = only_delivery().pk
    original = delivery_module._claim

    def claim_then_lose_the_lease(pk):
        claimed = original(pk)
        # Another worker took over after this lease ran out.
        WebhookDelivery.objects.filter(pk=pk).update(
            claimed_until=timezone.now() + datetime.timedelta(minutes=5)
        )
        return claimed

    delivery_module._claim = claim_then_lose_the_lease
    try:
        assert attempt_delivery(delivery_id=delivery_id) == "lost_lease"
    finally:
        delivery_module._claim = original
    assert only_delivery().status == DeliveryStatus.DELIVERING


@pytest.fixture
def failing(receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = []  # every failure gives up at once
    settings.WEBHOOK_DISABLE_AFTER = 3
    receiver.answers = [Answer(500, b"down")]
    return receiver


def _deliver_each():
    for pk in WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True):
        attempt_delivery(delivery_id=pk)


def test_repeated_failures_switch_the_subscription_off_and_tell_the_admins(
    org, admin_user, rep, failing
):
    second_admin = UserFactory(organization=org, admin=True)
    distributor = DistributorFactory(organization=org)
    subscription, _ = subscribe(admin_user, failing.url())
    for _ in range(2):
        receive_units(admin_user, rep, n=1)
    _deliver_each()
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 2
    assert not Notification.objects.filter(kind=NotificationKind.WEBHOOK_DISABLED).exists()

    receive_units(admin_user, rep, n=1)
    _deliver_each()
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_at is not None
    assert "3 deliveries in a row failed" in subscription.disabled_reason
    told = Notification.objects.filter(kind=NotificationKind.WEBHOOK_DISABLED)
    assert sorted(told.values_list("user_id", flat=True)) == sorted(
        [admin_user.pk, second_admin.pk]
    )
    assert not told.filter(user=distributor).exists()
    assert told.first().url == f"/integrations/webhooks/{subscription.pk}/"

    receive_units(admin_user, rep, n=1)  # switched off: nothing more is written or sent
    assert WebhookDelivery.objects.count() == 3
    run_worker()
    assert len(failing.requests) == 3


def test_a_success_between_failures_starts_the_count_over(admin_user, rep, failing):
    failing.answers = [Answer(500), Answer(500), Answer(200), Answer(500), Answer(500)]
    subscription, _ = subscribe(admin_user, failing.url())
    for _ in range(5):
        receive_units(admin_user, rep, n=1)
    _deliver_each()
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 2


def test_a_waiting_delivery_of_a_switched_off_subscription_gives_up_unsent(
    admin_user, rep, receiver
):
    subscription, _ = subscribe(admin_user, receiver.url())
    receive_units(admin_user, rep, n=1)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    assert attempt_delivery(delivery_id=only_delivery().pk) == "switched_off"
    assert receiver.requests == []
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.GAVE_UP and delivery.attempts == 0
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_the_sweep_command_sends_what_is_due_and_leaves_what_waits(admin_user, rep, receiver):
    from django.core.management import call_command

    subscribe(admin_user, receiver.url())
    for _ in range(3):
        receive_units(admin_user, rep, n=1)
    later = timezone.now() + datetime.timedelta(hours=1)
    waiting = WebhookDelivery.objects.order_by("pk").last()
    WebhookDelivery.objects.filter(pk=waiting.pk).update(
        status=DeliveryStatus.RETRYING, next_attempt_at=later
    )
    call_command("deliver_webhooks", limit=10)
    assert len(receiver.requests) == 2
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.RETRYING and waiting.attempts == 0
    call_command("deliver_webhooks")
    assert len(receiver.requests) == 2
