"""Journey 4: a rep with only a phone marks implants used by pointing its camera at their labels.

Real symbols (zint) play on Chromium's fake camera; the app's own scanner (zxing-wasm) decodes
them in the page, asks the server about each code, and marks a found unit on one tap. Each test
launches a Chromium whose camera shows its symbols; the Content-Security-Policy listener stays
on, so the WebAssembly must run under the scanner pages' policy without a violation.
"""

import datetime
import re
import time

import pytest
from playwright.sync_api import expect

from events.models import EventLine
from inventory.models import CustodyEntry, LabelMismatch, Product, UnitState
from inventory.udi import FORMAT_GS1, FORMAT_GS1_DIGITAL_LINK, FORMAT_HIBCC
from tests.browser.camera import (
    BLANK,
    Bitmap,
    camera_context,
    hibc_readback,
    stacked,
    symbol_bitmap,
)
from tests.browser.chromium import CHROMIUM, LAUNCH_ARGS
from tests.browser.conftest import _page_failing_on_csp_violations, login
from tests.browser.test_every_screen import phone_problems
from tests.events.factories import open_event
from tests.inventory.factories import receive_units

GTIN = "00850001299992"  # valid; not one of the demo catalog's
LOT, SERIAL, EXPIRY = "RC-2417", "R-RC1", datetime.date(2028, 12, 31)
GS1 = f"(01){GTIN}(17)281231(10){LOT}(21){SERIAL}"
LINK = f"https://id.gs1.org/01/{GTIN}/10/{LOT}/21/{SERIAL}?17=281231"
HIBC_SERIAL = "HRC1"
HIBC = f"A99912340/$$+7{HIBC_SERIAL}"  # serial only, no date (flag 7)

FORMATS = {  # what the ledger records of each symbol's label
    "gs1-datamatrix": FORMAT_GS1,
    "gs1-128": FORMAT_GS1,
    "qr": FORMAT_GS1_DIGITAL_LINK,
    "hibc-datamatrix": FORMAT_HIBCC,
    "hibc-39": FORMAT_HIBCC,
}
# Symbol kind, the text it carries, and the serial of the unit it names.
SYMBOLS = {
    "gs1-datamatrix": (GS1, SERIAL),
    "gs1-128": (GS1, SERIAL),
    "qr": (LINK, SERIAL),
    "hibc-datamatrix": (HIBC, HIBC_SERIAL),
    "hibc-39": (HIBC, HIBC_SERIAL),
}


@pytest.fixture
def stock(demo):
    """riley's trunk holds an implant labelled in GS1 and one labelled in HIBC."""
    admin, riley = demo["admin"], demo["riley"]
    gs1 = Product.objects.create(
        organization=admin.organization,
        catalog_number="IMP-GS1",
        description="Pedicle screw",
        manufacturer="Acme",
        gtin=GTIN,
    )
    hibc = Product.objects.create(
        organization=admin.organization,
        catalog_number="IMP-HIBC",
        description="Bone plate",
        manufacturer="Acme",
        hibc_lic="A999",
        hibc_product="1234",
    )
    (gs1_unit,) = receive_units(
        admin, riley, product=gs1, serial_prefix="R-RC", lot_number=LOT, expiration_date=EXPIRY
    )
    (hibc_unit,) = receive_units(admin, riley, product=hibc, serial_prefix="HRC")
    return {SERIAL: gs1_unit, HIBC_SERIAL: hibc_unit}


@pytest.fixture
def camera_page(camera_browser, live_server):
    """open(symbols) -> a phone-sized page whose camera shows those symbols in turn, each a
    (kind, text) pair or a Bitmap; the test fails on any Content-Security-Policy violation."""
    pages = []

    def open_page(symbols):
        bitmaps = [s if isinstance(s, Bitmap) else symbol_bitmap(*s) for s in symbols]
        browser = camera_browser(bitmaps)
        context = camera_context(browser, live_server.url)
        pages.append(_page_failing_on_csp_violations(context))
        return next(pages[-1])

    yield open_page
    for page in pages:
        next(page, None)  # closes the context; fails the test on a violation


def _results(page):
    return page.get_by_test_id("scan-results").locator("li")


@pytest.mark.parametrize("kind", SYMBOLS)
def test_a_rep_marks_a_unit_used_by_pointing_the_camera_at_its_label(
    camera_page, demo, stock, kind
):
    text, serial = SYMBOLS[kind]
    unit = stock[serial]
    riley = demo["riley"]
    case = open_event(riley)
    page = camera_page([(kind, text)])
    login(page, "riley")
    page.goto(f"/events/{case.pk}/use/")

    page.get_by_role("button", name="Scan with camera").click()
    found = _results(page).and_(page.locator("[data-state=found]"))
    expect(found).to_have_count(1, timeout=15_000)
    expect(found).to_contain_text(unit.product.catalog_number)
    expect(found).to_contain_text(serial)
    assert not EventLine.objects.filter(event=case).exists()  # never marked without the tap

    found.get_by_role("button", name="Mark used").click()
    expect(_results(page).and_(page.locator("[data-state=marked]"))).to_have_count(1)
    assert list(EventLine.objects.filter(event=case).values_list("unit_id", flat=True)) == [unit.pk]
    entry = CustodyEntry.objects.filter(unit=unit).latest("sequence")
    assert entry.identified_by == f"scan:{FORMATS[kind]}"

    # Done shows the page as it now is: the unit among "Used on this event".
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("used-units")).to_contain_text(serial)
    unit.refresh_from_db()
    assert unit.state == UnitState.ALLOCATED


def test_a_label_whose_lot_disagrees_is_refused_through_the_camera(camera_page, demo, stock):
    riley = demo["riley"]
    case = open_event(riley)
    entries = CustodyEntry.objects.count()
    page = camera_page([("gs1-datamatrix", f"(01){GTIN}(17)281231(10)WRONGLOT(21){SERIAL}")])
    login(page, "riley")
    page.goto(f"/events/{case.pk}/use/")

    page.get_by_role("button", name="Scan with camera").click()
    refused = _results(page).and_(page.locator("[data-state=refused]"))
    expect(refused).to_have_count(1, timeout=15_000)
    expect(refused).to_contain_text("label: lot WRONGLOT")
    expect(refused).to_contain_text(f"record: lot {LOT}")
    expect(refused.get_by_role("button", name="Mark used")).to_have_count(0)
    assert not EventLine.objects.filter(event=case).exists()
    assert CustodyEntry.objects.count() == entries
    mismatch = LabelMismatch.objects.get()
    assert (mismatch.unit, mismatch.scanned_by, mismatch.label_lot) == (
        stock[SERIAL],
        riley,
        "WRONGLOT",
    )


def test_the_recall_lookup_shows_a_scanned_units_lot(camera_page, demo, stock):
    page = camera_page([("gs1-datamatrix", GS1)])
    login(page, "admin")
    page.goto("/inventory/recalls/lookup/")

    page.get_by_role("button", name="Scan with camera").click()
    found = _results(page).and_(page.locator("[data-state=found]"))
    expect(found).to_have_count(1, timeout=15_000)
    found.get_by_role("button", name="Show its lot").click()

    expect(page).to_have_url(re.compile(r"/inventory/recalls/lookup/\?.*code="))
    expect(page.get_by_text(f"lot {LOT} (scanned: serial {SERIAL})")).to_be_visible()
    expect(page.get_by_test_id("scanned-unit")).to_have_count(1)


def test_the_scan_page_opens_the_unit_read(camera_page, demo, stock):
    page = camera_page([("qr", LINK)])
    login(page, "riley")
    page.get_by_test_id("nav-scan").click()
    expect(page).to_have_url(re.compile(r"/scan/$"))

    page.get_by_role("button", name="Start the camera").click()
    found = _results(page).and_(page.locator("[data-state=found]"))
    expect(found).to_have_count(1, timeout=15_000)
    found.get_by_role("link", name="Open unit").click()
    expect(page).to_have_url(re.compile(rf"/inventory/units/{stock[SERIAL].pk}/$"))


def test_the_same_code_read_again_is_listed_once(camera_page, demo, stock):
    riley = demo["riley"]
    case = open_event(riley)
    page = camera_page([("gs1-datamatrix", GS1)])
    login(page, "riley")
    page.goto(f"/events/{case.pk}/use/")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/use/scan/?" in r.url else None)
    page.get_by_role("button", name="Scan with camera").click()
    expect(_results(page)).to_have_count(1, timeout=15_000)
    page.wait_for_timeout(5_500)  # the label stays in view past the 4 s repeat window
    expect(_results(page)).to_have_count(1)
    assert len(asked) == 1, asked  # answered once: never asked again


def test_the_open_scanner_fits_a_phone_and_axe_finds_nothing(
    camera_browser, live_server, demo, stock
):
    """The scanner pages join the width and axe walks with the scanner open and a result
    listed (the walk itself sees them closed). This context bypasses the Content-Security-
    Policy only so axe's script can be added; the tests above hold the scanner to it."""
    riley = demo["riley"]
    case = open_event(riley)
    browser = camera_browser([symbol_bitmap("gs1-datamatrix", GS1)])
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        permissions=["camera"],
        bypass_csp=True,
    )
    page = context.new_page()
    login(page, "riley")
    problems = []
    for url, button in [
        (f"/events/{case.pk}/use/", "Scan with camera"),
        ("/scan/", "Start the camera"),
    ]:
        page.goto(url)
        page.get_by_role("button", name=button).click()
        expect(_results(page).and_(page.locator("[data-state=found]"))).to_have_count(
            1, timeout=15_000
        )
        problems += phone_problems(page, url)
    context.close()
    assert not problems, "\n".join(problems)


def _scan_page_message(page):
    page.get_by_role("button", name="Start the camera").click()
    status = page.locator(".scanner-status")
    expect(status).not_to_have_text(re.compile(r"^(|Starting the camera…)$"))
    return status


def test_no_camera_says_so_and_the_typed_box_still_works(phone_page, demo, stock):
    """The session's Chromium has no camera at all (no fake device)."""
    login(phone_page, "riley")
    phone_page.goto("/scan/")
    expect(_scan_page_message(phone_page)).to_have_text(re.compile("No camera was found"))
    phone_page.get_by_label("Or type or paste a serial, a lot or a UDI").fill(GS1)
    phone_page.get_by_role("button", name="Find").click()
    expect(phone_page).to_have_url(re.compile(rf"/inventory/units/{stock[SERIAL].pk}/$"))


def test_a_refused_camera_permission_says_so(browser, live_server, demo, stock):
    """A camera is there (a fake device) but the site may not use it: the permission is
    denied, as after a person refused the browser's prompt."""
    refusing = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*LAUNCH_ARGS, "--use-fake-device-for-media-stream"]
    )
    try:
        page = refusing.new_page(base_url=live_server.url)
        login(page, "riley")
        page.goto("/scan/")
        page.context.new_cdp_session(page).send(
            "Browser.setPermission",
            {"permission": {"name": "camera"}, "setting": "denied", "origin": live_server.url},
        )
        expect(_scan_page_message(page)).to_have_text(re.compile("camera permission was refused"))
        expect(_results(page)).to_have_count(0)
    finally:
        refusing.close()


def test_an_insecure_address_says_the_camera_needs_https(browser, live_server, demo, settings):
    """Browsers give the camera to https:// and localhost only: the same server under a plain
    http:// host name is what a phone on the network would get from `make run`."""
    settings.ALLOWED_HOSTS = ["*"]
    port = live_server.url.rsplit(":", 1)[1]
    named = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*LAUNCH_ARGS, "--host-resolver-rules=MAP trunkpool.test 127.0.0.1"],
    )
    try:
        page = named.new_page(base_url=f"http://trunkpool.test:{port}")
        login(page, "riley")
        page.goto("/scan/")
        expect(_scan_page_message(page)).to_have_text(re.compile(r"secure \(https://\) address"))
    finally:
        named.close()


def test_a_code_read_without_signal_is_asked_again_in_the_same_place(camera_page, demo, stock):
    riley = demo["riley"]
    case = open_event(riley)
    page = camera_page([("gs1-datamatrix", GS1)])
    login(page, "riley")
    page.goto(f"/events/{case.pk}/use/")
    dropped = []

    asked_at = []

    def no_signal_once(route):
        asked_at.append(time.monotonic())
        if not dropped:
            dropped.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r"/use/scan/\?"), no_signal_once)
    page.get_by_role("button", name="Scan with camera").click()
    expect(_results(page).and_(page.locator("[data-state=unanswered]"))).to_have_count(
        1, timeout=15_000
    )
    expect(_results(page)).to_contain_text("No answer from the server")
    # The camera still sees the label: a few seconds later it is asked again, and answered.
    expect(_results(page).and_(page.locator("[data-state=found]"))).to_have_count(1, timeout=15_000)
    expect(_results(page)).to_have_count(1)
    assert len(dropped) == 1
    # Asked again only after the repeat window, not on every frame the camera still sees.
    assert len(asked_at) == 2 and asked_at[1] - asked_at[0] > 3.5


def test_the_transfer_form_adds_the_units_tapped(camera_page, demo, stock):
    page = camera_page([("gs1-128", GS1), ("hibc-datamatrix", HIBC)])
    login(page, "riley")
    page.goto("/inventory/transfers/new/")
    page.get_by_role("button", name="Scan with camera").click()
    for serial in (SERIAL, HIBC_SERIAL):
        found = _results(page).and_(page.locator("[data-state=found]")).filter(has_text=serial)
        expect(found).to_have_count(1, timeout=15_000)
        found.get_by_role("button", name="Add").click()
    page.get_by_role("button", name="Done").click()
    # Done sends the added codes with "Add scanned units": both join the transfer.
    rows = page.get_by_test_id("transfer-units").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=SERIAL)).to_have_count(1)
    expect(rows.filter(has_text=HIBC_SERIAL)).to_have_count(1)


@pytest.mark.parametrize("kind", ["hibc-128", "hibc-39"])
def test_an_hibc_label_printed_as_two_symbols_is_read_as_one(camera_page, demo, stock, kind):
    """Primary (labeler, product) and secondary (serial) data in two linear symbols: the
    secondary's link character is the primary's check character, and the scanner joins them."""
    primary = "A99912340"
    link = hibc_readback(primary)[-1]
    # The secondary printed above the primary: still read as one label, never alone.
    label = stacked(symbol_bitmap(kind, f"$$+7{HIBC_SERIAL}{link}"), symbol_bitmap(kind, primary))
    case = open_event(demo["riley"])
    page = camera_page([label])
    login(page, "riley")
    page.goto(f"/events/{case.pk}/use/")
    page.get_by_role("button", name="Scan with camera").click()
    found = _results(page).and_(page.locator("[data-state=found]"))
    expect(found).to_have_count(1, timeout=15_000)
    expect(found).to_contain_text(HIBC_SERIAL)
    expect(_results(page)).to_have_count(1)
    found.get_by_role("button", name="Mark used").click()
    expect(_results(page).and_(page.locator("[data-state=marked]"))).to_have_count(1)
    assert EventLine.objects.get(event=case).unit == stock[HIBC_SERIAL]


def test_a_code_read_offline_is_answered_when_the_signal_returns(camera_page, demo, stock):
    """The phone loses signal in the operating room (the browser goes offline): the code read
    is listed as unanswered, nothing is marked, and it is answered once the signal is back."""
    case = open_event(demo["riley"])
    # 2 s of white first: the scanner starts (and loads its decoder) with signal, then the
    # signal goes before the label comes into view. (Working offline from the start is the
    # offline Mark Used work, which caches the page and the decoder.)
    page = camera_page([BLANK, ("gs1-datamatrix", GS1)])
    login(page, "riley")
    page.goto(f"/events/{case.pk}/use/")
    page.get_by_role("button", name="Scan with camera").click()
    expect(page.locator(".scanner-status")).to_have_text(re.compile("Point the camera"))
    page.context.set_offline(True)
    unanswered = _results(page).and_(page.locator("[data-state=unanswered]"))
    expect(unanswered).to_have_count(1, timeout=15_000)
    expect(unanswered.get_by_role("button", name="Mark used")).to_have_count(0)
    page.context.set_offline(False)
    found = _results(page).and_(page.locator("[data-state=found]"))
    expect(found).to_have_count(1, timeout=15_000)
    found.get_by_role("button", name="Mark used").click()
    expect(_results(page).and_(page.locator("[data-state=marked]"))).to_have_count(1)
    assert EventLine.objects.get(event=case).unit == stock[SERIAL]
