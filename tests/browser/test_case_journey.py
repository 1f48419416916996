"""Journey 2: riley uses pooled stock on a case, then tells dana the pool is low with an @mention.

README, "Events and facility stock": the Mark Used Inventory screen lists the representative's own units (black label)
and, with pooling on, the distributor's (red label); on submit single-use units become inactive;
an @mention notifies the mentioned user in-app (the bell's unread count) and the notification
opens the comment.
"""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import DistributorGroup, Notification
from events.models import Comment, Event, EventLine, EventStatus
from inventory.models import Unit, UnitState
from tests.browser.conftest import login

RED = "rgb(176, 42, 55)"
BLACK = "rgb(0, 0, 0)"
HOSPITAL = "St. Mary's Hospital"
STOCKED_AT_ST_MARYS = {"D-1003", "D-1004", "D-1007"}  # seed_demo's stocking order, sold by dana


def _pooling_on(dana):
    group = DistributorGroup.objects.get(distributor=dana)
    group.pooling_enabled = True
    group.save()


def _rows(page):
    """What the Mark Used list shows: one dict per unit row, in display order."""
    return (
        page.get_by_test_id("usable-units")
        .locator("tbody tr[data-serial]")
        .evaluate_all(
            """rows => rows.map(r => {
                const label = r.querySelector('.custody-label');
                const box = r.querySelector('input[type=checkbox]');
                return {
                    serial: r.dataset.serial,
                    label: label.textContent.trim(),
                    background: getComputedStyle(label).backgroundColor,
                    disabled: box.disabled,
                    facilityStock: r.querySelector('.state-facility_stock') !== null,
                };
            })"""
        )
    )


def _open_custody_tab(page, name, value):
    page.get_by_role("link", name=name, exact=True).click()
    expect(page).to_have_url(re.compile(rf"[?&]custody={value}(&|$)"))
    expect(page.get_by_role("link", name=name, exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(
        page.get_by_test_id("usable-units").locator("tbody tr[data-serial]").first
    ).to_be_visible()
    return _rows(page)


def _assert_mine(row):
    assert row["serial"].startswith("R-"), row
    assert row["label"] == "Mine · Riley Rep", row
    assert row["background"] == BLACK, row


def _assert_distributors(row):
    assert row["serial"].startswith("D-"), row
    assert row["label"] == "Distributor · Dana Distributor", row
    assert row["background"] == RED, row


def _collect_js_errors(page):
    """Uncaught exceptions in the page's scripts (the autocomplete is JavaScript)."""
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _unread_badge_shows(page, count):
    bell = page.get_by_test_id("bell")
    expect(bell).to_have_attribute("aria-label", f"Notifications, {count} unread")
    if count:
        expect(bell.get_by_test_id("unread-count")).to_have_text(str(count))
    else:
        expect(bell.get_by_test_id("unread-count")).to_have_count(0)


def test_riley_uses_pooled_stock_on_a_case_and_mentions_dana(
    browser, live_server, page, demo, artifacts
):
    _pooling_on(demo["dana"])
    dana_unread_before = Notification.objects.filter(
        user=demo["dana"], read_at__isnull=True
    ).count()

    js_errors = _collect_js_errors(page)

    # --- riley opens a new Case at St. Mary's --------------------------------------------------
    login(page, "riley")
    page.get_by_role("link", name="Events", exact=True).click()
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    page.get_by_role("link", name="New event").click()
    expect(page.get_by_role("heading", name="New event")).to_be_visible()
    when = timezone.localtime() + datetime.timedelta(days=1)
    page.get_by_label("Type").select_option(label="Case")
    page.get_by_label("Facility").select_option(label=HOSPITAL)
    page.get_by_label("Physician").select_option(label="Dr. Marcus Hale")
    page.get_by_label("Procedure").select_option(label="Total hip arthroplasty")
    page.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT09:30"))
    page.get_by_role("button", name="Open event").click()

    event_name = f"Case · Total hip arthroplasty · {HOSPITAL} · {when:%Y-%m-%d}"
    expect(page.get_by_role("heading", name=event_name)).to_be_visible()
    expect(page.get_by_text(f"Opened {event_name}.")).to_be_visible()
    expect(page.get_by_test_id("event-status")).to_have_text("Open")
    event = Event.objects.get(name=event_name)
    assert event.representative == demo["riley"]
    assert event.facility.name == HOSPITAL
    expect(page).to_have_url(re.compile(rf"/events/{event.pk}/$"))

    # --- Mark Used Inventory: the three custody tabs -----------------------------------------
    page.get_by_role("link", name="Mark Used Inventory").click()
    expect(page.get_by_role("heading", name="Mark Used Inventory")).to_be_visible()

    mine = _open_custody_tab(page, "My Custody", "mine")
    assert mine
    for row in mine:
        _assert_mine(row)

    shared = _open_custody_tab(page, "Shared by Distributor", "shared")
    assert shared
    for row in shared:
        _assert_distributors(row)
    # Dana's expired unit is listed (earliest expiry first) but cannot be picked.
    assert shared[0]["serial"] == "D-1009" and shared[0]["disabled"], shared[0]
    # The facility stock dana sold to St. Mary's is usable on a Case there.
    assert {r["serial"] for r in shared if r["facilityStock"]} >= STOCKED_AT_ST_MARYS

    both = _open_custody_tab(page, "Both", "both")
    assert {r["serial"] for r in both} == {r["serial"] for r in mine} | {
        r["serial"] for r in shared
    }
    for row in both:
        (_assert_mine if row["serial"].startswith("R-") else _assert_distributors)(row)
    table = page.get_by_test_id("usable-units")
    expect(table.locator("tr[data-serial^='R-'] .custody-label").first).to_have_css(
        "background-color", BLACK
    )
    expect(table.locator("tr[data-serial^='D-'] .custody-label").first).to_have_css(
        "background-color", RED
    )
    page.screenshot(path=str(artifacts / "mark-used-both-riley.png"), full_page=True)

    # One of each: riley's own and dana's, neither expired nor facility stock, single-use.
    def pick(prefix):
        for row in both:
            if (
                row["serial"].startswith(prefix)
                and not row["disabled"]
                and not row["facilityStock"]
            ):
                unit = Unit.objects.select_related("product").get(serial_number=row["serial"])
                if unit.product.single_use:
                    return row["serial"]
        raise AssertionError(f"no usable single-use {prefix} unit on the Both tab: {both}")

    picked = [pick("R-"), pick("D-")]
    for serial in picked:
        page.get_by_role("checkbox", name=f"Select {serial}").check()
    page.get_by_role("button", name="Mark selected used").click()

    expect(page.get_by_text(f"Marked 2 unit(s) used on {event_name}.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"custody=both"))
    used = page.get_by_test_id("used-units")
    expect(page.get_by_role("heading", name="Used on this event (2)")).to_be_visible()
    expect(used.locator("tr[data-serial]")).to_have_count(2)
    own_line = used.locator(f"tr[data-serial='{picked[0]}']")
    pool_line = used.locator(f"tr[data-serial='{picked[1]}']")
    expect(own_line.locator(".custody-label")).to_have_text("Mine · Riley Rep")
    expect(own_line.locator(".custody-label")).to_have_css("background-color", BLACK)
    expect(pool_line.locator(".custody-label")).to_have_text("Distributor · Dana Distributor")
    expect(pool_line.locator(".custody-label")).to_have_css("background-color", RED)
    for line in (own_line, pool_line):
        expect(line).to_contain_text("Billable")
    # Allocated now: no longer offered.
    for serial in picked:
        expect(table.locator(f"tr[data-serial='{serial}']")).to_have_count(0)
    assert {ln.unit.serial_number for ln in EventLine.objects.current().filter(event=event)} == set(
        picked
    )

    # --- Back to the event: submit ------------------------------------------------------------
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name=event_name).click()
    expect(page.get_by_role("heading", name=event_name)).to_be_visible()
    page.get_by_role("link", name="Submit…").click()
    # A confirmation page (no script) says what submitting does before anything changes.
    consequences = page.get_by_test_id("submit-consequences")
    expect(consequences).to_contain_text("2 single-use or facility-stock unit(s) are consumed")
    expect(consequences).to_contain_text("you cannot reopen it afterwards")
    page.get_by_role("button", name="Yes, submit").click()
    expect(page.get_by_text("Submitted.", exact=True)).to_be_visible()
    expect(page.get_by_test_id("event-status")).to_have_text("Submitted")
    expect(page.get_by_role("link", name="Mark Used Inventory")).to_have_count(0)
    expect(page.get_by_role("heading", name="Usage (2 billable, 0 unbillable)")).to_be_visible()
    usage = page.get_by_test_id("usage-table")
    for serial in picked:
        row = usage.locator(f"tr[data-serial='{serial}']")
        expect(row).to_contain_text("Billable")
        expect(row.locator(".badge")).to_have_text("Inactive")
        assert Unit.objects.get(serial_number=serial).state == UnitState.INACTIVE
    event.refresh_from_db()
    assert event.status == EventStatus.SUBMITTED

    # --- riley @mentions dana, picking her from the autocomplete ------------------------------
    comment_box = page.get_by_role("textbox", name=re.compile(r"^Comment\b"))
    comment_box.click()
    comment_box.press_sequentially("@da")
    menu = page.locator(".mention-menu")
    expect(menu).to_be_visible()
    choice = menu.locator("button[data-username='dana']")
    expect(choice).to_have_text("@dana · Dana Distributor (Distributor)")
    choice.click()
    expect(comment_box).to_have_value("@dana ")
    expect(menu).to_be_hidden()
    text = f"@dana the pool is low at {HOSPITAL}"
    comment_box.press_sequentially(f"the pool is low at {HOSPITAL}")
    expect(comment_box).to_have_value(text)
    page.get_by_role("button", name="Comment", exact=True).click()

    expect(page.get_by_text("Comment added.")).to_be_visible()
    comment = Comment.objects.get(event=event, author=demo["riley"])
    assert comment.body == text
    expect(page).to_have_url(re.compile(rf"/events/{event.pk}/#comment-{comment.pk}$"))
    posted = page.locator(f"#comment-{comment.pk}")
    expect(posted.locator(".comment-body")).to_have_text(text)
    assert list(comment.mentioned.values_list("username", flat=True)) == ["dana"]

    # --- dana, in her own browser, sees the count rise and opens the comment ------------------
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    try:
        dana = context.new_page()
        dana_js_errors = _collect_js_errors(dana)
        login(dana, "dana")
        _unread_badge_shows(dana, dana_unread_before + 1)
        dana.get_by_test_id("bell").click()
        expect(dana.get_by_role("heading", name="Notifications")).to_be_visible()
        notifications = dana.get_by_test_id("notifications")
        item = notifications.locator("li").filter(
            has=dana.get_by_role("link", name=f"Riley Rep mentioned you on {event_name}")
        )
        expect(item).to_have_count(1)
        expect(item).to_contain_text(text)
        expect(item).to_contain_text("unread")
        dana.screenshot(path=str(artifacts / "dana-notifications.png"), full_page=True)

        item.get_by_role("link", name=f"Riley Rep mentioned you on {event_name}").click()
        expect(dana).to_have_url(re.compile(rf"/events/{event.pk}/#comment-{comment.pk}$"))
        expect(dana.get_by_role("heading", name=event_name)).to_be_visible()
        expect(dana.locator(f"#comment-{comment.pk} .comment-body")).to_have_text(text)
        expect(dana.locator(f"#comment-{comment.pk}")).to_be_in_viewport()
        _unread_badge_shows(dana, dana_unread_before)
        notification = Notification.objects.get(user=demo["dana"], comment_id=comment.pk)
        assert notification.read_at is not None
        assert dana_js_errors == []
    finally:
        context.close()
    assert js_errors == []


def test_riley_on_a_phone_uses_facility_stock_on_the_seeded_case(phone_page, demo, artifacts):
    _pooling_on(demo["dana"])
    page = phone_page
    js_errors = _collect_js_errors(page)
    case_name = "TKA · St. Mary's · tomorrow"

    login(page, "riley")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Events", exact=True).click()
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    page.get_by_test_id("event-table").get_by_role("link", name=case_name).click()
    expect(page.get_by_role("heading", name=case_name)).to_be_visible()
    expect(page.get_by_role("heading", name="Usage (0 billable, 0 unbillable)")).to_be_visible()
    page.get_by_role("link", name="Mark Used Inventory").click()
    expect(page.get_by_role("heading", name="Mark Used Inventory")).to_be_visible()

    toggle = page.get_by_role("link", name=re.compile(r"^Facility stock only"))
    expect(toggle).not_to_have_attribute("aria-current", "true")
    toggle.click()
    expect(page).to_have_url(re.compile(r"[?&]facility_stock=1(&|$)"))
    toggle = page.get_by_role("link", name=re.compile(r"^Facility stock only"))
    expect(toggle).to_have_attribute("aria-current", "true")
    expect(toggle).to_have_text("Facility stock only ✓")

    rows = page.get_by_test_id("usable-units").locator("tbody tr[data-serial]")
    expect(rows).to_have_count(len(STOCKED_AT_ST_MARYS))
    shown = _rows(page)
    assert {r["serial"] for r in shown} == STOCKED_AT_ST_MARYS
    for row in shown:
        _assert_distributors(row)
        assert row["facilityStock"] and not row["disabled"], row
    for unit in Unit.objects.filter(serial_number__in=STOCKED_AT_ST_MARYS):
        assert unit.state == UnitState.FACILITY_STOCK and unit.facility.name == HOSPITAL
        assert unit.custodian == demo["dana"]  # the seller
    page.screenshot(path=str(artifacts / "mark-used-facility-stock-phone.png"), full_page=True)

    serial = shown[0]["serial"]
    page.get_by_role("checkbox", name=f"Select {serial}").check()
    page.get_by_role("button", name="Mark selected used").click()
    expect(page.get_by_text(f"Marked 1 unit(s) used on {case_name}.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"facility_stock=1"))
    line = page.get_by_test_id("used-units").locator(f"tr[data-serial='{serial}']")
    expect(line).to_contain_text("Unbillable (facility stock)")
    expect(rows).to_have_count(len(STOCKED_AT_ST_MARYS) - 1)

    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name=case_name).click()
    expect(page.get_by_role("heading", name=case_name)).to_be_visible()
    expect(page.get_by_role("heading", name="Usage (0 billable, 1 unbillable)")).to_be_visible()
    usage_row = page.get_by_test_id("usage-table").locator(f"tr[data-serial='{serial}']")
    expect(usage_row).to_contain_text("Unbillable (facility stock)")
    expect(usage_row.locator(".badge")).to_have_text("Allocated")
    line = EventLine.objects.current().get(event__name=case_name, unit__serial_number=serial)
    assert line.from_facility_stock and not line.billable
    assert js_errors == []
