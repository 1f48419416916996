"""/integrations/webhooks/: an admin subscribes, sees the secret once, rotates it, switches the
subscription off and on, reads the delivery log and sends a delivery again."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook

from api.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from api.webhooks import signing
from api.webhooks.delivery import signing_secrets
from api.webhooks.services import subscription_create
from tests.factories import DistributorFactory, UserFactory
from tests.inventory.factories import receive_units

TASK_PATH = "api.webhooks.delivery.deliver_webhook"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _create(admin_client, **data):
    return admin_client.post(
        reverse("integrations:webhook_create"),
        {
            "url": "https://erp.example.com/hooks",
            "description": "ERP",
            "event_types": ["transfer.created", "event.submitted"],
            **data,
        },
    )


def test_subscribing_shows_the_secret_once_and_keeps_it_encrypted(admin_client, admin_user):
    response = _create(admin_client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    (secret,) = set(SECRET.findall(page))
    assert "shown only once" in page
    subscription = WebhookSubscription.objects.get()
    assert subscription.url == "https://erp.example.com/hooks"
    assert subscription.event_types == ["transfer.created", "event.submitted"]
    assert subscription.created_by == admin_user and subscription.is_active
    assert secret not in subscription.secret_encrypted
    assert signing.decrypt_secret(subscription.secret_encrypted) == secret
    # Never again: not on the detail page, not in the list.
    for name, args in [("webhook_detail", [subscription.pk]), ("webhook_list", [])]:
        later = admin_client.get(reverse(f"integrations:{name}", args=args)).content.decode()
        assert not SECRET.search(later)
        assert "erp.example.com" in later


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://erp.example.com/hooks", "Use an https:// URL"),
        ("https://user:pw@erp.example.com/hooks", "Leave credentials out of the URL"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://[::ffff:10.0.0.1]/", "carries 10.0.0.1 is a private address"),
        ("not a url", "Use an https:// URL"),
    ],
)
def test_a_bad_url_is_refused_next_to_the_field(admin_client, url, message):
    response = _create(admin_client, url=url)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SECRET.search(response.content.decode())
    assert not WebhookSubscription.objects.exists()


def test_no_event_type_or_an_unknown_one_is_refused(admin_client):
    assert "This field is required" in _create(admin_client, event_types=[]).content.decode()
    page = _create(admin_client, event_types=["unit.exploded"]).content.decode()
    assert "Select a valid choice" in page
    assert not WebhookSubscription.objects.exists()


def test_rotating_shows_the_new_secret_once_and_both_sign_for_a_day(admin_client, admin_user):
    subscription, old = subscription_create(
        actor=admin_user, url="https://erp.example.com/hooks", event_types=["event.paid"]
    )
    response = admin_client.post(reverse("integrations:webhook_rotate", args=[subscription.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    (new,) = set(SECRET.findall(response.content.decode()))
    assert new != old
    subscription.refresh_from_db()
    assert signing.decrypt_secret(subscription.secret_encrypted) == new
    assert signing.decrypt_secret(subscription.previous_secret_encrypted) == old
    detail = admin_client.get(reverse("integrations:webhook_detail", args=[subscription.pk]))
    assert not SECRET.search(detail.content.decode())
    assert "with the previous one too" in detail.content.decode()
    # A GET does not rotate.
    assert (
        admin_client.get(reverse("integrations:webhook_rotate", args=[subscription.pk])).status_code
        == 405
    )


def test_switching_off_and_on(admin_client, admin_user):
    subscription, _ = subscription_create(
        actor=admin_user, url="https://erp.example.com/hooks", event_types=["event.paid"]
    )
    url = reverse("integrations:webhook_set_active", args=[subscription.pk])
    assert admin_client.post(url, {"active": "0"}).status_code == 302
    subscription.refresh_from_db()
    assert not subscription.is_active and admin_user.name in subscription.disabled_reason
    page = admin_client.get(reverse("integrations:webhook_detail", args=[subscription.pk]))
    assert "Switch on" in page.content.decode()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=4)
    admin_client.post(url, {"active": "1"})
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 0
    assert subscription.disabled_reason == ""
    assert admin_client.post(url, {"active": "maybe"}).status_code == 302
    subscription.refresh_from_db()
    assert subscription.is_active


@pytest.fixture
def delivered(admin_user, rep):
    subscription, _ = subscription_create(
        actor=admin_user, url="https://erp.example.com/hooks", event_types=["units.received"]
    )
    receive_units(admin_user, rep, n=1)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.GAVE_UP,
        attempts=8,
        last_status_code=502,
        last_error="The endpoint answered 502.",
        last_response="Bad gateway",
        next_attempt_at=None,
    )
    DBTaskResult.objects.filter(task_path=TASK_PATH).delete()
    return subscription, delivery


def test_the_log_shows_status_code_and_time_and_the_delivery_its_payload(admin_client, delivered):
    subscription, delivery = delivered
    page = admin_client.get(
        reverse("integrations:webhook_detail", args=[subscription.pk])
    ).content.decode()
    assert "units.received" in page and "Gave up" in page and "502" in page
    assert delivery.event.webhook_id in page
    detail = html.unescape(
        admin_client.get(
            reverse("integrations:webhook_delivery_detail", args=[subscription.pk, delivery.pk])
        ).content.decode()
    )
    assert "Bad gateway" in detail and "The endpoint answered 502." in detail
    assert f'"id": {delivery.event.payload["units"][0]["id"]}' in detail


def test_send_again_queues_the_delivery_with_the_same_webhook_id(admin_client, delivered):
    subscription, delivery = delivered
    response = admin_client.post(
        reverse("integrations:webhook_resend", args=[subscription.pk, delivery.pk])
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert delivery.next_attempt_at is not None
    (queued,) = DBTaskResult.objects.filter(task_path=TASK_PATH)
    assert queued.args_kwargs["kwargs"]["delivery_id"] == delivery.pk
    assert WebhookEvent.objects.count() == 1  # the same event, so the same webhook-id


def test_send_again_is_refused_while_the_subscription_is_off(admin_client, delivered):
    subscription, delivery = delivered
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    response = admin_client.post(
        reverse("integrations:webhook_resend", args=[subscription.pk, delivery.pk]), follow=True
    )
    assert "Switch the subscription on before sending" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.GAVE_UP
    assert not DBTaskResult.objects.filter(task_path=TASK_PATH).exists()


def test_a_delivery_is_found_only_under_its_own_subscription(admin_client, admin_user, delivered):
    subscription, delivery = delivered
    other, _ = subscription_create(
        actor=admin_user, url="https://other.example.com/hooks", event_types=["event.paid"]
    )
    url = reverse("integrations:webhook_resend", args=[other.pk, delivery.pk])
    assert admin_client.post(url).status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.GAVE_UP


def test_another_organizations_admin_finds_nothing(client, delivered):
    subscription, delivery = delivered
    client.force_login(UserFactory(admin=True))
    assert (
        "erp.example.com" not in client.get(reverse("integrations:webhook_list")).content.decode()
    )
    for name, args in [
        ("webhook_detail", [subscription.pk]),
        ("webhook_delivery_detail", [subscription.pk, delivery.pk]),
    ]:
        assert client.get(reverse(f"integrations:{name}", args=args)).status_code == 404
    for name, args in [
        ("webhook_rotate", [subscription.pk]),
        ("webhook_resend", [subscription.pk, delivery.pk]),
    ]:
        assert client.post(reverse(f"integrations:{name}", args=args)).status_code == 404
    subscription.refresh_from_db()
    assert not subscription.previous_secret_encrypted


def test_the_delivery_log_pages_by_cursor_in_a_fixed_number_of_queries(
    admin_client, admin_user, rep
):
    subscription, _ = subscription_create(
        actor=admin_user, url="https://erp.example.com/hooks", event_types=["units.received"]
    )
    url = reverse("integrations:webhook_detail", args=[subscription.pk])

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    receive_units(admin_user, rep, n=1)
    few = queries()
    for _ in range(55):
        receive_units(admin_user, rep, n=1)
    assert queries() == few
    page = admin_client.get(url).content.decode()
    assert page.count('data-testid="delivery-row"') == 50
    (after,) = re.findall(r'href="\?after=([^"&]+)"', page)
    rest = admin_client.get(url, {"after": after}).content.decode()
    assert rest.count('data-testid="delivery-row"') == 6


def test_only_admins_see_the_webhooks_link(client, admin_user, org):
    client.force_login(admin_user)
    assert reverse("integrations:webhook_list") in client.get("/").content.decode()
    client.force_login(DistributorFactory(organization=org))
    assert reverse("integrations:webhook_list") not in client.get("/").content.decode()


def test_a_secret_from_the_page_verifies_what_is_signed(admin_client):
    page = _create(admin_client).content.decode()
    (secret,) = set(SECRET.findall(page))

    subscription = WebhookSubscription.objects.get()
    now = timezone.now()
    headers = signing.sign_headers(
        webhook_id="msg_1", timestamp=now, body=b"{}", secrets=signing_secrets(subscription, now)
    )
    Webhook(secret).verify(b"{}", headers)
