"""Journey 4 without signal: a rep prepares a case, records it in a basement with no network
(tap, typed serial, the phone's camera), and the server judges every mark when the signal
returns: nothing is used twice, and every refusal is explained.

The page reaches the live server through a relay the test can cut (bench/network.py),
on top of Playwright's own offline switch, so the service worker's requests fail too. The
Content-Security-Policy listener stays on throughout.
"""

from __future__ import annotations

import datetime
import json
import re
import time

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from accounts.models import DistributorGroup
from accounts.services import group_set_pooling
from bench.network import NetworkSwitch
from events.models import ClientOperation, EventLine
from events.services.usage import event_mark_used, event_unmark
from inventory.models import CustodyEntry, EntryKind, Product
from inventory.services.recalls import recall_record
from tests.browser.camera import symbol_bitmap
from tests.browser.conftest import _page_failing_on_csp_violations, login
from tests.browser.test_every_screen import phone_problems
from tests.events.factories import open_event
from tests.inventory.factories import ProductFactory, receive_units

GTIN = "00850001299992"
LOT = "LOT-OFF"
EXPIRY = datetime.date(2028, 12, 31)
PATIENT = "PT-SECRET-4471"


@pytest.fixture
def network(live_server):
    switch = NetworkSwitch(live_server.url)
    yield switch
    switch.close()


@pytest.fixture
def implants(demo):
    """Three implants in riley's trunk, of a product with a GTIN (so its label can be scanned)."""
    admin, riley = demo["admin"], demo["riley"]
    product = Product.objects.create(
        organization=admin.organization,
        catalog_number="IMP-OFF",
        description="Cage, lumbar",
        manufacturer="Acme",
        gtin=GTIN,
    )
    return receive_units(
        admin,
        riley,
        n=3,
        product=product,
        serial_prefix="OFF-",
        lot_number=LOT,
        expiration_date=EXPIRY,
    )


@pytest.fixture
def contexts(browser, network):
    """open(browser=None) -> a phone-sized page on the cuttable network; each context fails
    its test on a CSP violation when it closes."""
    opened = []

    def open_page(on=None):
        context = (on or browser).new_context(
            base_url=network.url,
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            permissions=["camera", "background-sync"],
        )
        # Questions the page asks (window.confirm) are answered yes, and kept for the test.
        context.dialogs = []
        context.on("dialog", lambda d: (context.dialogs.append(d.message), d.accept()))
        pages = _page_failing_on_csp_violations(context)
        opened.append(pages)
        return next(pages)

    yield open_page
    for pages in opened:
        next(pages, None)


def offline(page, network):
    network.down()
    page.context.set_offline(True)


def online(page, network):
    """Signal again: the relay first, so the page's "online" event finds the server."""
    network.up()
    page.context.set_offline(False)


def prepare(page, event):
    """With signal: open Mark Used and keep the event on the phone."""
    page.goto(f"/events/{event.pk}/use/")
    page.get_by_role("button", name="Make available offline").click()
    expect(page.locator("[data-offline-state]")).to_contain_text(
        "Available offline on this phone", timeout=30_000
    )


def prepared(contexts, username, case, *, on=None):
    """A phone signed in as `username` that has made the case available offline."""
    page = contexts(on)
    login(page, username)
    prepare(page, case)
    return page


def in_the_basement(contexts, network, username, case, *, on=None):
    """Signed in and the case prepared with signal; then no signal, and its Mark Used open
    from what the phone kept."""
    page = prepared(contexts, username, case, on=on)
    offline(page, network)
    page.goto(f"/events/{case.pk}/use/")
    return page


def stored(page) -> dict:
    """Everything the phone keeps for offline use: IndexedDB and the worker's caches."""
    return page.evaluate(
        """async () => {
          const db = await new Promise((ok, no) => {
            const r = indexedDB.open("trunkpool-offline");
            r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error);
          });
          const all = (name) => new Promise((ok) => {
            const r = db.transaction(name).objectStore(name).getAll();
            r.onsuccess = () => ok(r.result);
          });
          const cached = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) {
              const response = await cache.match(request);
              const type = response.headers.get("Content-Type") || "";
              cached.push({url: request.url, text: type.includes("html") || type.includes("json")
                ? await response.text() : ""});
            }
          }
          return {snapshots: await all("snapshots"), ops: await all("ops"),
                  meta: await all("meta"), cached};
        }"""
    )


def used(page):
    return page.get_by_test_id("offline-used").locator("li")


def mark_offline(page, unit):
    """Tap Mark used and wait until the phone has stored it (the list shows it waiting): a
    navigation before that would abort the write, as it would on a phone."""
    page.get_by_role("button", name=f"Mark used: {unit.serial_number}").click()
    waiting = page.locator(f"[data-unit='{unit.pk}'][data-state='waiting to sync']")
    expect(used(page).and_(waiting)).to_have_count(1)


def test_a_whole_case_is_recorded_offline_by_tap_typed_serial_and_camera_and_synced_once(
    camera_browser, contexts, network, demo, implants
):
    riley = demo["riley"]
    tapped, typed, scanned = implants
    case = open_event(riley)
    case.patient_ref = PATIENT
    case.save(update_fields=["patient_ref"])
    label = f"(01){GTIN}(17)281231(10){LOT}(21){scanned.serial_number}"
    page = contexts(camera_browser([symbol_bitmap("gs1-datamatrix", label)]))
    login(page, "riley")
    prepare(page, case)

    # What the phone keeps: no patient reference, no CSRF token, no server-rendered page.
    kept = json.dumps(stored(page))
    assert PATIENT not in kept
    assert "csrfmiddlewaretoken" not in kept
    assert all(cookie["value"] not in kept for cookie in page.context.cookies())
    # Only the data-free shell and static files: no page the server rendered for riley.
    cached = [c["url"].removeprefix(network.url) for c in stored(page)["cached"]]
    assert cached and all(url == "/offline/" or url.startswith("/static/") for url in cached)

    offline(page, network)
    # The signal goes with the live page open: it offers to carry on from the phone.
    page.get_by_role("button", name="Continue without signal").click()
    expect(page.get_by_test_id("offline-badge")).to_be_visible()
    expect(page.get_by_test_id("offline-event")).to_contain_text(case.name)

    # 1. A tap on the list.
    mark_offline(page, tapped)
    # 2. A serial typed, in another case.
    page.get_by_label("Type a serial or lot").fill(typed.serial_number.lower())
    page.get_by_label("Type a serial or lot").press("Enter")
    # 3. The camera, from the decoder the worker cached.
    page.get_by_role("button", name="Scan with camera").click()
    found = page.get_by_test_id("scan-results").locator("li[data-state=found]")
    expect(found).to_have_count(1, timeout=20_000)
    found.get_by_role("button", name="Mark used").click()
    expect(page.get_by_test_id("scan-results").locator("li[data-state=marked]")).to_have_count(1)
    page.get_by_role("button", name="Done").click()

    expect(used(page).and_(page.locator("[data-state='waiting to sync']"))).to_have_count(3)
    assert not EventLine.objects.filter(event=case).exists()  # nothing reached the server

    # Close the page and open it again, still without signal: the marks are still there.
    page.close()
    page = page.context.new_page()
    page.goto(f"/events/{case.pk}/use/")
    expect(used(page).and_(page.locator("[data-state='waiting to sync']"))).to_have_count(3)

    online(page, network)
    expect(used(page).and_(page.locator("[data-state=synced]"))).to_have_count(3, timeout=15_000)
    lines = EventLine.objects.filter(event=case)
    assert sorted(lines.values_list("unit_id", flat=True)) == sorted(u.pk for u in implants)
    entries = CustodyEntry.objects.filter(event_id=case.pk, kind=EntryKind.MARKED_USED)
    assert sorted(entries.values_list("unit_id", flat=True)) == sorted(u.pk for u in implants)
    how = dict(entries.values_list("unit_id", "identified_by"))
    assert how == {tapped.pk: "list", typed.pk: "typed", scanned.pk: "scan:gs1"}
    assert all(e.reported_at is not None for e in entries)

    # Replaying the same operations again (a lost answer, a second tab) changes nothing.
    first = {op["id"]: op["message"] for op in stored(page)["ops"]}
    page.evaluate(
        """async (user) => {
          const ops = await TrunkpoolStore.ops(user);
          for (const op of ops) op.state = "waiting";
          await TrunkpoolStore.putOps(ops);
          return TrunkpoolSyncNow();
        }""",
        riley.pk,
    )
    # Only a server's answer turns a waiting op "applied" (by the page or the worker).
    wait_for_ops(page, riley.pk)
    assert {op["id"]: op["message"] for op in stored(page)["ops"]} == first
    assert EventLine.objects.filter(event=case).count() == 3
    assert CustodyEntry.objects.filter(event_id=case.pk).count() == 3
    assert ClientOperation.objects.filter(user=riley).count() == 3


def test_two_reps_offline_with_the_same_pooled_unit_one_wins_the_other_sees_who(
    browser, contexts, network, demo
):
    admin, dana, riley, sam = demo["admin"], demo["dana"], demo["riley"], demo["sam"]
    group_set_pooling(
        actor=admin, group=DistributorGroup.objects.get(distributor=dana), enabled=True
    )
    (pooled,) = receive_units(admin, dana, serial_prefix="POOL-OFF-")
    riley_case, sam_case = open_event(riley, name="Riley's knee"), open_event(sam, name="Sam's hip")
    pages = {}
    for rep, case in (("riley", riley_case), ("sam", sam_case)):
        pages[rep] = prepared(contexts, rep, case)
    for page in pages.values():
        offline(page, network)
        page.reload()
        row = page.get_by_test_id("offline-units").locator(f"tr[data-unit='{pooled.pk}']")
        # Red, and named: the distributor's unit.
        expect(row.locator(".custody-distributor")).to_contain_text("Distributor · Dana")
        row.get_by_role("button", name="Mark used").click()
        expect(used(page).and_(page.locator("[data-state='waiting to sync']"))).to_have_count(1)

    for rep in ("riley", "sam"):
        page = pages[rep]
        online(page, network)
        expect(page.get_by_text(re.compile(r"Synced: "))).to_be_visible(timeout=15_000)

    assert EventLine.objects.filter(unit=pooled).count() == 1
    assert EventLine.objects.get(unit=pooled).event == riley_case  # riley synced first
    refused = pages["sam"].get_by_test_id("offline-used").locator("li[data-state=refused]")
    expect(refused).to_contain_text("Riley's knee")
    expect(refused).to_contain_text("Riley Rep")


def test_a_recall_recorded_while_the_rep_was_offline_turns_the_mark_into_a_conflict(
    contexts, network, demo, implants
):
    admin, riley = demo["admin"], demo["riley"]
    unit = implants[0]
    case = open_event(riley)
    page = in_the_basement(contexts, network, "riley", case)
    mark_offline(page, unit)

    recall = recall_record(
        actor=admin,
        reference="RC-OFF-9",
        reason="Sterile barrier breach",
        recall_class="II",
        product=unit.product,
        serial_numbers=[unit.serial_number],
        recall_date=datetime.date.today(),
    )
    online(page, network)
    page.goto(f"/events/{case.pk}/use/")  # a page load with signal replays
    refused = page.get_by_test_id("offline-ops").locator("[data-state=refused]")
    expect(refused).to_contain_text(recall.reference, timeout=15_000)
    assert not EventLine.objects.filter(event=case).exists()
    # Read and understood: it goes from the page, and stays on the phone.
    refused.get_by_role("button", name="Dismiss").click()
    expect(refused).to_have_count(0)
    assert [op["state"] for op in stored(page)["ops"]] == ["refused"]


def wait_for_ops(page, user, state="applied", timeout=15):
    """Until every op of `user` kept on the phone is in `state`, or (state None) none is
    waiting any more (there is at least one). Polled from here: page.wait_for_function
    evaluates a string, which the CSP forbids."""
    deadline = time.monotonic() + timeout
    while True:
        states = page.evaluate(
            "async (user) => (await TrunkpoolStore.ops(user)).map((op) => op.state)", user
        )
        if states and all(s == state if state else s != "waiting" for s in states):
            return states
        assert time.monotonic() < deadline, f"ops of user {user} still {states}"
        page.wait_for_timeout(200)


def log_out(page):
    page.get_by_role("button", name="Menu").click()
    page.get_by_test_id("menu-user").click()
    page.get_by_role("button", name="Log out").click()


def test_logging_out_with_signal_syncs_first_then_removes_the_offline_data(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    page = prepared(contexts, "riley", case)
    desk = page.context.new_page()
    desk.goto("/inventory/")  # opened with signal; nothing waits yet
    # The server out of reach while the phone believes it has signal: the mark waits, and no
    # "online" event will come to replay it. Only the logout does.
    network.down()
    page.goto(f"/events/{case.pk}/use/")
    page.get_by_role("button", name=f"Mark used: {implants[0].serial_number}").click()
    expect(used(page).and_(page.locator("[data-state='waiting to sync']"))).to_have_count(1)
    network.up()
    assert not EventLine.objects.filter(event=case).exists()
    log_out(desk)
    desk.wait_for_url(re.compile(r"/accounts/login/"))
    assert list(EventLine.objects.filter(event=case).values_list("unit_id", flat=True)) == [
        implants[0].pk
    ]
    left = stored(desk)
    assert left["snapshots"] == [] and left["ops"] == []
    assert page.context.dialogs == []  # nothing was left to ask about


def test_logging_out_offline_asks_and_keeps_the_waiting_marks_until_that_rep_signs_in(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    page = prepared(contexts, "riley", case)
    desk = page.context.new_page()
    desk.goto("/inventory/")  # a page opened with signal, still on screen in the basement
    offline(page, network)
    page.goto(f"/events/{case.pk}/use/")
    page.get_by_role("button", name=f"Mark used: {implants[0].serial_number}").click()
    expect(used(page).and_(page.locator("[data-state='waiting to sync']"))).to_have_count(1)

    log_out(desk)
    expect(desk.locator("#offline-signed-out")).to_contain_text("1 mark(s) made here wait")
    expect(desk.get_by_role("link", name="Try again")).to_have_attribute("href", "/")
    assert len(page.context.dialogs) == 1 and "no signal" in page.context.dialogs[0]
    left = stored(desk)
    assert left["snapshots"] == []
    assert [op["state"] for op in left["ops"]] == ["waiting"]

    # With signal again, the logout reaches the server; the mark is not replayed without riley.
    online(page, network)
    desk.goto("/inventory/")
    desk.wait_for_url(re.compile(r"/accounts/login/"))
    assert not EventLine.objects.filter(event=case).exists()
    assert [op["state"] for op in stored(desk)["ops"]] == ["waiting"]
    login(desk, "riley")
    wait_for_ops(desk, riley.pk)
    assert EventLine.objects.filter(event=case, unit=implants[0]).exists()


def test_a_page_that_does_not_work_offline_says_so_and_lists_what_is_prepared(
    contexts, network, demo
):
    riley = demo["riley"]
    case = open_event(riley, name="Basement spine case")
    page = prepared(contexts, "riley", case)
    offline(page, network)
    page.goto("/inventory/")
    expect(page.get_by_role("heading", name="This page needs a connection")).to_be_visible()
    listed = page.get_by_test_id("offline-prepared")
    expect(listed).to_contain_text("Basement spine case")
    listed.get_by_role("link", name="Basement spine case").click()
    expect(page.get_by_test_id("offline-event")).to_contain_text("Basement spine case")


def test_a_session_that_ended_offline_asks_to_sign_in_then_replays(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    page = in_the_basement(contexts, network, "riley", case)
    mark_offline(page, implants[0])
    Session.objects.all().delete()  # the session expired meanwhile
    online(page, network)
    page.get_by_role("link", name="sign in again").click()
    page.fill("input[name=username]", "riley")
    page.fill("input[name=password]", "trunkpool-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"/events/{case.pk}/use/"))
    expect(page.get_by_test_id("used-units")).to_contain_text(implants[0].serial_number)
    assert EventLine.objects.filter(event=case, unit=implants[0]).exists()


def test_another_user_signing_in_never_replays_the_first_ones_marks_and_drops_their_copy(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    page = in_the_basement(contexts, network, "riley", case)
    mark_offline(page, implants[0])
    page.context.clear_cookies()  # riley's session is gone; casey picks up the phone
    online(page, network)
    login(page, "casey")
    page.goto("/inventory/")
    kept = stored(page)
    assert kept["snapshots"] == []
    assert [op["state"] for op in kept["ops"]] == ["waiting"]
    assert not EventLine.objects.filter(event=case).exists()
    page.context.clear_cookies()
    login(page, "riley")
    page.goto("/inventory/")
    wait_for_ops(page, riley.pk)
    assert EventLine.objects.filter(event=case, unit=implants[0]).exists()


def _rows(page):
    return page.get_by_test_id("offline-units").locator("tr[data-unit]")


def test_offline_the_custody_filter_a_typed_lot_and_what_the_phone_refuses(
    contexts, network, demo, implants
):
    admin, dana, riley = demo["admin"], demo["dana"], demo["riley"]
    group_set_pooling(
        actor=admin, group=DistributorGroup.objects.get(distributor=dana), enabled=True
    )
    (pooled,) = receive_units(admin, dana, serial_prefix="POOL-F-")
    sponge = ProductFactory(organization=admin.organization, lot_tracked=True)
    pool_lot = receive_units(
        admin,
        dana,
        n=1,
        product=sponge,
        lot_number="LT-7",
        expiration_date=datetime.date(2027, 1, 1),
    )
    own_lot = receive_units(
        admin,
        riley,
        n=1,
        product=sponge,
        lot_number="LT-7",
        expiration_date=datetime.date(2029, 1, 1),
    )
    case = open_event(riley)
    page = in_the_basement(contexts, network, "riley", case)

    custody = page.get_by_role("group", name="Custody")
    custody.get_by_role("button", name="My Custody").click()
    expect(_rows(page).and_(page.locator(f"[data-unit='{pooled.pk}']"))).to_have_count(0)
    expect(_rows(page).and_(page.locator(f"[data-unit='{implants[0].pk}']"))).to_have_count(1)
    custody.get_by_role("button", name="Shared by Distributor").click()
    expect(_rows(page).locator(".custody-own")).to_have_count(0)
    expect(_rows(page).and_(page.locator(f"[data-unit='{pooled.pk}']"))).to_have_count(1)
    custody.get_by_role("button", name="Both").click()

    box = page.get_by_label("Type a serial or lot")
    answer = page.locator("#offline-answer")
    # A lot alone takes the rep's own unit first, even when the pool's expires sooner.
    box.fill("LT-7")
    box.press("Enter")
    expect(answer).to_contain_text("waiting to sync")
    marked = used(page).and_(page.locator("[data-state='waiting to sync']"))
    expect(marked).to_have_count(1)
    assert marked.get_attribute("data-unit") == str(own_lot[0].pk)
    # Marked on this phone: not again.
    page.get_by_role("button", name=f"Mark used: {implants[0].serial_number}").click()
    box.fill(implants[0].serial_number)
    box.press("Enter")
    expect(answer).to_contain_text("already marked on this phone")
    # A lot of serial-tracked units asks for the serial; an unknown code says so.
    box.fill(LOT)
    box.press("Enter")
    expect(answer).to_contain_text("tracked by serial")
    box.fill("NOPE-999")
    box.press("Enter")
    expect(answer).to_contain_text("No unit on this phone's list")
    # A label whose lot disagrees with the record is refused on the phone too.
    box.fill(f"(01){GTIN}(17)281231(10)WRONG(21){implants[1].serial_number}")
    box.press("Enter")
    expect(answer).to_contain_text("the record says LOT-OFF")
    expect(marked).to_have_count(2)
    assert pool_lot[0].pk not in [
        int(v) for v in marked.evaluate_all("items => items.map((li) => li.dataset.unit)")
    ]


def test_unmark_offline_cancels_a_waiting_mark_and_queues_the_unmark_of_a_synced_one(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    event_mark_used(actor=riley, event=case, unit_ids=[implants[0].pk])  # before the basement
    page = in_the_basement(contexts, network, "riley", case)
    synced = used(page).and_(page.locator("[data-state=synced]"))
    expect(synced).to_contain_text(implants[0].serial_number)

    page.get_by_role("button", name=f"Mark used: {implants[1].serial_number}").click()
    page.get_by_role("button", name=f"Cancel: {implants[1].serial_number}").click()
    expect(_rows(page).and_(page.locator(f"[data-unit='{implants[1].pk}']"))).to_have_count(1)
    page.get_by_role("button", name=f"Unmark: {implants[0].serial_number}").click()
    expect(used(page).and_(page.locator("[data-state='unmark waiting to sync']"))).to_have_count(1)
    # Chromium will replay from the worker too, even with this page closed (Background Sync).
    tags = page.evaluate("navigator.serviceWorker.ready.then((r) => r.sync.getTags())")
    assert tags == ["trunkpool-sync"]

    online(page, network)
    wait_for_ops(page, riley.pk, state=None)
    assert not EventLine.objects.current().filter(event=case).exists()
    sent = ClientOperation.objects.filter(user=riley)
    assert list(sent.values_list("kind", "unit_id", "status")) == [
        ("unmark", implants[0].pk, "applied")
    ]


def test_the_offline_copy_says_when_it_was_taken_refreshes_and_goes_after_the_events_day(
    contexts, network, demo, implants
):
    admin, riley = demo["admin"], demo["riley"]
    case = open_event(riley)
    page = prepared(contexts, "riley", case)
    state = page.locator("[data-offline-state]")
    expect(state).to_contain_text("copy taken")
    count = len(stored(page)["snapshots"][0]["data"]["units"])
    receive_units(admin, riley, n=2, product=implants[0].product, serial_prefix="LATE-")
    page.get_by_role("button", name="Refresh offline copy").click()
    expect(state).to_contain_text(f"{count + 2} unit(s)")

    # The day after the event, the copy is gone at the next page load.
    page.evaluate(
        """async (user) => {
          const [snap] = await TrunkpoolStore.snapshots(user);
          snap.purge_after = "2000-01-01";
          await TrunkpoolStore.saveSnapshot(user, snap);
        }""",
        riley.pk,
    )
    page.reload()
    expect(state).to_contain_text("Not kept on this phone")
    assert stored(page)["snapshots"] == []


def test_the_offline_pages_fit_a_phone_and_axe_finds_nothing(browser, network, demo, implants):
    """The shell, drawing a prepared event with a waiting mark and a refusal, and saying a page
    needs a connection. This context bypasses the CSP only so axe's script can be added; the
    tests above hold the offline pages to it."""
    riley = demo["riley"]
    case = open_event(riley)
    context = browser.new_context(
        base_url=network.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
    )
    page = context.new_page()
    login(page, "riley")
    prepare(page, case)
    offline(page, network)
    problems = []
    for url in (f"/events/{case.pk}/use/", "/inventory/"):
        page.goto(url)
        if "/use/" in url:
            page.get_by_role("button", name=f"Mark used: {implants[0].serial_number}").click()
            page.get_by_label("Type a serial or lot").fill("NOPE")
            page.get_by_label("Type a serial or lot").press("Enter")
        problems += phone_problems(page, url)
    context.close()
    assert not problems, "\n".join(problems)


def test_a_double_tap_or_a_second_tab_never_queues_a_unit_twice_and_a_synced_mark_is_not_cancelled(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    unit = implants[0]
    page = in_the_basement(contexts, network, "riley", case)
    other_tab = page.context.new_page()
    other_tab.goto(f"/events/{case.pk}/use/")  # the same copy, drawn before either mark

    button = page.get_by_role("button", name=f"Mark used: {unit.serial_number}")
    button.evaluate("(b) => { b.click(); b.click(); }")  # two taps before the first is stored
    other_tab.get_by_role("button", name=f"Mark used: {unit.serial_number}").click()
    expect(other_tab.locator("#offline-answer")).to_contain_text("already marked on this phone")
    marks = [op for op in stored(page)["ops"] if op["unit"] == unit.pk]
    assert [op["state"] for op in marks] == ["waiting"]

    # The worker synced it meanwhile, unseen by this page: Cancel must not undo the server's
    # answer on the phone.
    page.evaluate(
        """async (user) => {
          const [op] = await TrunkpoolStore.ops(user);
          op.state = "applied";
          await TrunkpoolStore.putOp(op);
        }""",
        riley.pk,
    )
    page.get_by_role("button", name=f"Cancel: {unit.serial_number}").click()
    expect(page.locator("#offline-answer")).to_contain_text("was synced meanwhile")
    assert [op["state"] for op in stored(page)["ops"]] == ["applied"]


def test_a_refreshed_copy_shows_the_servers_lines_over_marks_synced_before_it(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    unit = implants[0]
    page = in_the_basement(contexts, network, "riley", case)
    mark_offline(page, unit)
    online(page, network)
    wait_for_ops(page, riley.pk)
    # Unmarked at the desk afterwards: the server's state, which a new copy carries.
    event_unmark(actor=riley, event=case, unit_ids=[unit.pk])
    page.goto(f"/events/{case.pk}/use/")
    taken = stored(page)["snapshots"][0]["data"]["taken_at"]
    page.get_by_role("button", name="Refresh offline copy").click()
    deadline = time.monotonic() + 10
    while stored(page)["snapshots"][0]["data"]["taken_at"] == taken:
        assert time.monotonic() < deadline, "the copy was not refreshed"
        page.wait_for_timeout(100)
    offline(page, network)
    page.reload()
    expect(page.get_by_role("button", name=f"Mark used: {unit.serial_number}")).to_be_enabled()
    expect(used(page).and_(page.locator(f"[data-unit='{unit.pk}']"))).to_have_count(0)


def test_a_mark_the_server_fails_on_stays_waiting_says_so_and_syncs_with_sync_now(
    contexts, network, demo, implants, monkeypatch
):
    from events.services import offline as service

    riley = demo["riley"]
    case = open_event(riley)
    page = in_the_basement(contexts, network, "riley", case)
    mark_offline(page, implants[0])

    def broken(**kwargs):
        raise RuntimeError("a bug on the server")

    monkeypatch.setattr(service, "event_mark_used", broken)
    online(page, network)
    expect(page.locator("#offline-answer")).to_contain_text("could not take every mark")
    assert [op["state"] for op in stored(page)["ops"]] == ["waiting"]
    monkeypatch.undo()
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#offline-answer")).to_contain_text("Synced: 1 accepted")
    assert EventLine.objects.filter(event=case, unit=implants[0]).exists()


def test_a_long_offline_list_shows_a_page_at_a_time_and_the_scan_box_reaches_every_unit(
    contexts, network, demo
):
    admin, riley = demo["admin"], demo["riley"]
    late = receive_units(
        admin, riley, n=120, serial_prefix="LONG-", expiration_date=datetime.date(2031, 1, 1)
    )
    case = open_event(riley)
    page = in_the_basement(contexts, network, "riley", case)
    kept = len(stored(page)["snapshots"][0]["data"]["units"])
    assert kept > 120
    expect(_rows(page)).to_have_count(100)
    last = late[-1]  # among the last to expire: beyond the first page drawn
    expect(_rows(page).and_(page.locator(f"[data-unit='{last.pk}']"))).to_have_count(0)
    box = page.get_by_label("Type a serial or lot")
    box.fill(last.serial_number)
    box.press("Enter")
    marked = used(page).and_(page.locator("[data-state='waiting to sync']"))
    expect(marked).to_have_count(1)
    assert marked.get_attribute("data-unit") == str(last.pk)
    page.get_by_role("button", name=re.compile(r"Show \d+ more")).click()
    expect(_rows(page)).to_have_count(min(kept - 1, 200))


def test_cancelling_a_mark_sent_without_an_answer_queues_its_unmark_instead(
    contexts, network, demo, implants
):
    riley = demo["riley"]
    case = open_event(riley)
    unit = implants[0]
    page = in_the_basement(contexts, network, "riley", case)
    mark_offline(page, unit)
    # As a replay that timed out leaves it: sent, maybe received, never answered.
    page.evaluate(
        """async (user) => {
          const [op] = await TrunkpoolStore.ops(user);
          op.sentAt = new Date().toISOString();
          await TrunkpoolStore.putOp(op);
        }""",
        riley.pk,
    )
    page.get_by_role("button", name=f"Cancel: {unit.serial_number}").click()
    expect(page.locator("#offline-answer")).to_contain_text("unmark waiting to sync")
    assert sorted((op["kind"], op["state"]) for op in stored(page)["ops"]) == [
        ("mark_used", "waiting"),
        ("unmark", "waiting"),
    ]
    online(page, network)
    wait_for_ops(page, riley.pk)
    assert not EventLine.objects.current().filter(event=case).exists()
    assert EventLine.objects.filter(event=case, unit=unit).count() == 1  # marked, then unmarked


def test_the_worker_replays_with_background_sync_while_no_page_of_the_app_is_open(
    contexts, network, demo, implants
):
    """The browser's own sync event (dispatched here through the DevTools protocol, as
    Chromium does when its network returns) runs the worker's replay: IndexedDB, the session's
    token and the sync, with the Mark Used page closed."""
    riley = demo["riley"]
    case = open_event(riley)
    page = in_the_basement(contexts, network, "riley", case)
    page.get_by_role("button", name=f"Mark used: {implants[0].serial_number}").click()
    expect(used(page).and_(page.locator("[data-state='waiting to sync']"))).to_have_count(1)
    context = page.context
    blank = context.new_page()  # not the app's: only a handle for the DevTools session
    page.close()
    online(blank, network)

    cdp = context.new_cdp_session(blank)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations:
        assert time.monotonic() < deadline, "no service worker registration seen"
        blank.wait_for_timeout(100)
    (registration,) = [r for r in registrations if not r.get("isDeleted")][:1]
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": network.url,
            "registrationId": registration["registrationId"],
            "tag": "trunkpool-sync",
            "lastChance": False,
        },
    )
    deadline = time.monotonic() + 15
    while not EventLine.objects.filter(event=case, unit=implants[0]).exists():
        assert time.monotonic() < deadline, "the worker did not replay the mark"
        time.sleep(0.2)
