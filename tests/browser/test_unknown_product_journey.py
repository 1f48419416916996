"""An admin scans a unit whose product is not in the catalog, gives the label's identity to a
product right there, and the unit is received from the same scan (nothing retyped), on a laptop
and on a phone. The panel fits a 320px screen and passes axe. The demo's products all have a
GTIN and none an HIBC identity, so the scans here name no product of the catalog."""

from playwright.sync_api import expect

from inventory.models import Product, Unit
from inventory.udi import hibc_check_character
from tests.browser.conftest import login
from tests.browser.test_every_screen import AXE, AXE_TAGS, AXE_WIDTHS, OVERFLOW, RUN_AXE
from tests.inventory.factories import ProductFactory, ledger_problems

GTIN = "09506000134352"
SCAN = f"(01){GTIN}(17)301231(10)LOT-B1(21)SPN-1"
HIBC_DATA = "A999SR550/$$3301231LOTH/SH1"  # labeler A999, product SR55, unit of use
HIBC_SCAN = f"+{HIBC_DATA}{hibc_check_character('+' + HIBC_DATA)}"


def _rod(demo):
    return ProductFactory(
        organization=demo["admin"].organization,
        catalog_number="SPN-ROD-55",
        description="Spinal rod 5.5 mm x 500 mm",
        manufacturer="Keystone Spine",
        product_line="Spine",
    )


def _scan_unknown(page, raw):
    page.goto("/inventory/receive/")
    page.get_by_role("tab", name="Scan UDI").click()
    page.locator("#id_udi-udi").fill(raw)
    page.locator("#id_udi-custodian").fill("Organization custody")
    page.get_by_role("button", name="Receive scanned unit").click()


def test_admin_attaches_an_unknown_gtin_to_a_product_and_the_unit_is_received(page, demo):
    rod = _rod(demo)
    login(page, "admin")
    _scan_unknown(page, SCAN)

    expect(page.locator("#id_udi-udi_error")).to_have_text(
        f"No product in the catalog has GTIN {GTIN}."
    )
    expect(page.locator("#id_udi-udi")).to_have_value(SCAN)  # the scan stays where it was
    box = page.get_by_label("Product (catalog number)")
    expect(box).to_be_focused()
    # Suggestions are products without a GTIN yet: none of the demo's, the rod.
    box.press_sequentially("SPN", delay=30)
    options = page.locator("#id_attach-product_options option")
    expect(options).to_have_count(1)
    assert options.first.get_attribute("value") == "SPN-ROD-55"
    box.fill("SPN-ROD-55")  # what choosing the suggestion puts in the box
    page.get_by_role("button", name="Attach and receive").click()

    expect(page.get_by_text(f"SPN-ROD-55 now has GTIN {GTIN}.")).to_be_visible()
    expect(page.get_by_text("Received SPN-ROD-55")).to_be_visible()
    rod.refresh_from_db()
    unit = Unit.objects.get(udi=SCAN)
    assert (rod.gtin, unit.product, unit.serial_number, unit.custodian) == (
        GTIN,
        rod,
        "SPN-1",
        None,
    )
    assert ledger_problems(unit_ids=[unit.pk]) == []


def test_on_a_phone_an_admin_attaches_an_hibc_label_after_a_wrong_pick(phone_page, demo):
    rod = _rod(demo)
    page = phone_page
    login(page, "admin")
    _scan_unknown(page, HIBC_SCAN)

    expect(page.locator("#id_udi-udi_error")).to_have_text(
        "No product in the catalog has HIBC labeler A999 product SR55."
    )
    box = page.get_by_label("Product (catalog number)")
    box.fill("SPN")
    page.get_by_role("button", name="Attach and receive").click()
    expect(page.locator("#id_attach-product_error")).to_contain_text(
        "No product has the catalog number “SPN”. Products that match: SPN-ROD-55."
    )
    assert not Unit.objects.filter(udi=HIBC_SCAN).exists()
    box = page.get_by_label("Product (catalog number)")
    expect(box).to_be_focused()
    box.fill("spn-rod-55")
    page.get_by_role("button", name="Attach and receive").click()

    expect(page.get_by_text("Received SPN-ROD-55")).to_be_visible()
    rod.refresh_from_db()
    assert rod.hibc == "A999SR55"
    assert Unit.objects.get(udi=HIBC_SCAN).product == rod


def test_admin_creates_the_product_of_an_unknown_scan_and_the_unit_is_received(page, demo):
    login(page, "admin")
    _scan_unknown(page, SCAN)

    page.get_by_text("Or create a new product with it").click()
    page.locator("#id_new-catalog_number").fill("SPN-CAP-01")
    page.get_by_label("Description").fill("Set screw cap")
    page.get_by_label("Manufacturer").fill("Keystone Spine")
    expect(page.get_by_label("Tracking")).to_have_value("serial")  # the label has a serial
    page.get_by_role("button", name="Create product and receive").click()

    expect(page.get_by_text("Added SPN-CAP-01 Set screw cap to the catalog.")).to_be_visible()
    expect(page.get_by_text("Received SPN-CAP-01")).to_be_visible()
    product = Product.objects.get(catalog_number="SPN-CAP-01")
    assert (product.gtin, Unit.objects.get(udi=SCAN).product) == (GTIN, product)


def test_the_unknown_product_forms_fit_a_small_phone_and_axe_finds_nothing(
    browser, live_server, demo
):
    """As the every-screen walk does for pages a link opens: no sideways scroll from 320px up,
    and axe finds nothing, with the new-product form open and with an error showing."""
    _rod(demo)
    # Bypassing the Content-Security-Policy only lets axe's script be added, as in the walk.
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    login(page, "admin")
    _scan_unknown(page, HIBC_SCAN)
    page.get_by_text("Or create a new product with it").click()
    problems = _walk_widths(page, "unknown scan")
    page.get_by_label("Product (catalog number)").fill("nothing like it")
    page.get_by_role("button", name="Attach and receive").click()
    expect(page.locator("#id_attach-product_error")).to_be_visible()
    problems += _walk_widths(page, "wrong product")
    context.close()
    assert not problems, "\n".join(problems)


def _walk_widths(page, what):
    expect(page.get_by_test_id("unknown-product")).to_be_visible()
    problems = []
    for width in (320, 390, 768, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        extra = page.evaluate(OVERFLOW)
        if extra > 0:
            problems.append(f"{what} at {width}px: {extra}px too wide")
        if width in AXE_WIDTHS:
            if not page.evaluate("typeof axe !== 'undefined'"):
                page.add_script_tag(path=str(AXE))
            for v in page.evaluate(RUN_AXE, AXE_TAGS):
                problems.append(f"{what} at {width}px: {v['id']} {v['help']}: {v['nodes']}")
    page.set_viewport_size({"width": 1280, "height": 900})
    return problems
