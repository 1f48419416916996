"""The snapshot a phone keeps of an open event before it goes where there is no signal: the
units its representative may use now (the Mark Used page's custody rules), in the order the
phone picks a lot's unit in, and nothing of the event a phone should not carry."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import group_set_pooling
from events.models import EventType
from events.services.comments import comment_add
from events.services.events import event_submit, event_update
from tests.events.factories import FacilityFactory, mark_used, open_event, sell_to_facility
from tests.factories import OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)


@pytest.fixture
def world(org, admin_user, distributor, rep):
    distributor.display_name, rep.display_name = "Dana", "Riley"
    distributor.save(update_fields=["display_name"])
    rep.save(update_fields=["display_name"])
    facility = FacilityFactory(organization=org, name="St. Mary's Hospital")
    return {
        "admin": admin_user,
        "dana": distributor,
        "riley": rep,
        "facility": facility,
        "case": open_event(rep, facility=facility, name="TKA · St. Mary's"),
    }


def pool(world, on=True):
    group_set_pooling(actor=world["admin"], group=world["dana"].distributor_group, enabled=on)


def snapshot(client, viewer, event):
    client.force_login(viewer)
    return client.get(reverse("events:offline_snapshot", args=[event.pk]))


def ids(data):
    return [u["id"] for u in data["units"]]


def test_the_snapshot_carries_the_event_its_units_and_lines(client, world):
    riley, case = world["riley"], world["case"]
    product = ProductFactory(
        organization=riley.organization,
        catalog_number="TIB-7",
        description="Tibial insert",
        gtin="09506000134352",
    )
    first, used = receive_units(
        world["admin"],
        riley,
        n=2,
        product=product,
        serial_prefix="R-",
        lot_number="L1",
        expiration_date=TODAY() + datetime.timedelta(days=200),
    )
    mark_used(riley, case, [used])
    before = timezone.now()

    response = snapshot(client, riley, case)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert set(data) == {
        "version",
        "user",
        "taken_at",
        "event",
        "purge_after",
        "units",
        "lines",
        "truncated",
        "custody_labels",
    }
    assert (data["version"], data["user"], data["truncated"]) == (1, riley.pk, False)
    assert datetime.datetime.fromisoformat(data["taken_at"]) >= before
    assert data["event"] == {
        "id": case.pk,
        "name": "TKA · St. Mary's",
        "facility": "St. Mary's Hospital",
        "date": TODAY().isoformat(),
        "type": "Case",
        "status": "open",
        "status_display": "Open",
        "representative": "Riley",
        "rep_id": riley.pk,
        "mark_used_url": reverse("events:mark_used", args=[case.pk]),
        "can_use": True,
    }
    assert data["purge_after"] == (TODAY() + datetime.timedelta(days=1)).isoformat()
    assert data["units"] == [
        {
            "id": first.pk,
            "catalog_number": "TIB-7",
            "description": "Tibial insert",
            "gtin": "09506000134352",
            "hibc": "",
            "serial": "R-1",
            "lot": "L1",
            "expiry": (TODAY() + datetime.timedelta(days=200)).isoformat(),
            "state": "available",
            "facility_stock": False,
            "holder": "mine",
            "custody": "Mine · Riley",
            "custody_css": "custody-own",
            "expired": False,
            "warning": "",
        }
    ]
    (line,) = data["lines"]
    assert {k: v for k, v in line.items() if k != "marked_at"} == {
        "unit": used.pk,
        "label": "R-2",
        "title": "TIB-7 Tibial insert",
        "marked_by": "Riley",
    }
    assert datetime.datetime.fromisoformat(line["marked_at"]) <= timezone.now()
    assert data["custody_labels"] == {
        "mine": "My Custody",
        "shared": "Shared by Distributor",
        "both": "Both",
    }


def test_nothing_private_of_the_event_goes_to_the_phone(client, world):
    riley, dana, case = world["riley"], world["dana"], world["case"]
    receive_units(world["admin"], riley, n=1)
    event_update(
        actor=riley, event=case, patient_ref="PT-SECRET-81", notes="NOTES-SECRET-Knee left"
    )
    comment_add(actor=riley, event=case, body=f"COMMENT-SECRET @{dana.username}")

    text = snapshot(client, riley, case).content.decode()

    for secret in ("PT-SECRET-81", "NOTES-SECRET", "COMMENT-SECRET", "csrf", "patient", "notes"):
        assert secret not in text
    assert client.cookies.get("csrftoken") is None


def test_pool_units_come_only_while_pooling_is_on(client, world):
    riley, dana, case = world["riley"], world["dana"], world["case"]
    (own,) = receive_units(world["admin"], riley, n=1, serial_prefix="R-")
    (shared,) = receive_units(world["admin"], dana, n=1, serial_prefix="D-")

    assert ids(snapshot(client, riley, case).json()) == [own.pk]

    pool(world)
    data = snapshot(client, riley, case).json()
    assert ids(data) == [own.pk, shared.pk]
    assert {k: data["units"][1][k] for k in ("holder", "custody", "custody_css")} == {
        "holder": "shared",
        "custody": "Distributor · Dana",
        "custody_css": "custody-distributor",
    }


def test_facility_stock_comes_only_for_a_case_at_its_facility(client, world):
    riley, dana, case = world["riley"], world["dana"], world["case"]
    pool(world)
    here = receive_units(world["admin"], dana, n=1, serial_prefix="HERE-")
    there = receive_units(world["admin"], dana, n=1, serial_prefix="THERE-")
    sell_to_facility(dana, representative=dana, facility=world["facility"], units=here)
    elsewhere = FacilityFactory(organization=dana.organization)
    sell_to_facility(dana, representative=dana, facility=elsewhere, units=there)
    order = open_event(riley, type=EventType.STOCKING_ORDER, facility=world["facility"])

    data = snapshot(client, riley, case).json()
    (unit,) = data["units"]
    assert (unit["id"], unit["state"], unit["facility_stock"]) == (
        here[0].pk,
        "facility_stock",
        True,
    )
    assert snapshot(client, riley, order).json()["units"] == []


def test_units_come_own_first_then_the_pool_each_by_expiry_none_last(client, world):
    riley, dana, case = world["riley"], world["dana"], world["case"]
    pool(world)

    def one(holder, days):
        expiry = None if days is None else TODAY() + datetime.timedelta(days=days)
        return receive_units(world["admin"], holder, n=1, expiration_date=expiry)[0]

    shared_late, own_none, shared_soon, own_late = (
        one(dana, 90),
        one(riley, None),
        one(dana, 40),
        one(riley, 90),
    )
    own_soon, shared_none = one(riley, 40), one(dana, None)

    assert ids(snapshot(client, riley, case).json()) == [
        own_soon.pk,
        own_late.pk,
        own_none.pk,
        shared_soon.pk,
        shared_late.pk,
        shared_none.pk,
    ]


def test_the_snapshot_is_cut_at_the_limit_and_says_so(client, world, settings):
    riley, case = world["riley"], world["case"]
    units = receive_units(world["admin"], riley, n=4)
    settings.OFFLINE_MAX_UNITS = 3

    data = snapshot(client, riley, case).json()
    assert (ids(data), data["truncated"]) == ([u.pk for u in units[:3]], True)

    settings.OFFLINE_MAX_UNITS = 4
    data = snapshot(client, riley, case).json()
    assert (len(data["units"]), data["truncated"]) == (4, False)


def test_expired_and_expiring_units_say_so_against_the_events_date(client, world):
    riley, case = world["riley"], world["case"]
    (expired,) = receive_units(
        world["admin"], riley, n=1, serial_prefix="OLD-", expiration_date=TODAY() - DAY
    )
    (soon,) = receive_units(
        world["admin"], riley, n=1, serial_prefix="SOON-", expiration_date=TODAY() + 10 * DAY
    )

    units = {u["id"]: u for u in snapshot(client, riley, case).json()["units"]}

    assert (units[expired.pk]["expired"], units[expired.pk]["warning"]) == (True, "")
    assert units[soon.pk]["expired"] is False
    assert units[soon.pk]["warning"].startswith("SOON-1 expires on")


def test_the_distributor_looking_sees_the_tabs_named_after_the_rep(client, world):
    riley, dana, case = world["riley"], world["dana"], world["case"]
    receive_units(world["admin"], riley, n=1)

    data = snapshot(client, dana, case).json()

    assert data["user"] == dana.pk
    assert data["event"]["can_use"] is True
    assert data["custody_labels"]["mine"] == "Riley's Custody"
    assert data["units"][0]["custody"] == "Rep · Riley"
    assert data["units"][0]["holder"] == "mine"


def test_the_queries_do_not_grow_with_the_units(client, world, django_assert_max_num_queries):
    riley, dana, case = world["riley"], world["dana"], world["case"]
    pool(world)
    receive_units(world["admin"], riley, n=2)
    receive_units(world["admin"], dana, n=1)
    mark_used(riley, case, receive_units(world["admin"], riley, n=1))
    client.force_login(riley)
    url = reverse("events:offline_snapshot", args=[case.pk])
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url).json()["units"]) == 3

    receive_units(world["admin"], riley, n=15)
    receive_units(world["admin"], dana, n=12)
    mark_used(riley, case, receive_units(world["admin"], riley, n=5))
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(url).json()["units"]) == 30


def test_an_event_out_of_scope_is_not_found(client, world):
    sam = RepFactory(organization=world["riley"].organization, assigned_to=world["dana"])
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)

    assert snapshot(client, sam, world["case"]).status_code == 404
    assert snapshot(client, stranger, world["case"]).status_code == 404


def test_a_submitted_event_is_not_prepared_for_offline_use(client, world):
    riley, case = world["riley"], world["case"]
    event_submit(actor=riley, event=case)

    response = snapshot(client, riley, case)

    assert response.status_code == 409
    assert response.json() == {
        "message": "This event is submitted: it cannot be prepared for offline use."
    }


def test_signed_out_is_sent_to_sign_in(client, world):
    response = client.get(reverse("events:offline_snapshot", args=[world["case"].pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
