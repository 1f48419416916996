"""Moving units between two locations of one holder: a "moved" entry, custody and state
unchanged; the same people who may transfer a unit may move it (README, "Inventory")."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from accounts.selectors import forget_actor
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState
from inventory.services.locations import location_create, units_move
from inventory.services.recalls import recall_record
from inventory.services.transfers import transfer_create
from tests.factories import RepFactory
from tests.inventory.factories import LocationFactory, ledger_problems, receive_units


@pytest.fixture
def places(org, distributor, rep):
    return {
        "warehouse": LocationFactory(organization=org, holder=distributor, name="D warehouse"),
        "bin": LocationFactory(organization=org, holder=distributor, name="D bin", kind="bin"),
        "trunk": LocationFactory(organization=org, holder=rep, name="R trunk", kind="trunk"),
        "org": LocationFactory(organization=org, holder=None, name="Dock"),
    }


def move(actor, units, location):
    return units_move(actor=actor, unit_ids=[u.pk for u in units], to_location=location)


def test_a_move_records_moved_and_changes_only_the_location(admin_user, distributor, places):
    units = receive_units(admin_user, distributor, n=2, location=places["warehouse"])

    move(distributor, units, places["bin"])

    for unit in Unit.objects.filter(pk__in=[u.pk for u in units]):
        assert (unit.custodian_id, unit.state, unit.location_id) == (
            distributor.pk,
            UnitState.AVAILABLE,
            places["bin"].pk,
        )
        entry = CustodyEntry.objects.get(unit=unit, sequence=2)
        assert entry.kind == EntryKind.MOVED
        assert (entry.from_location_id, entry.to_location_id) == (
            places["warehouse"].pk,
            places["bin"].pk,
        )
        assert entry.from_custodian_id == entry.to_custodian_id == distributor.pk
    assert ledger_problems() == []


def test_moving_to_another_holders_location_is_a_transfer_not_a_move(
    admin_user, distributor, places
):
    units = receive_units(admin_user, distributor, n=1, location=places["warehouse"])
    with pytest.raises(ValidationError) as info:
        move(distributor, units, places["trunk"])
    assert "transfer it instead" in " ".join(info.value.messages)
    assert Unit.objects.get(pk=units[0].pk).location_id == places["warehouse"].pk


def test_a_pooled_rep_may_move_the_distributors_stock_like_transferring_it(
    admin_user, distributor, rep, places, pooled
):
    forget_actor(rep)
    units = receive_units(admin_user, distributor, n=1, location=places["warehouse"])
    move(rep, units, places["bin"])
    assert Unit.objects.get(pk=units[0].pk).custodian_id == distributor.pk


def test_without_pooling_a_rep_cannot_move_the_distributors_stock(
    admin_user, distributor, rep, places
):
    units = receive_units(admin_user, distributor, n=1, location=places["warehouse"])
    with pytest.raises(ValidationError, match="not found"):
        move(rep, units, places["bin"])


def test_a_rep_of_another_group_cannot_move_it(org, admin_user, distributor, places):
    units = receive_units(admin_user, distributor, n=1, location=places["warehouse"])
    with pytest.raises(ValidationError, match="not found"):
        move(RepFactory(organization=org), units, places["bin"])


def test_a_unit_in_transit_cannot_move(org, admin_user, distributor, places):
    units = receive_units(admin_user, distributor, n=1, location=places["warehouse"])
    transfer_create(
        actor=distributor, unit_ids=[units[0].pk], recipient=RepFactory(organization=org)
    )
    with pytest.raises(ValidationError, match="in transit"):
        move(distributor, units, places["bin"])


def test_a_unit_already_there_is_refused(admin_user, distributor, places):
    units = receive_units(admin_user, distributor, n=1, location=places["bin"])
    with pytest.raises(ValidationError, match="already at"):
        move(distributor, units, places["bin"])


def test_location_holders_default_to_the_distributor_and_to_organization_custody(
    admin_user, distributor
):
    own = location_create(actor=distributor, name="Mine", kind="bin")
    dock = location_create(actor=admin_user, name="Dock 2", kind="warehouse")
    assert (own.holder_id, dock.holder_id) == (distributor.pk, None)
    with pytest.raises(ValidationError):
        location_create(actor=distributor, name="Org's", kind="bin", holder=None)


def _quarantine(admin_user, units):
    product = units[0].product
    return recall_record(
        actor=admin_user,
        reference="R-MOVE",
        reason="x",
        recall_class="II",
        product=product,
        lot_numbers=[units[0].lot_number] if units[0].lot_number else [],
        serial_numbers=[u.serial_number for u in units if u.serial_number],
        recall_date=datetime.date(2026, 3, 1),
    )


def test_a_quarantined_unit_stays_where_it_is_with_its_holder(admin_user, distributor, places):
    units = receive_units(admin_user, distributor, n=1, location=places["warehouse"])
    _quarantine(admin_user, units)
    with pytest.raises(ValidationError, match="recall R-MOVE.*organization custody"):
        move(distributor, units, places["bin"])
    assert Unit.objects.get(pk=units[0].pk).location_id == places["warehouse"].pk


def test_a_quarantined_unit_in_organization_custody_moves_between_its_locations(
    org, admin_user, places
):
    units = receive_units(admin_user, None, n=1, location=places["org"])
    _quarantine(admin_user, units)
    shelf = LocationFactory(organization=org, holder=None, name="Returns shelf")
    move(admin_user, units, shelf)
    unit = Unit.objects.get(pk=units[0].pk)
    assert (unit.location_id, unit.state) == (shelf.pk, UnitState.QUARANTINED)
    assert ledger_problems() == []


def test_units_move_asks_the_move_policy(monkeypatch, admin_user, distributor, places):
    from inventory import policies

    units = receive_units(admin_user, distributor, n=1, location=places["warehouse"])
    monkeypatch.setattr(policies, "can_move_unit", lambda **kwargs: False)
    with pytest.raises(ValidationError):
        move(distributor, units, places["bin"])


def test_moving_on_someones_behalf_tells_them(
    admin_user, distributor, rep, org, django_capture_on_commit_callbacks
):
    from accounts.models import Notification, NotificationKind

    trunk = LocationFactory(organization=org, holder=rep, name="R trunk 1", kind="trunk")
    other = LocationFactory(organization=org, holder=rep, name="R trunk 2", kind="trunk")
    units = receive_units(admin_user, rep, n=2, location=trunk)
    move(distributor, units, other)
    (note,) = Notification.objects.filter(user=rep, kind=NotificationKind.STOCK_MOVED)
    assert "R trunk 2" in note.summary and "2 units" in note.summary
    move(rep, units, trunk)  # her own move: nobody else to tell
    assert Notification.objects.filter(kind=NotificationKind.STOCK_MOVED).count() == 1
