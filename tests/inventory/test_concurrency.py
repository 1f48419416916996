"""Real concurrent connections on PostgreSQL can never double-transfer or double-resolve."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from inventory.models import CustodyEntry, EntryKind, Transfer, TransferLine, Unit, UnitState
from inventory.services.ledger import StaleUnits
from inventory.services.receiving import ReceiveLine, units_receive
from inventory.services.transfers import transfer_accept, transfer_cancel, transfer_create
from tests.concurrency import fresh, race
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    org = OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    dana = DistributorFactory(organization=org, username="dana-c")
    riley = RepFactory(organization=org, assigned_to=dana, username="riley-c")
    sam = RepFactory(organization=org, assigned_to=dana, username="sam-c")
    return {"admin": admin, "dana": dana, "riley": riley, "sam": sam}


def test_two_transfers_of_the_same_unit_at_once_only_one_wins(world):
    riley, sam, dana = world["riley"], world["sam"], world["dana"]
    (unit,) = receive_units(world["admin"], riley, n=1, serial_prefix="RACE-")

    outcomes = race(
        lambda: transfer_create(actor=fresh(riley), unit_ids=[unit.pk], recipient=sam),
        lambda: transfer_create(actor=fresh(riley), unit_ids=[unit.pk], recipient=dana),
    )

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    (error,) = [value for kind, value in outcomes if kind == "error"]
    (winning,) = [value for kind, value in outcomes if kind == "ok"][0]
    assert isinstance(error, ValidationError), repr(error)
    assert "RACE-1 is already in transit" in error.messages[0]
    assert f"(transfer #{winning.pk})" in error.messages[0]

    unit.refresh_from_db()
    assert (unit.custodian_id, unit.state, unit.ledger_seq) == (riley.pk, UnitState.IN_TRANSIT, 2)
    assert list(unit.ledger.order_by("sequence").values_list("kind", flat=True)) == [
        EntryKind.RECEIVED,
        EntryKind.TRANSFER_SENT,
    ]
    assert TransferLine.objects.filter(unit=unit).count() == 1
    assert Transfer.objects.get().pk == winning.pk
    assert ledger_problems() == []


def test_overlapping_selections_in_opposite_order_neither_deadlock_nor_split(world):
    riley, sam, dana = world["riley"], world["sam"], world["dana"]
    first, second = receive_units(world["admin"], riley, n=2)

    outcomes = race(
        lambda: transfer_create(actor=fresh(riley), unit_ids=[first.pk, second.pk], recipient=sam),
        lambda: transfer_create(actor=fresh(riley), unit_ids=[second.pk, first.pk], recipient=dana),
    )

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    (error,) = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, ValidationError), repr(error)
    # Both units went together in the winning transfer: no split between the two.
    (transfer,) = Transfer.objects.all()
    assert set(transfer.lines.values_list("unit_id", flat=True)) == {first.pk, second.pk}
    assert CustodyEntry.objects.count() == 4
    assert ledger_problems() == []


def test_accept_and_cancel_of_the_same_transfer_at_once_only_one_wins(world):
    riley, sam = world["riley"], world["sam"]
    units = receive_units(world["admin"], riley, n=2)
    (transfer,) = transfer_create(actor=riley, unit_ids=[u.pk for u in units], recipient=sam)

    outcomes = race(
        lambda: transfer_accept(actor=fresh(sam), transfer=Transfer(pk=transfer.pk)),
        lambda: transfer_cancel(actor=fresh(riley), transfer=Transfer(pk=transfer.pk)),
    )

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    (error,) = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, ValidationError), repr(error)
    assert "is already" in error.messages[0]
    transfer.refresh_from_db()
    accepted = outcomes[0][0] == "ok"
    if accepted:
        assert transfer.status == Transfer.Status.COMPLETED
        expected = (sam.pk, UnitState.AVAILABLE)
        last_kind = EntryKind.TRANSFER_ACCEPTED
    else:
        assert transfer.status == Transfer.Status.CANCELLED
        expected = (riley.pk, UnitState.AVAILABLE)
        last_kind = EntryKind.TRANSFER_CANCELLED
    for unit in Unit.objects.filter(pk__in=[u.pk for u in units]):
        assert (unit.custodian_id, unit.state, unit.ledger_seq) == (*expected, 3)
        assert unit.ledger.order_by("-sequence").first().kind == last_kind
    assert ledger_problems() == []


def test_two_acceptances_of_the_same_transfer_apply_it_once(world):
    riley, sam, dana = world["riley"], world["sam"], world["dana"]
    (unit,) = receive_units(world["admin"], riley, n=1)
    (transfer,) = transfer_create(actor=riley, unit_ids=[unit.pk], recipient=sam)

    outcomes = race(
        lambda: transfer_accept(actor=fresh(sam), transfer=Transfer(pk=transfer.pk)),
        lambda: transfer_accept(actor=fresh(dana), transfer=Transfer(pk=transfer.pk)),
    )

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    (error,) = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, ValidationError | PermissionDenied), repr(error)
    assert "already completed" in str(error)
    unit.refresh_from_db()
    assert (unit.custodian_id, unit.state, unit.ledger_seq) == (sam.pk, UnitState.AVAILABLE, 3)
    assert ledger_problems() == []


def test_two_receipts_of_the_same_serial_at_once_keep_one_unit(world):
    admin = world["admin"]
    product = ProductFactory(organization=admin.organization, serial_tracked=True)

    def receive(custodian):
        line = ReceiveLine(product=product, serial_numbers=["DUP-1"])
        return units_receive(actor=fresh(admin), lines=[line], custodian=custodian)

    outcomes = race(lambda: receive(world["riley"]), lambda: receive(world["sam"]))

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    (error,) = [value for kind, value in outcomes if kind == "error"]
    # The loser is told plainly; the unique constraint never leaks out as a crash.
    assert isinstance(error, ValidationError), repr(error)
    assert Unit.objects.filter(product=product, serial_number="DUP-1").count() == 1
    assert CustodyEntry.objects.filter(unit__product=product).count() == 1
    assert ledger_problems() == []


def test_two_submits_of_one_page_race_and_only_the_first_acts_the_other_is_told(world):
    """Two tabs drew the same transfer form (the same seen sequence) and submit at once: the
    check runs under the row lock, so exactly one transfers and the other is refused as stale,
    naming what changed, never judged on the state it read before the lock."""
    riley, sam, dana = world["riley"], world["sam"], world["dana"]
    (unit,) = receive_units(world["admin"], riley, n=1, serial_prefix="SEEN-")
    seen = {unit.pk: unit.ledger_seq}

    outcomes = race(
        lambda: transfer_create(actor=fresh(riley), unit_ids=[unit.pk], recipient=sam, seen=seen),
        lambda: transfer_create(actor=fresh(riley), unit_ids=[unit.pk], recipient=dana, seen=seen),
    )

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    (error,) = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, StaleUnits), repr(error)
    (transfer,) = Transfer.objects.all()
    assert error.messages[0].startswith(f"SEEN-1 was sent to {transfer.recipient.name} at ")
    unit.refresh_from_db()
    assert unit.ledger_seq == seen[unit.pk] + 1  # exactly one entry added
    assert ledger_problems() == []
