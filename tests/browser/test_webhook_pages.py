"""An admin manages webhooks in a real browser under the Content-Security-Policy: subscribes
from the Admin menu, copies the secret shown once, sends a delivery again, rotates the secret
and switches the subscription off; axe and the phone widths find nothing on these pages."""

import re

from playwright.sync_api import expect

from api.models import WebhookDelivery, WebhookSubscription
from tests.browser.conftest import login
from tests.browser.test_every_screen import phone_problems

SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{40,}$")


def _subscribe(page, url="https://erp.example.com/hooks"):
    page.goto("/")
    page.get_by_test_id("menu-admin").click()
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="New subscription").click()
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_label("A transfer was started (transfer.created)").check()
    page.get_by_role("button", name="Subscribe").click()
    secret = page.get_by_test_id("webhook-secret").input_value()
    assert SECRET.match(secret)
    return secret


def test_an_admin_subscribes_resends_rotates_and_switches_off(page, demo):
    from inventory.models import Unit, UnitState
    from inventory.services.transfers import transfer_create

    login(page, "admin")
    first = _subscribe(page)
    expect(page.get_by_text("it is shown only once")).to_be_visible()
    page.get_by_role("link", name="Done").click()
    assert first not in page.content()

    riley, sam = demo["riley"], demo["sam"]
    unit = Unit.objects.filter(custodian=riley, state=UnitState.AVAILABLE).first()
    transfer_create(actor=riley, unit_ids=[unit.pk], recipient=sam)
    page.reload()
    row = page.get_by_test_id("delivery-row")
    expect(row).to_contain_text("transfer.created")
    expect(row).to_contain_text("Waiting to be sent")
    row.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("queued again")).to_be_visible()

    page.get_by_role("button", name="Rotate secret").click()
    second = page.get_by_test_id("webhook-secret").input_value()
    assert SECRET.match(second) and second != first
    expect(page.get_by_text("with the previous one too")).to_be_visible()
    page.get_by_role("link", name="Done").click()

    page.get_by_role("button", name="Switch off").click()
    expect(page.get_by_test_id("webhook-off")).to_be_visible()
    assert not WebhookSubscription.objects.get().is_active


def test_the_webhook_pages_pass_axe_at_phone_widths(browser, live_server, demo):
    from inventory.models import Unit, UnitState
    from inventory.services.transfers import transfer_create

    # axe's script needs the policy bypassed; the journey above holds the pages to it.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, "admin")
        _subscribe(page)
        problems = phone_problems(page, "secret page")
        unit = Unit.objects.filter(custodian=demo["riley"], state=UnitState.AVAILABLE).first()
        transfer_create(actor=demo["riley"], unit_ids=[unit.pk], recipient=demo["sam"])
        subscription = WebhookSubscription.objects.get()
        delivery = WebhookDelivery.objects.get()
        # The list and the form are in tests/browser/screens.py, walked with every page.
        for url in [
            f"/integrations/webhooks/{subscription.pk}/",
            f"/integrations/webhooks/{subscription.pk}/deliveries/{delivery.pk}/",
        ]:
            assert page.goto(url).status == 200
            problems += phone_problems(page, url)
        assert problems == [], "\n".join(problems)
    finally:
        context.close()
