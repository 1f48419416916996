"""Withdrawing a recall: each unit goes back to the state it had before its latest quarantine,
a withdrawn recall can be neither returned nor withdrawn again, and returned units stay
returned (README, "Recalls and par levels"). Plain examples of rules the ledger machine also
explores; each one fails when its rule is broken. Every test ends with an honest ledger."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from inventory.models import CustodyEntry, EntryKind, Recall, RecallReturn, Unit, UnitState
from inventory.services.recalls import recall_record, recall_return, recall_withdraw
from inventory.services.transfers import transfer_create, transfer_decline
from tests.factories import RepFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units

TODAY = datetime.date(2026, 3, 1)


def record(admin, product, reference):
    return recall_record(
        actor=admin,
        reference=reference,
        reason="Sterile barrier may be breached",
        recall_class="II",
        product=product,
        lot_numbers=["BAD"],
        recall_date=TODAY,
    )


def withdraw(admin, recall, reason="Wrong lot on the notice"):
    return recall_withdraw(actor=admin, recall=recall, reason=reason)


def state(unit):
    return Unit.objects.get(pk=unit.pk).state


@pytest.fixture
def product(org):
    return ProductFactory(organization=org, lot_tracked=True)


def test_withdrawing_a_second_recall_restores_the_hold_it_found_not_the_first_recalls_available(
    org, admin_user, distributor, product
):
    (unit,) = receive_units(admin_user, distributor, n=1, product=product, lot_number="BAD")
    first = record(admin_user, product, "R-A")
    withdraw(admin_user, first)
    assert state(unit) == UnitState.AVAILABLE
    # A declined transfer puts it on hold with the distributor...
    stranger = RepFactory(organization=org)
    (transfer,) = transfer_create(actor=distributor, unit_ids=[unit.pk], recipient=stranger)
    transfer_decline(actor=stranger, transfer=transfer, reason="not my size")
    assert state(unit) == UnitState.HOLD
    # ...where a second recall finds and quarantines it.
    second = record(admin_user, product, "R-B")
    assert state(unit) == UnitState.QUARANTINED

    withdraw(admin_user, second)

    assert state(unit) == UnitState.HOLD  # not AVAILABLE, where the first quarantine began
    last = CustodyEntry.objects.filter(unit=unit).latest("sequence")
    assert (last.kind, last.recall_id, last.to_state) == (
        EntryKind.RECALL_WITHDRAWN,
        second.pk,
        UnitState.HOLD,
    )
    assert ledger_problems() == []


def test_a_withdrawn_recall_refuses_a_return_even_of_units_another_recall_keeps_quarantined(
    admin_user, distributor, product
):
    units = receive_units(admin_user, distributor, n=2, product=product, lot_number="BAD")
    first = record(admin_user, product, "R-A")
    record(admin_user, product, "R-B")  # names the same lot: the units stay quarantined
    withdraw(admin_user, first)
    assert {state(u) for u in units} == {UnitState.QUARANTINED}

    with pytest.raises(ValidationError) as refused:
        recall_return(actor=admin_user, recall=first, reference="RMA-1", returned_on=TODAY)

    assert "Recall R-A was withdrawn." in refused.value.messages
    assert not RecallReturn.objects.exists()
    assert {state(u) for u in units} == {UnitState.QUARANTINED}
    assert not CustodyEntry.objects.filter(kind=EntryKind.RETURNED).exists()
    assert ledger_problems() == []


def test_a_withdrawn_recall_refuses_a_second_withdrawal_and_keeps_the_first_ones_record(
    admin_user, distributor, product
):
    receive_units(admin_user, distributor, n=2, product=product, lot_number="BAD")
    recall = record(admin_user, product, "R-A")
    withdraw(admin_user, recall, reason="Wrong lot on the notice")
    before = Recall.objects.get(pk=recall.pk)
    entries = CustodyEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        withdraw(admin_user, recall, reason="Withdrawn again")

    assert "Recall R-A was withdrawn." in refused.value.messages
    after = Recall.objects.get(pk=recall.pk)
    assert (after.status, after.withdrawn_at, after.withdraw_reason) == (
        Recall.Status.WITHDRAWN,
        before.withdrawn_at,
        "Wrong lot on the notice",
    )
    assert CustodyEntry.objects.count() == entries
    assert ledger_problems() == []


def test_returned_units_stay_returned_when_their_recall_is_withdrawn(
    admin_user, distributor, product
):
    units = receive_units(admin_user, distributor, n=3, product=product, lot_number="BAD")
    returned, kept = units[:2], units[2]
    recall = record(admin_user, product, "R-A")
    recall_return(
        actor=admin_user,
        recall=recall,
        reference="RMA-1",
        returned_on=TODAY,
        unit_ids=[u.pk for u in returned],
    )

    withdraw(admin_user, recall)

    assert [state(u) for u in returned] == [UnitState.INACTIVE] * 2  # they left the building
    assert state(kept) == UnitState.AVAILABLE
    assert list(
        CustodyEntry.objects.filter(kind=EntryKind.RECALL_WITHDRAWN).values_list(
            "unit_id", flat=True
        )
    ) == [kept.pk]
    assert ledger_problems() == []
