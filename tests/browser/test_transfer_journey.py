"""Journey 3: a distributor transfers stock on a rep's behalf; and the pool as riley sees it."""

import re

from playwright.sync_api import expect

from accounts.models import DistributorGroup
from inventory.models import Unit
from tests.browser.conftest import login

RED = "rgb(176, 42, 55)"
BLACK = "rgb(0, 0, 0)"


def test_dana_transfers_two_of_rileys_units_to_sam_on_rileys_behalf(page, demo, artifacts):
    login(page, "dana")
    page.get_by_role("button", name="Inventory", exact=True).click()
    page.get_by_role("link", name="Units", exact=True).click()
    page.get_by_role("link", name="My Reps' Custody").click()
    expect(page).to_have_url(re.compile(r"custody=reps"))
    table = page.get_by_test_id("unit-table")
    expect(table.locator("tr[data-serial^='R-']").first).to_be_visible()
    expect(table.locator("tr[data-serial^='D-']")).to_have_count(0)

    picked = ["R-1001", "R-1003"]
    for serial in picked:
        page.get_by_role("checkbox", name=f"Select {serial}").check()
    page.get_by_role("button", name="Transfer selected").click()
    expect(page.get_by_role("heading", name="Transfer 2 units")).to_be_visible()
    # A type-ahead, not a list of every holder: typing offers matches (never riley, the sender).
    box = page.get_by_label("Send to")
    box.press_sequentially("r", delay=30)
    options = page.locator("#id_recipient_options option")
    expect(options.filter(has_text="Sam Rep")).to_have_count(1)
    values = options.evaluate_all("els => els.map(e => e.value)")
    assert "Riley Rep (riley)" not in values and "Organization custody" in values
    box.fill("Sam Rep (sam)")  # what choosing the suggestion puts in the box
    page.get_by_role("button", name="Transfer", exact=True).click()

    expect(page.get_by_text("Transferred 2 unit(s) to Sam Rep.")).to_be_visible()
    expect(page.get_by_test_id("transfer-status")).to_have_text("Completed")
    expect(page.get_by_text("started by Dana Distributor acting for Riley Rep")).to_be_visible()
    for serial in picked:
        unit = Unit.objects.get(serial_number=serial)
        assert unit.custodian == demo["sam"]

    # They now show under sam in dana's view of her reps' stock.
    page.goto(f"/inventory/?custody=reps&rep={demo['sam'].pk}")
    for serial in picked:
        row = page.locator(f"tr[data-serial='{serial}']")
        expect(row.locator(".custody-label")).to_have_text("Rep · Sam Rep")

    row = page.locator(f"tr[data-serial='{picked[0]}']")
    row.get_by_role("link").first.click()
    history = page.get_by_test_id("custody-history")
    expect(history).to_contain_text("by Dana Distributor acting for Riley Rep")
    expect(history).to_contain_text("Riley Rep → Sam Rep")
    page.screenshot(path=str(artifacts / "unit-history-dana-for-riley.png"), full_page=True)


def test_riley_sees_the_pool_in_red_only_while_pooling_is_on(page, demo, artifacts):
    group = DistributorGroup.objects.get(distributor=demo["dana"])
    group.pooling_enabled = True
    group.save()

    login(page, "riley")
    page.goto("/inventory/")
    page.get_by_role("link", name="Shared by Distributor").click()
    expect(page).to_have_url(re.compile(r"custody=shared"))
    rows = page.get_by_test_id("unit-table").locator("tbody tr[data-serial]")
    expect(rows.first).to_be_visible()
    serials = rows.evaluate_all("rows => rows.map(r => r.dataset.serial)")
    assert serials and all(s.startswith("D-") for s in serials)
    label = rows.first.locator(".custody-label")
    expect(label).to_have_text("Distributor · Dana Distributor")
    expect(label).to_have_css("background-color", RED)

    page.get_by_role("link", name="Both").click()
    own = page.locator("tr[data-serial^='R-'] .custody-label").first
    expect(own).to_have_text("Mine · Riley Rep")
    expect(own).to_have_css("background-color", BLACK)
    expect(page.locator("tr[data-serial^='D-']").first).to_be_visible()
    page.screenshot(path=str(artifacts / "riley-inventory-both.png"), full_page=True)

    group.pooling_enabled = False
    group.save()
    page.goto("/inventory/")
    expect(page.get_by_role("link", name="Shared by Distributor")).to_have_count(0)
    expect(page.locator("tr[data-serial^='D-']")).to_have_count(0)
    expect(page.locator("tr[data-serial^='R-']").first).to_be_visible()
    page.goto("/inventory/?custody=shared")
    expect(page.locator("tr[data-serial^='D-']")).to_have_count(0)
    # An old bookmark shows riley's own units and says why the pool is missing.
    expect(page.locator("tr[data-serial^='R-']").first).to_be_visible()
    expect(page.get_by_test_id("filter-note")).to_contain_text(
        "Access Distributor's Inventory is off"
    )
    expect(page.get_by_role("link", name="My Custody")).to_have_attribute("aria-current", "page")
    dana_unit = Unit.objects.filter(custodian=demo["dana"]).first()
    assert page.goto(f"/inventory/units/{dana_unit.pk}/").status == 404
