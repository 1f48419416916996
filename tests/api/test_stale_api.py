"""API writes may send `expected_sequences` (README, "Stale pages"): when a unit named changed
since, the call does nothing and answers 409 `stale` in the one error shape, saying what
changed; without them the units are judged as they are now. Idempotency-Key still replays."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import EventLine
from inventory.models import CustodyEntry, Transfer, Unit, UnitState
from inventory.services.holds import units_release_hold
from inventory.services.locations import units_move
from inventory.services.recalls import recall_record, recall_return
from inventory.services.transfers import transfer_create, transfer_decline
from tests.api.test_api_permissions import token_for
from tests.events.factories import open_event
from tests.factories import RepFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units

pytestmark = pytest.mark.django_db

TRANSFERS = reverse("api:transfer_list")


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


@pytest.fixture
def world(org, admin_user, distributor, rep):
    sam = RepFactory(organization=org, assigned_to=distributor, display_name="Sam Rep")
    shelf = LocationFactory(organization=org, holder=rep, name="Trunk 9", kind="trunk")
    (unit,) = receive_units(admin_user, rep, n=1, serial_prefix="API-")
    return {"admin": admin_user, "rep": rep, "sam": sam, "unit": unit, "shelf": shelf}


def _moved(world) -> int:
    """Someone moved the unit after the caller read it: the sequence the caller holds is old."""
    seen = world["unit"].ledger_seq
    units_move(actor=world["rep"], unit_ids=[world["unit"].pk], to_location=world["shelf"])
    return seen


def test_a_transfer_with_a_stale_expected_sequence_is_a_409_and_changes_nothing(world):
    unit = world["unit"]
    seen = _moved(world)
    before = CustodyEntry.objects.count()

    response = _client(world["rep"]).post(
        TRANSFERS,
        {
            "unit_ids": [unit.pk],
            "recipient": world["sam"].pk,
            "expected_sequences": {str(unit.pk): seen},
        },
        format="json",
    )

    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "stale"
    assert error["message"].startswith("API-1 was moved to Trunk 9 at ")
    assert (Transfer.objects.count(), CustodyEntry.objects.count()) == (0, before)


def test_a_transfer_with_the_current_sequence_or_none_goes_through(world):
    unit = world["unit"]
    _moved(world)
    unit.refresh_from_db()
    client = _client(world["rep"])

    current = client.post(
        TRANSFERS,
        {
            "unit_ids": [unit.pk],
            "recipient": world["sam"].pk,
            "expected_sequences": {str(unit.pk): unit.ledger_seq},
        },
        format="json",
    )
    assert current.status_code == 201, current.content
    client.post(reverse("api:transfer_cancel", args=[Transfer.objects.get().pk]))
    # Without expected sequences: judged as things are now, however often it changed.
    unchecked = client.post(
        TRANSFERS, {"unit_ids": [unit.pk], "recipient": world["sam"].pk}, format="json"
    )
    assert unchecked.status_code == 201, unchecked.content


def test_a_stale_refusal_is_kept_under_its_idempotency_key_and_replayed(world):
    unit = world["unit"]
    seen = _moved(world)
    body = {
        "unit_ids": [unit.pk],
        "recipient": world["sam"].pk,
        "expected_sequences": {str(unit.pk): seen},
    }
    client = _client(world["rep"])
    key = {"HTTP_IDEMPOTENCY_KEY": "stale-1"}

    first = client.post(TRANSFERS, body, format="json", **key)
    again = client.post(TRANSFERS, body, format="json", **key)

    assert (first.status_code, again.status_code) == (409, 409)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert not Transfer.objects.exists()


def test_an_expected_sequence_for_a_unit_not_sent_is_invalid(world):
    response = _client(world["rep"]).post(
        TRANSFERS,
        {
            "unit_ids": [world["unit"].pk],
            "recipient": world["sam"].pk,
            "expected_sequences": {"999999": 1},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "expected_sequences" in response.json()["error"]["fields"]


def test_mark_used_with_a_stale_expected_sequence_is_a_409(world):
    unit, rep = world["unit"], world["rep"]
    case = open_event(rep)
    seen = _moved(world)
    url = reverse("api:event_mark_used", args=[case.pk])

    stale = _client(rep).post(
        url, {"unit_ids": [unit.pk], "expected_sequences": {str(unit.pk): seen}}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale"
    assert not EventLine.objects.exists()

    fresh = _client(rep).post(
        url, {"unit_ids": [unit.pk], "expected_sequences": {str(unit.pk): seen + 1}}, format="json"
    )
    assert fresh.status_code == 200, fresh.content


def test_a_hold_release_with_a_stale_expected_sequence_is_a_409(world, org):
    admin, rep = world["admin"], world["rep"]
    held = receive_units(admin, rep, n=2, serial_prefix="HOLD-")
    (transfer,) = transfer_create(actor=rep, unit_ids=[u.pk for u in held], recipient=world["sam"])
    transfer_decline(actor=world["sam"], transfer=transfer, reason="No")
    seen = {str(u.pk): Unit.objects.get(pk=u.pk).ledger_seq for u in held}
    units_release_hold(actor=admin, unit_ids=[held[0].pk])

    for body in ({"unit_ids": [u.pk for u in held]}, {"all": True}):
        response = _client(admin).post(
            reverse("api:hold_release"), {**body, "expected_sequences": seen}, format="json"
        )
        assert response.status_code == 409, (body, response.content)
        assert response.json()["error"]["message"].startswith("HOLD-1 was released from hold at")
    assert Unit.objects.get(pk=held[1].pk).state == UnitState.HOLD


def test_a_recall_return_with_a_stale_expected_sequence_is_a_409(world, org):
    admin = world["admin"]
    product = ProductFactory(organization=org)
    units = receive_units(admin, world["rep"], n=2, product=product, serial_prefix="RR-")
    recall = recall_record(
        actor=admin,
        reference="R-API-1",
        reason="Seal",
        recall_class="II",
        product=product,
        serial_numbers=["RR-1", "RR-2"],
        recall_date=timezone.localdate(),
    )
    seen = {str(u.pk): Unit.objects.get(pk=u.pk).ledger_seq for u in units}
    today = timezone.localdate()
    recall_return(
        actor=admin, recall=recall, reference="RMA-1", returned_on=today, unit_ids=[units[0].pk]
    )

    response = _client(admin).post(
        reverse("api:recall_return", args=[recall.pk]),
        {"reference": "RMA-2", "returned_on": today.isoformat(), "expected_sequences": seen},
        format="json",
    )

    assert response.status_code == 409, response.content
    assert (
        "RR-1 was returned to the manufacturer (recall R-API-1)"
        in (response.json()["error"]["message"])
    )
    assert Unit.objects.get(pk=units[1].pk).state == UnitState.QUARANTINED
