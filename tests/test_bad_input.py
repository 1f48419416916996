"""Hand-typed and hostile input gets a clear answer, never a server error, and changes nothing.

Each row here was a 500 found in review (huge ids, NUL characters, over-long codes, broken CSV).
"""

import io
import json
import uuid

import pytest
from django.urls import reverse

from inventory.models import Facility, Transfer, Unit
from tests.events.factories import FacilityFactory, open_event
from tests.inventory.factories import ProductFactory, receive_units

HUGE = "9" * 25


@pytest.fixture
def stocked(admin_user, rep):
    receive_units(admin_user, rep, n=1, serial_prefix="R-")
    return rep


@pytest.mark.parametrize(
    ("method", "name", "data"),
    [
        ("get", "inventory:transfer_new", {"unit": HUGE}),
        ("post", "inventory:transfer_new", {"unit": HUGE, "recipient": "org", "send": "1"}),
        ("get", "accounts:user_list", {"page": HUGE}),
        ("get", "inventory:unit_list", {"page": HUGE, "custody": "mine"}),
        ("post", "accounts:notification_read", {"id": HUGE}),
    ],
)
def test_huge_numbers_in_query_and_form_fields_are_ignored_not_500(
    client, admin_user, stocked, method, name, data
):
    client.force_login(admin_user)
    response = getattr(client, method)(reverse(name), data)
    assert response.status_code in (200, 302)
    assert not Transfer.objects.exists()


def test_huge_unit_ids_on_mark_used_and_unmark_change_nothing(client, rep, stocked):
    event = open_event(rep)
    client.force_login(rep)
    for name in ("events:mark_used", "events:unmark"):
        response = client.post(reverse(name, args=[event.pk]), {"unit": HUGE}, follow=True)
        assert response.status_code == 200
    assert not event.lines.exists()


def test_huge_ids_and_nul_characters_in_an_offline_sync_are_answered_invalid(client, rep, stocked):
    event = open_event(rep)
    unit = Unit.objects.get(custodian=rep)
    operation = {"id": str(uuid.uuid4()), "kind": "mark_used", "how": "typed", "at": None}
    client.force_login(rep)
    response = client.post(
        reverse("events:offline_sync"),
        data=json.dumps(
            {
                "operations": [
                    {**operation, "event": HUGE, "unit": unit.pk},
                    {**operation, "event": event.pk, "unit": int(HUGE)},
                    {**operation, "event": event.pk, "unit": unit.pk, "label": "R-\x001"},
                ]
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["invalid"] * 3
    assert not event.lines.exists()


def test_nul_characters_in_the_mention_box_and_the_scan_box_are_answered(client, rep, stocked):
    event = open_event(rep)
    client.force_login(rep)
    response = client.get(reverse("events:mention_autocomplete", args=[event.pk]), {"q": "a\x00b"})
    assert response.status_code == 200
    response = client.post(
        reverse("events:mark_used", args=[event.pk]), {"scan": "R-\x001"}, follow=True
    )
    assert response.status_code == 200
    assert "Null characters are not allowed" in response.content.decode()
    assert not event.lines.exists()


def test_a_serial_longer_than_the_column_is_reported_not_500(client, admin_user, org):
    product = ProductFactory(organization=org)
    client.force_login(admin_user)
    response = client.post(
        reverse("inventory:receive"),
        {"product": product.pk, "serial_numbers": "S" * 80, "quantity": 1, "custodian": "org"},
    )
    assert response.status_code == 200
    assert "at most 64 characters" in response.content.decode()
    assert not Unit.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"catalog_number,serial_number\nSCR-1," + b"X" * 70 + b"\n",
            "Line 2: serial and lot numbers have at most 64",
        ),
        (b"catalog_number,serial_number\nSCR-1,A\x00B\n", "NUL bytes"),
        (b'catalog_number,serial_number\nSCR-1,"' + b"Y" * 140_000 + b'"\n', "cannot be read"),
    ],
)
def test_bad_csv_files_are_reported_and_import_nothing(client, admin_user, org, content, message):
    ProductFactory(organization=org, catalog_number="SCR-1")
    client.force_login(admin_user)
    upload = io.BytesIO(content)
    upload.name = "units.csv"
    response = client.post(
        reverse("inventory:receive_csv"), {"csv-file": upload, "csv-custodian": "org"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Unit.objects.exists()


def test_admins_and_distributors_add_and_edit_facilities(client, admin_user, org):
    client.force_login(admin_user)
    response = client.post(
        reverse("events:directory"),
        {
            "kind": "facility",
            "facility-name": "Mercy General",
            "facility-kind": "hospital",
            "facility-city": "Ogdenville",
        },
        follow=True,
    )
    assert "Added Mercy General." in response.content.decode()
    facility = Facility.objects.get(organization=org, name="Mercy General")
    response = client.post(
        reverse("events:directory_edit", args=["facility", facility.pk]),
        {"name": "Mercy General Hospital", "kind": "asc", "city": "Ogdenville"},
        follow=True,
    )
    assert "Saved Mercy General Hospital." in response.content.decode()
    facility.refresh_from_db()
    assert (facility.name, facility.kind) == ("Mercy General Hospital", "asc")
    FacilityFactory(organization=org, name="Lakeside")
    response = client.post(
        reverse("events:directory"),
        {"kind": "facility", "facility-name": "Lakeside", "facility-kind": "hospital"},
    )
    assert "A facility with this name exists already." in response.content.decode()


def test_the_active_switch_needs_a_clear_value(client, admin_user, rep):
    client.force_login(admin_user)
    response = client.post(
        reverse("accounts:user_set_active", args=[rep.pk]), {"active": "maybe"}, follow=True
    )
    assert "Say whether the account should be active" in response.content.decode()
    rep.refresh_from_db()
    assert rep.is_active


def test_usernames_with_an_at_sign_are_refused(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("accounts:user_create"),
        {"username": "jo@x.com", "role": "rep", "email": "jo@example.com"},
    )
    assert "Use letters, digits and . + - _ only" in response.content.decode()
