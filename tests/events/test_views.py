"""Event pages as people use them: list filters, the Mark Used Inventory screen (custody filter,
labels, facility stock, expiry, scanning), the dashboard, and query counts that do not grow."""

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Event, EventStatus, EventType
from events.services.events import event_cancel, event_submit
from inventory.models import Unit, UnitState
from tests.events.factories import (
    FacilityFactory,
    days_from_today,
    mark_used,
    open_event,
    sell_to_facility,
)
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units
from tests.pages import seen_on

GTIN = "09506000134352"  # a valid GTIN-14


def rows_of(body, testid):
    """{serial: row html} of one table on the page (Mark Used has two: usable and used)."""
    start = body.index(f'data-testid="{testid}"')
    section = body[start : body.index("</table>", start)]
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'<tr\b[^>]*\bdata-serial="([^"]*)"[^>]*>(.*?)</tr>', section, re.S)
    }


def usable(response):
    assert response.status_code == 200
    return rows_of(response.content.decode(), "usable-units")


def prefixes(serials):
    return sorted({s.rsplit("-", 1)[0] for s in serials})


def event_pks(response):
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r'data-event="(\d+)"', response.content.decode())}


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


# --- Mark Used Inventory: custody filter and labels ----------------------------------------------


@pytest.fixture
def trunk(org, admin_user, distributor, rep):
    """riley (rep) with R- units, dana (her distributor) with D- units, sam (same group) with S-,
    casey (another group) with C-, organization stock O-; riley's open Case."""
    sam = RepFactory(organization=org, assigned_to=distributor)
    casey = RepFactory(organization=org, assigned_to=DistributorFactory(organization=org))
    product = ProductFactory(organization=org)
    receive_units(admin_user, rep, n=2, product=product, serial_prefix="R-")
    receive_units(admin_user, distributor, n=2, product=product, serial_prefix="D-")
    receive_units(admin_user, sam, n=1, product=product, serial_prefix="S-")
    receive_units(admin_user, casey, n=1, product=product, serial_prefix="C-")
    receive_units(admin_user, None, n=1, product=product, serial_prefix="O-")
    return {"case": open_event(rep), "product": product, "sam": sam}


@pytest.mark.parametrize(
    ("custody", "expected"),
    [("", ["D", "R"]), ("mine", ["R"]), ("shared", ["D"]), ("both", ["D", "R"])],
)
def test_mark_used_custody_filter_for_a_pooled_rep(client, rep, pooled, trunk, custody, expected):
    client.force_login(rep)
    params = {"custody": custody} if custody else {}

    rows = usable(client.get(reverse("events:mark_used", args=[trunk["case"].pk]), params))

    assert prefixes(rows) == expected


def test_mark_used_labels_name_the_holder_red_for_the_distributor_black_for_ones_own(
    client, rep, distributor, pooled, trunk
):
    client.force_login(rep)

    rows = usable(client.get(reverse("events:mark_used", args=[trunk["case"].pk])))

    for serial in ("D-1", "D-2"):
        assert 'class="custody-label custody-distributor"' in rows[serial]
        assert f"Distributor · {distributor.name}" in rows[serial]
        assert "custody-own" not in rows[serial]
    for serial in ("R-1", "R-2"):
        assert 'class="custody-label custody-own"' in rows[serial]
        assert f"Mine · {rep.name}" in rows[serial]
        assert "custody-distributor" not in rows[serial]


def test_the_distributor_on_her_reps_case_sees_what_the_rep_may_use(
    client, rep, distributor, pooled, trunk
):
    client.force_login(distributor)

    rows = usable(client.get(reverse("events:mark_used", args=[trunk["case"].pk])))

    # The representative's stock and the pool: never sam's trunk, though dana acts for sam.
    assert prefixes(rows) == ["D", "R"]


def test_without_pooling_a_hand_typed_shared_shows_own_units_and_says_why(client, rep, trunk):
    client.force_login(rep)
    url = reverse("events:mark_used", args=[trunk["case"].pk])

    assert prefixes(usable(client.get(url))) == ["R"]
    for custody in ("shared", "both"):
        response = client.get(url, {"custody": custody})
        assert prefixes(usable(response)) == ["R"]  # nothing of the distributor's
        assert "Access Distributor&#x27;s Inventory is off" in response.content.decode()
        active = [t["label"] for t in response.context["custody_tabs"] if t["active"]]
        assert active == ["My Custody"]


def test_without_pooling_the_rep_has_no_shared_tab(client, rep, trunk):
    client.force_login(rep)

    body = client.get(reverse("events:mark_used", args=[trunk["case"].pk])).content.decode()

    assert "Shared by Distributor" not in body


def test_with_pooling_the_tabs_are_bookmarkable_links(client, rep, pooled, trunk):
    client.force_login(rep)

    body = client.get(
        reverse("events:mark_used", args=[trunk["case"].pk]), {"custody": "shared", "q": "D-"}
    ).content.decode()

    assert 'href="?custody=mine&amp;q=D-"' in body
    assert 'aria-current="page" href="?custody=shared&amp;q=D-"' in body


def tab_labels(client, event):
    response = client.get(reverse("events:mark_used", args=[event.pk]))
    labels = [tab["label"] for tab in response.context["custody_tabs"]]
    assert labels[0] == "All"  # the unnarrowed default view is a tab of its own
    return labels[1:]


def test_mark_used_tabs_are_the_inventory_lists_custody_choices(client, rep, pooled, trunk):
    client.force_login(rep)

    assert tab_labels(client, trunk["case"]) == ["My Custody", "Shared by Distributor", "Both"]
    inventory = client.get(reverse("inventory:unit_list")).context["custody_tabs"]
    assert [tab["label"] for tab in inventory] == [
        "All",
        "My Custody",
        "Shared by Distributor",
        "Both",
    ]


def test_mark_used_filter_offers_no_sold_to_facility_list(client, rep, pooled, trunk):
    """Mark Used lists stock still to use: a "sold to facility" list narrows nothing there."""
    FacilityFactory(organization=rep.organization, name="Unused Facility Hospital")
    client.force_login(rep)

    response = client.get(reverse("events:mark_used", args=[trunk["case"].pk]))

    body = response.content.decode()
    assert 'name="facility"' not in body
    assert "Unused Facility Hospital" not in body
    assert "facility" not in response.context["filter"].filters
    assert 'name="location"' in body  # the other narrowing lists stay


def test_without_pooling_mark_used_offers_only_the_reps_own_custody(client, rep, trunk):
    client.force_login(rep)

    assert tab_labels(client, trunk["case"]) == ["My Custody"]


def test_turning_pooling_off_takes_the_pool_off_mark_used(client, rep, pooled, trunk):
    pooled.pooling_enabled = False
    pooled.save(update_fields=["pooling_enabled"])
    client.force_login(rep)
    url = reverse("events:mark_used", args=[trunk["case"].pk])

    assert tab_labels(client, trunk["case"]) == ["My Custody"]
    assert prefixes(usable(client.get(url))) == ["R"]


def test_a_distributors_own_case_offers_only_her_own_custody(
    client, distributor, rep, pooled, trunk
):
    case = open_event(distributor)
    client.force_login(distributor)

    assert tab_labels(client, case) == ["My Custody"]
    # Her reps' trunks are never used on her own events, though she acts for them.
    url = reverse("events:mark_used", args=[case.pk])
    assert prefixes(usable(client.get(url))) == ["D"]
    assert usable(client.get(url, {"custody": "reps"})) == {}


def test_the_distributor_on_her_reps_case_sees_the_reps_tabs_named_after_the_rep(
    client, distributor, rep, pooled, trunk
):
    client.force_login(distributor)

    assert tab_labels(client, trunk["case"]) == [
        f"{rep.name}'s Custody",
        "Shared by Distributor",
        "Both",
    ]


def test_mark_used_search_combines_with_custody(client, rep, pooled, trunk):
    client.force_login(rep)
    url = reverse("events:mark_used", args=[trunk["case"].pk])

    assert sorted(usable(client.get(url, {"custody": "both", "q": "D-2"}))) == ["D-2"]
    assert usable(client.get(url, {"custody": "mine", "q": "D-2"})) == {}


def test_mark_used_lists_earliest_expiry_first(client, admin_user, rep):
    product = ProductFactory(organization=rep.organization)
    receive_units(admin_user, rep, n=1, product=product, serial_prefix="NONE-")
    receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="LATE-",
        expiration_date=days_from_today(90),
    )
    receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="SOON-",
        expiration_date=days_from_today(5),
    )
    client.force_login(rep)

    rows = usable(client.get(reverse("events:mark_used", args=[open_event(rep).pk])))

    assert list(rows) == ["SOON-1", "LATE-1", "NONE-1"]


def test_units_marked_on_the_event_move_to_the_used_table(client, rep, pooled, trunk):
    mark_used(rep, trunk["case"], Unit.objects.filter(serial_number__in=["R-1", "D-1"]))
    client.force_login(rep)

    response = client.get(reverse("events:mark_used", args=[trunk["case"].pk]))

    assert sorted(usable(response)) == ["D-2", "R-2"]
    used = rows_of(response.content.decode(), "used-units")
    assert sorted(used) == ["D-1", "R-1"]
    assert "custody-distributor" in used["D-1"]


# --- Facility stock on the Mark Used screen ------------------------------------------------------


@pytest.fixture
def shelves(org, admin_user, distributor, rep, pooled):
    """Facility stock: riley's at Mercy (FSM-) and at County (FSC-); dana's at Mercy (DFS-)."""
    mercy = FacilityFactory(organization=org, name="Mercy General")
    county = FacilityFactory(organization=org, name="County Surgery Centre")
    product = ProductFactory(organization=org)
    at_mercy = receive_units(admin_user, rep, n=2, product=product, serial_prefix="FSM-")
    at_county = receive_units(admin_user, rep, n=1, product=product, serial_prefix="FSC-")
    danas = receive_units(admin_user, distributor, n=1, product=product, serial_prefix="DFS-")
    receive_units(admin_user, rep, n=1, product=product, serial_prefix="R-")
    receive_units(admin_user, distributor, n=1, product=product, serial_prefix="D-")
    sell_to_facility(rep, representative=rep, facility=mercy, units=at_mercy)
    sell_to_facility(rep, representative=rep, facility=county, units=at_county)
    sell_to_facility(distributor, representative=distributor, facility=mercy, units=danas)
    assert ledger_problems() == []
    return {"mercy": mercy, "county": county}


def test_a_case_lists_facility_stock_at_its_facility_only(client, rep, shelves):
    case = open_event(rep, facility=shelves["mercy"])
    client.force_login(rep)
    url = reverse("events:mark_used", args=[case.pk])

    assert prefixes(usable(client.get(url))) == ["D", "DFS", "FSM", "R"]
    assert prefixes(usable(client.get(url, {"facility_stock": "1"}))) == ["DFS", "FSM"]
    assert prefixes(usable(client.get(url, {"facility_stock": "1", "custody": "mine"}))) == ["FSM"]


def test_facility_stock_rows_say_so(client, rep, shelves):
    case = open_event(rep, facility=shelves["mercy"])
    client.force_login(rep)

    rows = usable(client.get(reverse("events:mark_used", args=[case.pk])))

    assert "Facility stock" in rows["FSM-1"]
    assert "Facility stock" not in rows["R-1"]


def test_a_non_case_event_at_the_facility_lists_no_facility_stock(client, rep, shelves):
    order = open_event(rep, type=EventType.STOCKING_ORDER, facility=shelves["mercy"])
    client.force_login(rep)
    url = reverse("events:mark_used", args=[order.pk])

    assert prefixes(usable(client.get(url))) == ["D", "R"]
    assert usable(client.get(url, {"facility_stock": "1"})) == {}


def test_marking_facility_stock_on_the_page_makes_an_unbillable_line(client, rep, shelves):
    case = open_event(rep, facility=shelves["mercy"])
    stock = Unit.objects.get(serial_number="FSM-1")
    client.force_login(rep)

    url = reverse("events:mark_used", args=[case.pk])
    client.post(url, {"unit": [stock.pk], "seen": seen_on(client, f"{url}?facility_stock=1")})

    (line,) = case.lines.current()
    assert (line.unit_id, line.billable, line.from_facility_stock) == (stock.pk, False, True)
    assert ledger_problems() == []


# --- Expired units and scanning ------------------------------------------------------------------


def test_an_expired_unit_has_a_disabled_checkbox_and_cannot_be_marked(client, admin_user, rep):
    (old,) = receive_units(
        admin_user, rep, n=1, serial_prefix="OLD-", expiration_date=days_from_today(-1)
    )
    (good,) = receive_units(admin_user, rep, n=1, serial_prefix="GOOD-")
    case = open_event(rep)
    client.force_login(rep)
    url = reverse("events:mark_used", args=[case.pk])

    rows = usable(client.get(url))
    assert re.search(r'<input[^>]*name="unit"[^>]*disabled', rows["OLD-1"])
    assert "Expired" in rows["OLD-1"]
    assert not re.search(r'<input[^>]*name="unit"[^>]*disabled', rows["GOOD-1"])

    # A hand-made POST is refused too, and takes nothing (not even the good unit).
    response = client.post(
        url, {"unit": [good.pk, old.pk], "seen": seen_on(client, url)}, follow=True
    )

    assert "OLD-1 expired on" in response.content.decode()
    assert not case.lines.exists()
    assert set(Unit.objects.values_list("state", flat=True)) == {UnitState.AVAILABLE}


@pytest.fixture
def scannable(org, admin_user, rep):
    product = ProductFactory(organization=org, gtin=GTIN)
    units = receive_units(
        admin_user, rep, n=2, product=product, serial_prefix="SCAN-", lot_number="L7"
    )
    return {"case": open_event(rep), "units": units}


@pytest.mark.parametrize(
    "scan",
    [
        f"(01){GTIN}(17)301231(10)L7(21)SCAN-2",
        f"01{GTIN}17301231" + "10L7\x1d21SCAN-2",
        f"01{GTIN}17301231" + "10L7<GS>21SCAN-2",
        f"]d201{GTIN}" + "21SCAN-2",
        "SCAN-2",
    ],
    ids=[
        "GS1 with parentheses",
        "raw GS1 with the GS separator",
        "raw GS1 with <GS> as text",
        "symbology prefix",
        "serial number",
    ],
)
def test_scanning_marks_the_unit_used(client, rep, scannable, scan):
    client.force_login(rep)
    url = reverse("events:mark_used", args=[scannable["case"].pk])

    response = client.post(url, {"scan": scan}, follow=True)

    (line,) = scannable["case"].lines.current()
    assert line.unit.serial_number == "SCAN-2"
    assert "Marked 1 unit(s) used" in response.content.decode()
    assert ledger_problems() == []


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        ("NOPE-1", "NOPE-1: no unit you can use matches this."),
        (f"(01){GTIN}(21)SCAN-9", "no unit you can use matches this."),
        ("(01)12345", "could not be read"),
    ],
)
def test_scanning_something_unusable_says_so_and_marks_nothing(
    client, rep, scannable, scan, message
):
    client.force_login(rep)
    url = reverse("events:mark_used", args=[scannable["case"].pk])

    response = client.post(url, {"scan": scan}, follow=True)

    assert message in html.unescape(response.content.decode())
    assert not scannable["case"].lines.exists()


def test_scanning_another_reps_unit_does_not_find_it(client, org, admin_user, rep, scannable):
    other = RepFactory(organization=org)
    receive_units(
        admin_user, other, n=1, product=scannable["units"][0].product, serial_prefix="THEIRS-"
    )
    client.force_login(rep)

    response = client.post(
        reverse("events:mark_used", args=[scannable["case"].pk]), {"scan": "THEIRS-1"}, follow=True
    )

    assert "THEIRS-1: no unit you can use matches this." in response.content.decode()
    assert Unit.objects.get(serial_number="THEIRS-1").state == UnitState.AVAILABLE


# --- Query counts ---------------------------------------------------------------------------------


def test_mark_used_query_count_does_not_grow_with_rows(
    client, org, admin_user, distributor, rep, pooled
):
    facility = FacilityFactory(organization=org)
    case = open_event(rep, facility=facility)
    url = reverse("events:mark_used", args=[case.pk])

    def add(n_own, n_pool, n_stock, n_used):
        product = ProductFactory(organization=org)
        receive_units(admin_user, rep, n=n_own, product=product)
        receive_units(admin_user, distributor, n=n_pool, product=product)
        stock = receive_units(admin_user, rep, n=n_stock, product=product)
        sell_to_facility(rep, representative=rep, facility=facility, units=stock)
        used = receive_units(admin_user, distributor, n=n_used, product=product)
        mark_used(rep, case, used)

    add(2, 2, 1, 1)
    client.force_login(rep)
    client.get(url)  # warm up session and caches
    small, response = count_queries(client, url)
    assert len(usable(response)) == 5

    add(18, 18, 9, 9)
    large, response = count_queries(client, url)
    assert len(usable(response)) == 50
    assert len(rows_of(response.content.decode(), "used-units")) == 10

    assert large == small


def test_event_list_query_count_does_not_grow_with_rows(client, org, admin_user, distributor, rep):
    sam = RepFactory(organization=org, assigned_to=distributor)
    units = iter(receive_units(admin_user, rep, n=50))

    def add(n):
        for i in range(n):
            representative = (rep, sam, distributor)[i % 3]
            event = open_event(distributor, representative=representative)
            if representative == rep:
                mark_used(distributor, event, [next(units)])

    add(5)
    client.force_login(distributor)
    url = reverse("events:event_list")
    client.get(url)
    small, response = count_queries(client, url)
    assert len(event_pks(response)) == 5

    add(45)
    large, response = count_queries(client, url)
    assert len(event_pks(response)) == 50

    assert large == small


# --- Event list filters ---------------------------------------------------------------------------


def at(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


@pytest.fixture
def calendar(org, admin_user, distributor, rep):
    """Four events of dana's group at two facilities over March and April 2025."""
    sam = RepFactory(organization=org, assigned_to=distributor)
    mercy = FacilityFactory(organization=org, name="Mercy General")
    county = FacilityFactory(organization=org, name="County Surgery Centre")
    knee = open_event(rep, facility=mercy, scheduled_at=at(datetime.date(2025, 3, 10)))
    order = open_event(
        rep,
        type=EventType.STOCKING_ORDER,
        facility=county,
        scheduled_at=at(datetime.date(2025, 3, 20)),
    )
    event_submit(actor=rep, event=order)
    hip = open_event(sam, facility=mercy, scheduled_at=at(datetime.date(2025, 4, 1)))
    event_cancel(actor=sam, event=hip)
    broken = open_event(
        distributor,
        type=EventType.DAMAGE,
        facility=county,
        scheduled_at=at(datetime.date(2025, 4, 15)),
    )
    outsider = RepFactory(organization=org, assigned_to=DistributorFactory(organization=org))
    elsewhere = open_event(outsider, facility=mercy, scheduled_at=at(datetime.date(2025, 3, 10)))
    return {
        "sam": sam,
        "outsider": outsider,
        "mercy": mercy,
        "county": county,
        "knee": knee,
        "order": order,
        "hip": hip,
        "broken": broken,
        "elsewhere": elsewhere,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"knee", "order", "hip", "broken"}),
        ({"type": "case"}, {"knee", "hip"}),
        ({"type": "stocking_order"}, {"order"}),
        ({"status": "open"}, {"knee", "broken"}),
        ({"status": "cancelled"}, {"hip"}),
        ({"facility": "mercy"}, {"knee", "hip"}),
        ({"representative": "sam"}, {"hip"}),
        ({"representative": "distributor"}, {"broken"}),
        ({"date_from": "2025-03-20"}, {"order", "hip", "broken"}),
        ({"date_to": "2025-03-20"}, {"knee", "order"}),
        ({"date_from": "2025-03-15", "date_to": "2025-04-01"}, {"order", "hip"}),
        ({"type": "case", "status": "open", "facility": "mercy"}, {"knee"}),
        ({"type": "damage", "status": "open"}, {"broken"}),
        ({"type": "case", "status": "submitted"}, set()),
    ],
)
def test_event_list_filters(client, distributor, calendar, params, expected):
    def value(v):
        if v in calendar:
            return calendar[v].pk
        if v == "distributor":
            return distributor.pk
        return v

    client.force_login(distributor)

    response = client.get(reverse("events:event_list"), {k: value(v) for k, v in params.items()})

    assert event_pks(response) == {calendar[name].pk for name in expected}


def test_a_rep_lists_only_her_own_events(client, rep, calendar):
    client.force_login(rep)

    assert event_pks(client.get(reverse("events:event_list"))) == {
        calendar["knee"].pk,
        calendar["order"].pk,
    }


@pytest.mark.parametrize(
    ("param", "bad", "message"),
    [
        ("type", "surgery", "Select a valid choice. surgery is not one of the available choices."),
        ("status", "done", "Select a valid choice. done is not one of the available choices."),
        ("facility", "abc", "Select a valid choice."),
        ("facility", "other-org", "Select a valid choice."),
        ("representative", "outsider", "Select a valid choice."),
        ("date_from", "2025-13-45", "Enter a valid date."),
        ("date_to", "yesterday", "Enter a valid date."),
    ],
)
def test_a_bad_event_list_filter_says_so_and_lists_nothing(
    client, distributor, calendar, param, bad, message
):
    if bad == "other-org":
        bad = FacilityFactory(organization=OrganizationFactory()).pk
    elif bad == "outsider":
        bad = calendar["outsider"].pk
    client.force_login(distributor)

    response = client.get(reverse("events:event_list"), {param: bad})

    assert event_pks(response) == set()
    body = html.unescape(response.content.decode())
    assert message in body
    assert "No events match." in body


# --- Dashboard --------------------------------------------------------------------------------------


def stat_cards(client):
    """{label: (value, href)} of the dashboard's numbers."""
    body = client.get(reverse("home")).content.decode()
    cards = {}
    for attrs, inner in re.findall(r"<a\b([^>]*\bstat-card\b[^>]*)>(.*?)</a>", body, re.S):
        href = html.unescape(re.search(r'href="([^"]*)"', attrs).group(1))
        value, label = " ".join(re.sub(r"<[^>]+>", " ", inner).split()).split(" ", 1)
        cards[html.unescape(label)] = (int(value), href)
    assert cards, "no numbers on the dashboard"
    return cards


def rows_behind(client, href):
    """How many rows the list a dashboard number links to shows."""
    response = client.get(href)
    assert response.status_code == 200
    body = response.content.decode()
    if href.startswith(reverse("events:event_list")):
        return len(set(re.findall(r'data-event="(\d+)"', body)))
    return len(re.findall(r'<tr\b[^>]*\bdata-serial="', body))


@pytest.fixture
def busy_day(org, admin_user, distributor, rep, pooled):
    """Open and closed events for riley and dana; units expiring soon, later, and used up."""
    mercy = FacilityFactory(organization=org, name="Mercy General")
    product = ProductFactory(organization=org)
    for _ in range(2):
        open_event(rep)
    event_submit(actor=rep, event=open_event(rep))
    open_event(distributor)
    sam = RepFactory(organization=org, assigned_to=distributor)
    open_event(sam)
    receive_units(
        admin_user,
        rep,
        n=2,
        product=product,
        serial_prefix="SOON-",
        expiration_date=days_from_today(10),
    )
    receive_units(
        admin_user,
        distributor,
        n=1,
        product=product,
        serial_prefix="POOLSOON-",
        expiration_date=days_from_today(20),
    )
    receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="LATER-",
        expiration_date=days_from_today(60),
    )
    (used_up,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="USED-",
        expiration_date=days_from_today(5),
    )
    case = open_event(rep)
    mark_used(rep, case, [used_up])
    event_submit(actor=rep, event=case)
    shelf = receive_units(
        admin_user,
        rep,
        n=2,
        product=product,
        serial_prefix="SHELF-",
        expiration_date=days_from_today(200),
    )
    sell_to_facility(rep, representative=rep, facility=mercy, units=shelf)
    return {"mercy": mercy, "sam": sam}


def test_rep_dashboard_counts_her_open_events_and_links_to_them(client, rep, busy_day):
    client.force_login(rep)

    cards = stat_cards(client)

    value, href = cards["My open events"]
    assert value == 2
    assert href == reverse("events:event_list") + f"?status=open&representative={rep.pk}"
    assert rows_behind(client, href) == 2


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Expiring within 30 days", 3),
        ("Expiring within 90 days", 4),
        ("Expired, still in stock", 0),
    ],
)
def test_rep_dashboard_expiry_numbers_match_the_lists_they_link_to(
    client, rep, busy_day, label, expected
):
    client.force_login(rep)

    value, href = stat_cards(client)[label]

    # Live stock only: SOON-1, SOON-2, the pool's POOLSOON-1 (pooling on), then LATER-1.
    assert value == expected
    assert rows_behind(client, href) == value


def test_dashboard_facility_stock_links_to_that_facilitys_stock(client, rep, busy_day):
    client.force_login(rep)
    body = client.get(reverse("home")).content.decode()

    match = re.search(
        r'data-testid="facility-stock".*?<a\b[^>]*href="([^"]*)"[^>]*>\s*Mercy General\s*</a>'
        r'\s*<span class="badge[^"]*">\s*(\d+)\s*</span>',
        body,
        re.S,
    )

    assert match, body
    href, value = html.unescape(match.group(1)), int(match.group(2))
    assert value == 2
    assert f"facility={busy_day['mercy'].pk}" in href
    response = client.get(href)
    assert prefixes(rows_of(response.content.decode(), "unit-table")) == ["SHELF"]


def test_dashboard_facility_stock_counts_only_what_is_still_on_the_shelf_by_facility_name(
    client, org, admin_user, rep, busy_day
):
    mercy = busy_day["mercy"]
    alder = FacilityFactory(organization=org, name="Alder Clinic")
    sell_to_facility(rep, representative=rep, facility=alder, units=receive_units(admin_user, rep))
    # One of Mercy's shelf units is used in a case there: consumed, it keeps its facility.
    case = open_event(rep, facility=mercy)
    mark_used(rep, case, [Unit.objects.filter(serial_number__startswith="SHELF-").first()])
    event_submit(actor=rep, event=case)
    client.force_login(rep)

    section = client.get(reverse("home")).content.decode().split('data-testid="facility-stock"')[1]
    rows = re.findall(r">([^<>]+)</a><span class=\"badge[^\"]*\">(\d+)<", section.split("</ul>")[0])

    assert rows == [("Alder Clinic", "1"), ("Mercy General", "1")]


def test_distributor_dashboard_numbers_match_the_lists_they_link_to(client, distributor, busy_day):
    client.force_login(distributor)

    cards = stat_cards(client)

    assert cards["My open events"][0] == 1
    assert cards["Open events, my group"][0] == 4  # hers, riley's two and sam's one
    for label in ("My open events", "Open events, my group"):
        value, href = cards[label]
        assert rows_behind(client, href) == value, label


def test_admin_dashboard_counts_every_open_event_of_the_organization(client, admin_user, busy_day):
    open_event(RepFactory(organization=OrganizationFactory()))  # another organization's
    client.force_login(admin_user)

    value, href = stat_cards(client)["Open events"]

    assert (
        value
        == Event.objects.filter(
            status=EventStatus.OPEN, organization=admin_user.organization
        ).count()
    )
    assert value == 4
    assert rows_behind(client, href) == value


def test_mark_used_names_the_representative_for_someone_else_looking(
    client, admin_user, distributor, rep, pooled
):
    receive_units(admin_user, rep, n=1, serial_prefix="OWN-")
    event = open_event(rep)
    client.force_login(distributor)
    body = client.get(reverse("events:mark_used", args=[event.pk])).content.decode()
    assert f"{rep.name}&#x27;s Custody" in body
    assert "My Reps&#x27; Custody" not in body
    assert f"Rep · {rep.name}" in body and f"Mine · {rep.name}" not in body


def test_searching_keeps_the_facility_stock_only_toggle(client, rep, pooled):
    event = open_event(rep)
    client.force_login(rep)
    body = client.get(
        reverse("events:mark_used", args=[event.pk]), {"facility_stock": "1"}
    ).content.decode()
    assert '<input type="hidden" name="facility_stock" value="1">' in body


# --- Whom the event form offers as representative -------------------------------------------------


def test_the_event_form_offers_exactly_whom_one_may_create_events_for(
    client, org, admin_user, distributor, rep
):
    sam = RepFactory(organization=org, assigned_to=distributor)
    loner = RepFactory(organization=org)
    other = DistributorFactory(organization=org)
    gone = RepFactory(organization=org, is_active=False)

    def offered(user):
        client.force_login(user)
        form = client.get(reverse("events:event_create")).context["form"]
        return set(form.fields["representative"].queryset)

    assert offered(rep) == {rep}
    assert offered(distributor) == {distributor, rep, sam}

    # An admin may name any holder: a type-ahead over them, never a list of every holder.
    client.force_login(admin_user)
    rendered = str(client.get(reverse("events:event_create")).context["form"]["representative"])
    assert "purpose=representative" in rendered
    assert "<option" not in rendered
    picked = {}
    for person in (distributor, rep, sam, loner, other, gone):
        response = client.get(
            reverse("accounts:holder_search"), {"purpose": "representative", "q": person.username}
        )
        picked[person] = person.pk in {row["id"] for row in response.json()["results"]}
    assert picked == {
        distributor: True,
        rep: True,
        sam: True,
        loner: True,
        other: True,
        gone: False,
    }


def test_an_admin_opens_an_event_for_a_rep_by_typing_the_reps_name(client, org, admin_user, rep):
    facility = FacilityFactory(organization=org)
    client.force_login(admin_user)
    data = {
        "type": EventType.DAMAGE,
        "representative": rep.username,
        "facility": facility.pk,
        "scheduled_at": "2025-05-01T09:00",
    }

    response = client.post(reverse("events:event_create"), data)

    assert response.status_code == 302, response.context["form"].errors
    assert Event.objects.get(facility=facility).representative == rep


def test_an_admin_cannot_type_in_someone_outside_the_organization(client, org, admin_user):
    facility = FacilityFactory(organization=org)
    stranger = RepFactory(organization=OrganizationFactory())
    client.force_login(admin_user)
    data = {
        "type": EventType.DAMAGE,
        "representative": stranger.username,
        "facility": facility.pk,
        "scheduled_at": "2025-05-01T09:00",
    }

    response = client.post(reverse("events:event_create"), data)

    assert response.status_code == 200
    assert "Nobody you may pick here matches" in html.unescape(response.content.decode())
    assert not Event.objects.filter(facility=facility).exists()


def test_an_admin_keeps_a_departed_representative_when_editing_an_event(
    client, org, admin_user, distributor
):
    leaver = RepFactory(organization=org, assigned_to=distributor)
    event = open_event(distributor, representative=leaver, type=EventType.DAMAGE)
    leaver.is_active = False
    leaver.save()
    client.force_login(admin_user)
    form = client.get(reverse("events:event_edit", args=[event.pk])).context["form"]
    data = {
        "type": event.type,
        "name": event.name,
        # What the box shows for the current representative, sent back unchanged.
        "representative": form["representative"].as_widget().split('value="')[1].split('"')[0],
        "facility": event.facility_id,
        "scheduled_at": "2025-05-01T09:00",
        "notes": "still his",
    }

    response = client.post(reverse("events:event_edit", args=[event.pk]), data)

    assert response.status_code == 302, response.context["form"].errors
    event.refresh_from_db()
    assert (event.representative, event.notes) == (leaver, "still his")
