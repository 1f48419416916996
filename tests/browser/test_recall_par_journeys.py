"""Recall and par-level journeys in Chromium, on the seed_demo organization (README, "Things to
try"). CSP violations fail the test (the `page` fixture)."""

import re

from django.core import mail
from playwright.sync_api import expect

from accounts.models import DistributorGroup
from events.demo import RILEY_SECOND_OPEN_CASE
from events.models import Event
from inventory.demo import BIN, RECALL_DEMO_LOT
from inventory.models import Location, ParLevel, Product, Unit, UnitState
from tests.browser.conftest import login
from tests.inventory.factories import ledger_problems
from tests.taskqueue import run_worker

USED_CASE = "ORIF · St. Mary's · two weeks ago"  # events.demo: used R-RC2 of the demo lot


def _pooling_on(dana):
    group = DistributorGroup.objects.get(distributor=dana)
    group.pooling_enabled = True
    group.save()


def _logout(page):
    page.context.clear_cookies()


def test_admin_records_a_recall_riley_is_refused_and_the_units_are_returned(page, demo):
    # --- the admin records a recall of the demo lot -------------------------------------------
    login(page, "admin")
    page.get_by_role("button", name="Inventory", exact=True).click()
    page.get_by_role("link", name="Recalls", exact=True).click()
    page.get_by_role("link", name="Record a recall").click()
    page.get_by_label("Recall reference").fill("KO-2026-07")
    page.get_by_label("Class").select_option("II")
    page.get_by_label("Product").fill("SCR-L35-030")
    page.get_by_label("Lots").fill(RECALL_DEMO_LOT)
    page.get_by_label("Reason").fill("Thread may be out of tolerance")
    page.get_by_role("button", name="Record recall and quarantine").click()
    expect(page.get_by_text("Recorded recall KO-2026-07: 7 unit(s) found.")).to_be_visible()
    progress = page.get_by_test_id("recall-progress")
    expect(progress).to_contain_text("7\nFound")
    expect(progress).to_contain_text("6\nQuarantined")

    # --- riley scans one of the quarantined units on Mark Used, and is refused -----------------
    _logout(page)
    login(page, "riley")
    event = Event.objects.get(name=RILEY_SECOND_OPEN_CASE)  # the case the README names
    page.goto(f"/events/{event.pk}/use/")
    gtin = Product.objects.get(catalog_number="SCR-L35-030").gtin
    page.get_by_label("Scan or paste a GS1 UDI").fill(f"(01){gtin}(10){RECALL_DEMO_LOT}(21)R-RC1")
    page.get_by_role("button", name="Mark scanned unit used").click()
    expect(
        page.get_by_text(re.compile(r"R-RC1 is quarantined under recall KO-2026-07"))
    ).to_be_visible()
    assert Unit.objects.get(serial_number="R-RC1").state == UnitState.QUARANTINED

    # --- the recall page shows the case that used another unit of the lot ----------------------
    _logout(page)
    login(page, "admin")
    page.get_by_role("button", name="Inventory", exact=True).click()
    page.get_by_role("link", name="Recalls", exact=True).click()
    page.get_by_role("link", name="KO-2026-07").click()
    cases = page.get_by_test_id("recall-cases")
    expect(cases).to_contain_text(USED_CASE)
    expect(cases).to_contain_text("CASE-2033")
    expect(page.get_by_test_id("surgeons")).to_have_text("Dr. Priya Natarajan")

    # --- the admin returns the quarantined units ------------------------------------------------
    page.get_by_label("Return reference (RMA)").fill("RMA-5521")
    page.get_by_role("button", name="Return 6 unit(s)").click()
    expect(page.get_by_text("Returned 6 unit(s) under RMA-5521.")).to_be_visible()
    expect(page.get_by_test_id("recall-returns")).to_contain_text("RMA-5521")
    expect(progress).to_contain_text("6\nReturned")
    lot = Unit.objects.filter(lot_number=RECALL_DEMO_LOT)
    assert set(lot.values_list("state", flat=True)) == {UnitState.INACTIVE}
    assert ledger_problems() == []


def test_riley_empties_the_bin_below_par_and_dana_refills_it_from_her_warehouse(page, demo):
    _pooling_on(demo["dana"])
    bin_ = Location.objects.get(name=BIN)
    level = ParLevel.objects.get(location=bin_)
    assert level.alerted_at is None
    run_worker()  # send what the demo data queued, then look only at what follows
    mail.outbox = []

    # --- riley uses two units of the bin: 4 -> 2, below par 3 ------------------------------------
    login(page, "riley")
    event = Event.objects.get(name=RILEY_SECOND_OPEN_CASE)  # the case the README names
    page.goto(f"/events/{event.pk}/use/?custody=both&q=D-B")
    for serial in ("D-B1", "D-B2"):
        page.get_by_role("checkbox", name=f"Select {serial}").check()
    page.get_by_role("button", name="Mark selected used").click()
    expect(page.get_by_text(re.compile(r"Marked 2 unit\(s\) used"))).to_be_visible()
    level.refresh_from_db()
    assert level.alerted_at is not None
    run_worker()  # the alert's email leaves through the job queue
    assert [m.to for m in mail.outbox] == [[demo["dana"].email]]

    # --- dana's bell and dashboard say so, with a proposed move from her warehouse ---------------
    _logout(page)
    login(page, "dana")
    expect(page.get_by_test_id("bell")).to_have_attribute(
        "aria-label", re.compile(r"Notifications, [1-9]\d* unread")
    )
    below = page.get_by_test_id("below-par")
    expect(below).to_contain_text(f"{BIN} · SCR-C35-024: 2 of par 3")
    below.get_by_test_id("replenish").click()
    expect(page.get_by_test_id("proposal-move")).to_contain_text("earliest expiry first")
    page.get_by_test_id("replenish-move").click()
    expect(page.get_by_role("heading", name="Move units")).to_be_visible()
    expect(page.get_by_label("Move to")).to_have_value(str(bin_.pk))
    page.get_by_role("button", name="Move 3 unit(s)").click()
    expect(page.get_by_text(f"Moved 3 unit(s) to {BIN}.")).to_be_visible()
    expect(page.get_by_test_id("below-par")).not_to_contain_text(BIN)

    at_bin = Unit.objects.filter(location=bin_, state=UnitState.AVAILABLE)
    assert at_bin.count() == 5
    assert set(at_bin.values_list("custodian__username", flat=True)) == {"dana"}
    level.refresh_from_db()
    assert level.alerted_at is None  # re-armed
    assert ledger_problems() == []
