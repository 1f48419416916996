"""Notifications reach people: dana's transfer on riley's behalf tells riley (the bell's count and
the list, which opens the transfer), and a declined transfer tells its sender, with the reason
and the hold; the admin sees the unit in the hold queue and releases it."""

import re

from playwright.sync_api import expect

from accounts.models import Notification
from inventory.models import Unit, UnitState
from inventory.services.transfers import transfer_create
from tests.browser.conftest import login


def _unread(user):
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def _switch_to(page, username):
    """Sign in as someone else in the same (CSP-watched) browser context."""
    page.context.clear_cookies()
    login(page, username)


def _bell_shows(page, count):
    expect(page.get_by_test_id("bell")).to_have_attribute(
        "aria-label", f"Notifications, {count} unread"
    )
    if count:
        expect(page.get_by_test_id("unread-count")).to_have_text(str(count))


def test_danas_transfer_on_rileys_behalf_notifies_riley(page, demo):
    riley_before = _unread(demo["riley"])
    login(page, "dana")
    page.goto("/inventory/?custody=reps")
    for serial in ("R-1001", "R-1002"):
        page.get_by_role("checkbox", name=f"Select {serial}").check()
    page.get_by_role("button", name="Transfer selected").click()
    page.get_by_label("Send to").fill("sam")  # the type-ahead takes a username as typed
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.get_by_test_id("transfer-status")).to_have_text("Completed")
    transfer_path = re.search(r"/inventory/transfers/\d+/", page.url).group(0)
    transfer_id = transfer_path.strip("/").split("/")[-1]

    riley = page
    _switch_to(riley, "riley")
    _bell_shows(riley, riley_before + 1)
    riley.get_by_test_id("bell").click()
    item = (
        riley.get_by_test_id("notifications")
        .locator("li")
        .filter(
            has_text=f"Dana Distributor sent 2 units of yours to Sam Rep (transfer #{transfer_id})"
        )
    )
    expect(item).to_have_count(1)
    item.get_by_role("link").first.click()
    expect(riley).to_have_url(re.compile(re.escape(transfer_path) + "$"))
    expect(riley.get_by_test_id("transfer-status")).to_have_text("Completed")
    _bell_shows(riley, riley_before)


def test_a_declined_transfer_notifies_the_sender_and_reaches_the_hold_queue(page, demo):
    (unit,) = Unit.objects.filter(serial_number="R-1003")
    (transfer,) = transfer_create(actor=demo["riley"], unit_ids=[unit.pk], recipient=demo["casey"])
    riley_before = _unread(demo["riley"])

    login(page, "casey")
    page.goto(f"/inventory/transfers/{transfer.pk}/")
    page.get_by_label("Reason").fill("Wrong size for Dr. A")
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_text("Declined: Wrong size for Dr. A")).to_be_visible()

    riley = page
    _switch_to(riley, "riley")
    _bell_shows(riley, riley_before + 1)
    riley.goto("/users/notifications/")
    item = (
        riley.get_by_test_id("notifications")
        .locator("li")
        .filter(has_text=f"Casey Rep declined transfer #{transfer.pk}")
    )
    expect(item).to_contain_text("your 1 unit is on hold until an admin releases them")
    expect(item).to_contain_text("Reason: Wrong size for Dr. A")

    admin = page
    _switch_to(admin, "admin")
    admin.goto("/inventory/holds/")
    row = admin.get_by_test_id("hold-table").locator(f"tr[data-unit='{unit.pk}']")
    expect(row).to_contain_text("Wrong size for Dr. A")
    expect(row).to_contain_text("Casey Rep")
    admin.get_by_role("checkbox", name="Select R-1003").check()
    admin.get_by_test_id("release-selected").click()
    expect(admin.get_by_text("Released 1 unit(s) from hold.")).to_be_visible()
    unit.refresh_from_db()
    assert unit.state == UnitState.AVAILABLE
    assert Notification.objects.filter(user=demo["riley"], kind="hold_released").exists()
