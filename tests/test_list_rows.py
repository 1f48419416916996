"""What each row of the busy lists says (inventory, Mark Used, the event list, transfers),
now that tags write them in Python (inventory/templatetags/list_rows.py,
events/templatetags/event_rows.py): labels, badges, disabled boxes, time zones, and that
everything people typed is escaped."""

import datetime
import html
import re

import pytest
from django.test import override_settings
from django.urls import reverse

from events.services.events import event_submit
from inventory.models import Unit
from inventory.services.transfers import transfer_create
from tests.events.factories import (
    FacilityFactory,
    days_from_today,
    mark_used,
    open_event,
    sell_to_facility,
)
from tests.factories import RepFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units

# Markup a person could type into a name, serial, lot or description.
NASTY = '<b x="1">&'


def _row(body: str, serial: str) -> str:
    """The <tr> of the unit with this serial (as the page escapes it)."""
    match = re.search(
        r'<tr data-serial="' + re.escape(html.escape(serial)) + r'">.*?</tr>', body, re.S
    )
    assert match, f"no row for {serial!r}"
    return match.group(0)


def _get(client, user, url, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def typed(org, admin_user, distributor, rep, pooled):
    """Everything people name carries markup: product, serial, lot, location, facility,
    people's names and the event's name."""
    distributor.display_name = f"Dana {NASTY}"
    distributor.save(update_fields=["display_name"])
    rep.display_name = f"Riley {NASTY}"
    rep.save(update_fields=["display_name"])
    product = ProductFactory(
        organization=org, catalog_number=f"CAT{NASTY}", description=f"Stem {NASTY}"
    )
    shelf = LocationFactory(organization=org, holder=rep, name=f"Trunk {NASTY}", kind="trunk")
    (unit,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="S",
        lot_number="L",
        location=shelf,
        expiration_date=days_from_today(200),
    )
    # Codes received before serials and lots were held to printable ASCII without spaces.
    Unit.objects.filter(pk=unit.pk).update(serial_number=f"S{NASTY}1", lot_number=f"L{NASTY}")
    unit.refresh_from_db()
    facility = FacilityFactory(organization=org, name=f"Mercy {NASTY}")
    event = open_event(rep, facility=facility, name=f"Case {NASTY}")
    return {"unit": unit, "facility": facility, "event": event, "product": product}


def test_every_list_escapes_what_people_typed(client, rep, distributor, typed):
    unit, event = typed["unit"], typed["event"]
    pages = [
        _get(client, rep, reverse("inventory:unit_list")),
        _get(client, rep, reverse("events:mark_used", args=[event.pk])),
        _get(client, rep, reverse("events:event_list")),
    ]
    transfer_create(actor=rep, unit_ids=[unit.pk], recipient=distributor)
    pages.append(_get(client, rep, reverse("inventory:transfer_list")))
    for body in pages:
        assert NASTY not in body  # never raw
        assert html.escape(NASTY) in body
    inventory, use, events, transfers = pages
    row = _row(inventory, unit.serial_number)
    for text in (unit.serial_number, unit.lot_number, f"Trunk {NASTY}", f"Riley {NASTY}"):
        assert html.escape(text) in row
    assert html.escape(f"CAT{NASTY}") in _row(use, unit.serial_number)
    assert html.escape(f"Case {NASTY}") in events and html.escape(f"Mercy {NASTY}") in events
    assert html.escape(f"Dana {NASTY}") in transfers and html.escape(f"Riley {NASTY}") in transfers


def test_inventory_rows_flag_expired_stock_and_name_the_facility_of_facility_stock(
    client, org, admin_user, rep
):
    product = ProductFactory(organization=org)
    (old,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="OLD",
        expiration_date=days_from_today(-1),
    )
    (fresh,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="NEW",
        expiration_date=days_from_today(9),
    )
    (sold,) = receive_units(admin_user, rep, n=1, product=product, serial_prefix="SOLD")
    mercy = FacilityFactory(organization=org, name="Mercy General")
    sell_to_facility(rep, representative=rep, facility=mercy, units=[sold])
    body = _get(client, rep, reverse("inventory:unit_list"), state="")
    old_row, fresh_row = _row(body, old.serial_number), _row(body, fresh.serial_number)
    assert "Expired" in old_row and "text-danger" in old_row
    assert days_from_today(-1).isoformat() in old_row
    assert "Expired" not in fresh_row and "text-danger" not in fresh_row
    body = _get(client, rep, reverse("inventory:unit_list"), state="facility_stock")
    assert "At Mercy General" in _row(body, sold.serial_number)


def test_mark_used_rows_warn_name_the_source_and_offer_unmark_only_while_open(
    client, org, admin_user, rep
):
    product = ProductFactory(organization=org)
    mercy = FacilityFactory(organization=org, name="Mercy General")
    (soon,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="SOON",
        expiration_date=days_from_today(10),
    )
    (stocked,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="STOCK",
        expiration_date=days_from_today(300),
    )
    (used,) = receive_units(admin_user, rep, n=1, product=product, serial_prefix="USED")
    sell_to_facility(rep, representative=rep, facility=mercy, units=[stocked])
    case = open_event(rep, facility=mercy)
    mark_used(rep, case, [used])
    url = reverse("events:mark_used", args=[case.pk])
    body = _get(client, rep, url)
    soon_row = _row(body, soon.serial_number)
    assert "Expires within 30 days of the event" in soon_row
    assert f'title="{soon.serial_number} expires on {days_from_today(10):%Y-%m-%d}' in soon_row
    assert " disabled" not in soon_row
    stock_row = _row(body, stocked.serial_number)
    assert "Facility stock" in stock_row and "at Mercy General" in stock_row
    used_row = _row(body.split('data-testid="used-units"', 1)[1], used.serial_number)
    assert f'aria-label="Unmark {used.serial_number}"' in used_row and "Billable" in used_row
    assert "Unbillable" not in used_row

    event_submit(actor=rep, event=case)
    body = _get(client, rep, url)  # submitted: the page still shows, nothing can change
    assert 'aria-label="Unmark' not in body
    boxes = re.findall(r'<input[^>]*name="unit"[^>]*>', body)
    assert boxes and all(" disabled" in box for box in boxes)


def test_facility_stock_on_a_case_is_unbillable_in_the_used_list(client, org, admin_user, rep):
    mercy = FacilityFactory(organization=org)
    (stocked,) = receive_units(admin_user, rep, n=1, serial_prefix="FS")
    sell_to_facility(rep, representative=rep, facility=mercy, units=[stocked])
    case = open_event(rep, facility=mercy)
    mark_used(rep, case, [Unit.objects.get(pk=stocked.pk)])
    body = _get(client, rep, reverse("events:mark_used", args=[case.pk]))
    row = _row(body.split('data-testid="used-units"', 1)[1], stocked.serial_number)
    assert "Unbillable (facility stock)" in row


@override_settings(TIME_ZONE="Asia/Tokyo")
def test_the_event_list_shows_times_in_the_sites_time_zone_with_status_and_units(
    client, org, admin_user, rep
):
    when = datetime.datetime(2026, 1, 1, 23, 30, tzinfo=datetime.UTC)  # 08:30 next day in Tokyo
    event = open_event(rep, scheduled_at=when, name="Late case")
    units = receive_units(admin_user, rep, n=2)
    mark_used(rep, event, units)
    body = _get(client, rep, reverse("events:event_list"))
    row = re.search(rf'<tr data-event="{event.pk}">.*?</tr>', body, re.S).group(0)
    assert "2026-01-02 08:30" in row
    assert '<span class="badge event-open">Open</span>' in row
    assert '<td data-label="Units">2</td>' in row
    assert f'href="{reverse("events:event_detail", args=[event.pk])}"' in row


def test_transfer_rows_name_organization_custody_and_whom_a_distributor_acted_for(
    client, org, admin_user, distributor, rep
):
    from_org = receive_units(admin_user, None, n=2)
    transfer_create(actor=admin_user, unit_ids=[u.pk for u in from_org], recipient=rep)
    reps_own = receive_units(admin_user, rep, n=1)
    (for_rep,) = transfer_create(actor=distributor, unit_ids=[reps_own[0].pk], recipient=None)
    body = _get(client, distributor, reverse("inventory:transfer_list"))
    rows = re.findall(r"<tr><td><a href=\"/inventory/transfers/\d+/\">.*?</tr>", body, re.S)
    by_pk = {int(re.search(r"#(\d+)<", r).group(1)): r for r in rows}
    row = by_pk[for_rep.pk]
    assert "<td>Organization</td>" in row  # sent to organization custody
    assert f"for {html.escape(rep.name)}</span>" in row  # the distributor acted for the rep
    assert "<td>1</td>" in row
    admin_body = _get(client, admin_user, reverse("inventory:transfer_list"))
    admin_rows = re.findall(r'<tr><td><a href="/inventory/transfers/\d+/">.*?</tr>', admin_body)
    # The admin's transfer from organization custody: from "Organization", two units.
    assert any("<td>Organization</td><td>" in r and "<td>2</td>" in r for r in admin_rows)


def test_filter_bars_name_reps_and_facilities(client, org, distributor, rep):
    """The Rep and Representative lists (read as id-name pairs) show display names, else
    usernames; the event list's facilities show their names and keep the one chosen."""
    rep.display_name = "Riley Rep"
    rep.save(update_fields=["display_name"])
    nameless = RepFactory(organization=org, assigned_to=distributor, display_name="")
    mercy = FacilityFactory(organization=org, name="Mercy General")
    inventory = _get(client, distributor, reverse("inventory:unit_list"))
    for person, shown in ((rep, "Riley Rep"), (nameless, nameless.username)):
        assert f'<option value="{person.pk}">{shown}</option>' in inventory
    events = _get(client, distributor, reverse("events:event_list"), facility=mercy.pk)
    for person, shown in ((rep, "Riley Rep"), (nameless, nameless.username)):
        assert f'<option value="{person.pk}">{shown}</option>' in events
    assert f'<option value="{mercy.pk}" selected>Mercy General</option>' in events


def test_detail_pages_show_the_custody_label_in_red_or_black(
    client, org, admin_user, distributor, rep
):
    """The unit page and the transfer page label custody as the lists do (one markup,
    `{% custody_label %}`): red for the distributor's stock, black for the rep's own."""
    (danas,) = receive_units(admin_user, distributor, n=1, serial_prefix="DANA")
    (reps,) = receive_units(admin_user, rep, n=1, serial_prefix="MINE")
    red = '<span class="custody-label custody-distributor" data-custody="distributor">'
    body = _get(client, admin_user, reverse("inventory:unit_detail", args=[danas.pk]))
    assert red + html.escape(f"Distributor · {distributor.name}") in body
    body = _get(client, rep, reverse("inventory:unit_detail", args=[reps.pk]))
    assert '<span class="custody-label custody-own" data-custody="own">Mine · ' in body
    (sent,) = transfer_create(actor=rep, unit_ids=[reps.pk], recipient=distributor)
    body = _get(client, rep, reverse("inventory:transfer_detail", args=[sent.pk]))
    assert 'data-custody="own">Mine · ' in body


def test_the_dashboards_facility_stock_rows_link_each_facility_and_escape_its_name(
    client, admin_user, rep, typed
):
    facility = typed["facility"]
    sell_to_facility(rep, representative=rep, facility=facility, units=[typed["unit"]])
    body = _get(client, admin_user, reverse("home"))
    section = body.split('data-testid="facility-stock"')[1].split("</ul>")[0]
    link = f"{reverse('inventory:unit_list')}?state=facility_stock&amp;facility={facility.pk}"
    assert (
        f'<a href="{link}">{html.escape(facility.name)}</a>'
        '<span class="badge text-bg-info">1</span>'
    ) in section
    assert NASTY not in section
