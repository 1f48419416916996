"""Marking units used, what submitting does to them, and facility stock (README, "Events and facility stock").

Every step is checked against the custody ledger: a unit's custodian and state always equal what
its ledger says (`ledger_problems() == []`).
"""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.selectors import forget_actor
from events import selectors
from events.models import EventLine, EventStatus, EventType
from events.services.events import event_cancel, event_reopen, event_submit, event_update
from events.services.usage import event_unmark
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState
from tests.events.factories import (
    FacilityFactory,
    days_from_today,
    mark_used,
    open_event,
    sell_to_facility,
)
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units


def state_of(*units):
    """(custodian id, state, facility id, ledger_seq) of each unit, fresh from the database."""
    by_pk = Unit.objects.in_bulk([u.pk for u in units])
    return [
        (
            by_pk[u.pk].custodian_id,
            by_pk[u.pk].state,
            by_pk[u.pk].facility_id,
            by_pk[u.pk].ledger_seq,
        )
        for u in units
    ]


def kinds(unit):
    return list(unit.ledger.order_by("sequence").values_list("kind", flat=True))


def refused(call):
    with pytest.raises(ValidationError) as info:
        call()
    return " ".join(info.value.messages)


def set_pooling(distributor, rep, on):
    group = distributor.distributor_group
    group.pooling_enabled = on
    group.save(update_fields=["pooling_enabled"])
    forget_actor(rep)
    forget_actor(distributor)


@pytest.fixture
def riley(rep):
    return rep


@pytest.fixture
def dana(distributor):
    return distributor


# --- Marking used -----------------------------------------------------------------------------


def test_marking_used_allocates_the_units_to_the_event_at_once(admin_user, riley):
    units = receive_units(admin_user, riley, n=2)
    event = open_event(riley)

    lines = mark_used(riley, event, units)

    assert {ln.unit_id for ln in lines} == {u.pk for u in units}
    assert all(ln.billable and not ln.from_facility_stock for ln in lines)
    assert state_of(*units) == [(riley.pk, UnitState.ALLOCATED, None, 2)] * 2
    entry = CustodyEntry.objects.filter(unit=units[0], kind=EntryKind.MARKED_USED).get()
    assert (entry.event_id, entry.actor_id, entry.on_behalf_of_id) == (event.pk, riley.pk, None)
    assert ledger_problems() == []


def test_an_expired_unit_is_refused_by_name_and_nothing_is_marked(admin_user, riley):
    fresh = receive_units(admin_user, riley, n=2, expiration_date=days_from_today(30))
    (expired,) = receive_units(
        admin_user, riley, n=1, serial_prefix="OLD-", expiration_date=days_from_today(-1)
    )
    event = open_event(riley)
    before = state_of(*fresh, expired)

    message = refused(lambda: mark_used(riley, event, [*fresh, expired]))

    assert f"OLD-1 expired on {days_from_today(-1):%Y-%m-%d}, before the event's date" in message
    assert state_of(*fresh, expired) == before
    assert not EventLine.objects.exists()
    assert ledger_problems() == []


def test_a_unit_expiring_today_is_still_usable(admin_user, riley):
    (unit,) = receive_units(admin_user, riley, n=1, expiration_date=days_from_today(0))
    event = open_event(riley)

    mark_used(riley, event, [unit])

    assert state_of(unit)[0][1] == UnitState.ALLOCATED


def test_units_of_another_group_are_refused_as_not_found(org, admin_user, riley):
    casey = RepFactory(organization=org, assigned_to=DistributorFactory(organization=org))
    (own,) = receive_units(admin_user, riley, n=1)
    (theirs,) = receive_units(admin_user, casey, n=1)
    event = open_event(riley)

    message = refused(lambda: mark_used(riley, event, [own, theirs]))

    assert "A selected unit was not found." in message
    assert f"#{theirs.pk}" not in message  # no internal ids
    assert "SN" not in message  # out of scope answers "missing", naming nothing of theirs
    assert state_of(own, theirs) == [
        (riley.pk, UnitState.AVAILABLE, None, 1),
        (casey.pk, UnitState.AVAILABLE, None, 1),
    ]
    assert not EventLine.objects.exists()


def test_units_of_another_rep_of_the_same_group_are_refused_even_with_pooling(
    org, admin_user, dana, riley, pooled
):
    sam = RepFactory(organization=org, assigned_to=dana)
    (sams,) = receive_units(admin_user, sam, n=1)
    event = open_event(riley)

    message = refused(lambda: mark_used(riley, event, [sams]))

    assert "A selected unit was not found." in message
    assert state_of(sams)[0][1] == UnitState.AVAILABLE


def test_units_of_another_organization_are_refused(admin_user, riley):
    stranger = UserFactory(organization=OrganizationFactory())
    (foreign,) = receive_units(None, stranger, n=1)
    event = open_event(riley)

    message = refused(lambda: mark_used(riley, event, [foreign]))

    assert "A selected unit was not found." in message
    assert state_of(foreign)[0][1] == UnitState.AVAILABLE


def test_pool_units_are_usable_only_while_pooling_is_on(admin_user, dana, riley):
    (pool_unit,) = receive_units(admin_user, dana, n=1)
    event = open_event(riley)

    message = refused(lambda: mark_used(riley, event, [pool_unit]))
    assert "A selected unit was not found." in message
    assert state_of(pool_unit) == [(dana.pk, UnitState.AVAILABLE, None, 1)]

    set_pooling(dana, riley, True)
    mark_used(riley, event, [pool_unit])

    # Pooling changes what the rep may do, never who holds the unit.
    assert state_of(pool_unit) == [(dana.pk, UnitState.ALLOCATED, None, 2)]
    entry = pool_unit.ledger.get(kind=EntryKind.MARKED_USED)
    assert (entry.actor_id, entry.on_behalf_of_id) == (riley.pk, None)
    assert ledger_problems() == []


def test_distributor_marking_on_her_reps_event_acts_on_the_reps_behalf(admin_user, dana, riley):
    (unit,) = receive_units(admin_user, riley, n=1)
    event = open_event(dana, representative=riley)

    mark_used(dana, event, [unit])

    entry = unit.ledger.get(kind=EntryKind.MARKED_USED)
    assert (entry.actor_id, entry.on_behalf_of_id, entry.event_id) == (dana.pk, riley.pk, event.pk)
    assert ledger_problems() == []


def test_a_reps_case_cannot_use_the_distributors_stock_without_pooling_even_if_she_marks_it(
    admin_user, dana, riley
):
    (dana_unit,) = receive_units(admin_user, dana, n=1)
    event = open_event(dana, representative=riley)

    message = refused(lambda: mark_used(dana, event, [dana_unit]))

    assert "A selected unit was not found." in message
    assert state_of(dana_unit)[0][1] == UnitState.AVAILABLE


def test_a_unit_already_on_another_event_is_refused_naming_that_event(admin_user, riley):
    (unit,) = receive_units(admin_user, riley, n=1, serial_prefix="TAKEN-")
    first = open_event(riley, name="Knee for Dr. A")
    second = open_event(riley, name="Hip for Dr. B")
    mark_used(riley, first, [unit])

    message = refused(lambda: mark_used(riley, second, [unit]))

    assert "TAKEN-1 was already marked used on “Knee for Dr. A”" in message
    assert not second.lines.exists()
    assert list(first.lines.current().values_list("unit_id", flat=True)) == [unit.pk]
    assert ledger_problems() == []


def test_marking_nothing_is_refused(riley):
    event = open_event(riley)
    assert "Select at least one unit" in refused(lambda: mark_used(riley, event, []))


@pytest.mark.parametrize(
    ("close", "status"),
    [
        (lambda actor, event: event_submit(actor=actor, event=event), "submitted"),
        (lambda actor, event: event_cancel(actor=actor, event=event), "cancelled"),
    ],
)
def test_marking_on_an_event_that_is_not_open_is_refused(admin_user, riley, close, status):
    (unit,) = receive_units(admin_user, riley, n=1)
    event = open_event(riley)
    close(riley, event)

    message = refused(lambda: mark_used(riley, event, [unit]))

    assert f"This event is {status}; only open events can change." in message
    assert state_of(unit) == [(riley.pk, UnitState.AVAILABLE, None, 1)]
    assert not EventLine.objects.exists()


def test_unmarking_while_open_returns_the_units(admin_user, dana, riley, pooled):
    (own,) = receive_units(admin_user, riley, n=1)
    (pool_unit,) = receive_units(admin_user, dana, n=1)
    event = open_event(riley)
    mark_used(riley, event, [own, pool_unit])

    count = event_unmark(actor=riley, event=event, unit_ids=[own.pk, pool_unit.pk])

    assert count == 2
    assert state_of(own, pool_unit) == [
        (riley.pk, UnitState.AVAILABLE, None, 3),
        (dana.pk, UnitState.AVAILABLE, None, 3),
    ]
    assert kinds(own) == [EntryKind.RECEIVED, EntryKind.MARKED_USED, EntryKind.UNMARKED]
    assert not event.lines.current().exists()
    assert ledger_problems() == []

    # Back in stock means usable again, on this event or another.
    mark_used(riley, open_event(riley), [own])
    assert ledger_problems() == []


def test_unmarking_a_unit_that_is_not_on_the_event_is_refused(admin_user, riley):
    used, other = receive_units(admin_user, riley, n=2)
    event = open_event(riley)
    mark_used(riley, event, [used])

    message = refused(lambda: event_unmark(actor=riley, event=event, unit_ids=[other.pk]))

    assert "None of those units is marked used on this event." in message
    assert state_of(used, other) == [
        (riley.pk, UnitState.ALLOCATED, None, 2),
        (riley.pk, UnitState.AVAILABLE, None, 1),
    ]


def test_unmarking_after_submit_is_refused(admin_user, riley):
    reusable = ProductFactory(organization=riley.organization, single_use=False)
    (unit,) = receive_units(admin_user, riley, n=1, product=reusable)
    event = open_event(riley)
    mark_used(riley, event, [unit])
    event_submit(actor=riley, event=event)
    before = state_of(unit)

    message = refused(lambda: event_unmark(actor=riley, event=event, unit_ids=[unit.pk]))

    assert "only open events can change" in message
    assert state_of(unit) == before


# --- Submitting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type", "single_use", "state", "kind"),
    [
        (EventType.CASE, True, UnitState.INACTIVE, EntryKind.CONSUMED),
        (EventType.CASE, False, UnitState.AVAILABLE, EntryKind.UNMARKED),
        (EventType.OTHER, True, UnitState.INACTIVE, EntryKind.CONSUMED),
        (EventType.OTHER, False, UnitState.AVAILABLE, EntryKind.UNMARKED),
        (EventType.DAMAGE, True, UnitState.INACTIVE, EntryKind.ADJUSTED),
        (EventType.DAMAGE, False, UnitState.INACTIVE, EntryKind.ADJUSTED),
        (EventType.RETURN, True, UnitState.INACTIVE, EntryKind.ADJUSTED),
        (EventType.RETURN, False, UnitState.INACTIVE, EntryKind.ADJUSTED),
        (EventType.ADJUSTMENT, True, UnitState.INACTIVE, EntryKind.ADJUSTED),
        (EventType.ADJUSTMENT, False, UnitState.INACTIVE, EntryKind.ADJUSTED),
    ],
)
def test_submit_applies_the_usage(admin_user, dana, riley, pooled, type, single_use, state, kind):
    product = ProductFactory(organization=riley.organization, single_use=single_use)
    (own,) = receive_units(admin_user, riley, n=1, product=product)
    (pool_unit,) = receive_units(admin_user, dana, n=1, product=product)
    event = open_event(riley, type=type)
    mark_used(riley, event, [own, pool_unit])
    assert ledger_problems() == []

    event_submit(actor=riley, event=event)

    # Nobody's custody changes: the pool unit stays the distributor's, consumed or returned.
    assert state_of(own, pool_unit) == [(riley.pk, state, None, 3), (dana.pk, state, None, 3)]
    assert kinds(own)[-1] == kind
    assert own.ledger.get(sequence=3).event_id == event.pk
    event.refresh_from_db()
    assert event.status == EventStatus.SUBMITTED
    assert event.submitted_at is not None
    assert ledger_problems() == []


def test_submitting_an_event_with_no_units_just_closes_it(riley):
    event = open_event(riley)
    event_submit(actor=riley, event=event)
    event.refresh_from_db()
    assert event.status == EventStatus.SUBMITTED
    assert not CustodyEntry.objects.filter(event_id=event.pk).exists()


def test_a_stocking_order_makes_facility_stock_sold_by_the_representative(
    admin_user, dana, riley, pooled
):
    facility = FacilityFactory(organization=riley.organization)
    (own,) = receive_units(admin_user, riley, n=1)
    (pool_unit,) = receive_units(admin_user, dana, n=1)
    order = open_event(riley, type=EventType.STOCKING_ORDER, facility=facility)
    mark_used(riley, order, [own, pool_unit])
    assert ledger_problems() == []

    event_submit(actor=riley, event=order)

    # The seller is the representative, so the pool unit is now in the rep's custody.
    assert state_of(own, pool_unit) == [
        (riley.pk, UnitState.FACILITY_STOCK, facility.pk, 3),
        (riley.pk, UnitState.FACILITY_STOCK, facility.pk, 3),
    ]
    entry = pool_unit.ledger.get(sequence=3)
    assert (entry.kind, entry.from_custodian_id, entry.to_custodian_id, entry.event_id) == (
        EntryKind.SOLD_TO_FACILITY,
        dana.pk,
        riley.pk,
        order.pk,
    )
    assert ledger_problems() == []


# --- Facility stock -----------------------------------------------------------------------------


@pytest.fixture
def facility(org):
    return FacilityFactory(organization=org, name="Mercy General")


@pytest.fixture
def elsewhere(org):
    return FacilityFactory(organization=org, name="County Surgery Centre")


def test_facility_stock_is_an_unbillable_line_on_a_case_there_and_is_consumed_on_submit(
    admin_user, riley, facility
):
    reusable = ProductFactory(organization=riley.organization, single_use=False)
    (stock,) = receive_units(admin_user, riley, n=1, product=reusable, serial_prefix="FS-")
    (fresh,) = receive_units(admin_user, riley, n=1)
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    assert ledger_problems() == []

    case = open_event(riley, facility=facility)
    lines = {ln.unit_id: ln for ln in mark_used(riley, case, [stock, fresh])}

    assert (lines[stock.pk].billable, lines[stock.pk].from_facility_stock) == (False, True)
    assert (lines[fresh.pk].billable, lines[fresh.pk].from_facility_stock) == (True, False)
    assert state_of(stock) == [(riley.pk, UnitState.ALLOCATED, facility.pk, 4)]
    assert ledger_problems() == []

    event_submit(actor=riley, event=case)

    # Already sold: consumed even though the product is reusable.
    assert state_of(stock) == [(riley.pk, UnitState.INACTIVE, facility.pk, 5)]
    assert kinds(stock)[-1] == EntryKind.CONSUMED
    assert ledger_problems() == []


def test_unmarked_facility_stock_goes_back_to_the_facility_shelf(admin_user, riley, facility):
    (stock,) = receive_units(admin_user, riley, n=1)
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    case = open_event(riley, facility=facility)
    mark_used(riley, case, [stock])

    event_unmark(actor=riley, event=case, unit_ids=[stock.pk])

    assert state_of(stock) == [(riley.pk, UnitState.FACILITY_STOCK, facility.pk, 5)]
    assert ledger_problems() == []


def test_cancelling_a_case_puts_its_facility_stock_back_on_the_shelf(admin_user, riley, facility):
    (stock,) = receive_units(admin_user, riley, n=1)
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    case = open_event(riley, facility=facility)
    mark_used(riley, case, [stock])

    event_cancel(actor=riley, event=case)

    assert state_of(stock) == [(riley.pk, UnitState.FACILITY_STOCK, facility.pk, 5)]
    assert ledger_problems() == []


def test_facility_stock_sold_by_the_distributor_is_usable_by_her_reps_only_while_pooling_is_on(
    admin_user, dana, riley, facility
):
    (stock,) = receive_units(admin_user, dana, n=1)
    sell_to_facility(dana, representative=dana, facility=facility, units=[stock])
    assert state_of(stock) == [(dana.pk, UnitState.FACILITY_STOCK, facility.pk, 3)]
    case = open_event(riley, facility=facility)

    message = refused(lambda: mark_used(riley, case, [stock]))
    assert "A selected unit was not found." in message
    assert state_of(stock) == [(dana.pk, UnitState.FACILITY_STOCK, facility.pk, 3)]

    set_pooling(dana, riley, True)
    (line,) = mark_used(riley, case, [stock])

    assert (line.billable, line.from_facility_stock) == (False, True)
    event_submit(actor=riley, event=case)
    assert state_of(stock) == [(dana.pk, UnitState.INACTIVE, facility.pk, 5)]
    assert ledger_problems() == []


def test_facility_stock_sold_by_a_rep_is_not_usable_by_another_rep_of_the_group(
    org, admin_user, dana, riley, pooled, facility
):
    sam = RepFactory(organization=org, assigned_to=dana)
    (stock,) = receive_units(admin_user, riley, n=1)
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    sams_case = open_event(sam, facility=facility)

    message = refused(lambda: mark_used(sam, sams_case, [stock]))

    assert "A selected unit was not found." in message
    assert state_of(stock)[0][1] == UnitState.FACILITY_STOCK


def test_facility_stock_is_not_usable_on_a_case_at_another_facility(
    admin_user, riley, facility, elsewhere
):
    (stock,) = receive_units(admin_user, riley, n=1, serial_prefix="SHELF-")
    (fresh,) = receive_units(admin_user, riley, n=1)
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    before = state_of(stock, fresh)
    case = open_event(riley, facility=elsewhere)

    message = refused(lambda: mark_used(riley, case, [fresh, stock]))

    assert "SHELF-1 is facility stock of another facility; only a Case there can use it." in message
    assert state_of(stock, fresh) == before
    assert not case.lines.exists()


@pytest.mark.parametrize(
    "type",
    [
        EventType.STOCKING_ORDER,
        EventType.DAMAGE,
        EventType.RETURN,
        EventType.ADJUSTMENT,
        EventType.OTHER,
    ],
)
def test_facility_stock_is_not_usable_on_a_non_case_event_even_at_its_facility(
    admin_user, riley, facility, type
):
    (stock,) = receive_units(admin_user, riley, n=1, serial_prefix="SHELF-")
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    before = state_of(stock)
    event = open_event(riley, type=type, facility=facility)

    message = refused(lambda: mark_used(riley, event, [stock]))

    assert "SHELF-1" in message and "only a Case" in message
    assert state_of(stock) == before
    assert not event.lines.exists()


def test_expired_facility_stock_cannot_be_used(admin_user, riley, facility):
    (stock,) = receive_units(
        admin_user, riley, n=1, serial_prefix="OLD-", expiration_date=days_from_today(3)
    )
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    Unit.objects.filter(pk=stock.pk).update(expiration_date=days_from_today(-3))
    case = open_event(riley, facility=facility)

    message = refused(lambda: mark_used(riley, case, [stock]))

    assert "OLD-1 expired on" in message
    assert state_of(stock)[0][1] == UnitState.FACILITY_STOCK


# --- Usage summary and CSV ----------------------------------------------------------------------


@pytest.fixture
def used_case(admin_user, riley, facility):
    product = ProductFactory(
        organization=riley.organization, catalog_number="KNEE-1", description="Tibial tray"
    )
    (stock,) = receive_units(admin_user, riley, n=1, product=product, serial_prefix="FS-")
    sell_to_facility(riley, representative=riley, facility=facility, units=[stock])
    billable = receive_units(admin_user, riley, n=2, product=product, serial_prefix="B-")
    removed = receive_units(admin_user, riley, n=1, product=product, serial_prefix="GONE-")
    case = open_event(riley, facility=facility, name="Knee for Dr. A")
    mark_used(riley, case, [*billable, stock, *removed])
    event_unmark(actor=riley, event=case, unit_ids=[u.pk for u in removed])
    return case


def test_usage_summary_splits_billable_and_unbillable_current_lines(used_case):
    summary = selectors.usage_summary(event=used_case)

    serial = lambda lines: sorted(ln.unit.serial_number for ln in lines)  # noqa: E731
    assert serial(summary["lines"]) == ["B-1", "B-2", "FS-1"]
    assert serial(summary["billable"]) == ["B-1", "B-2"]
    assert serial(summary["unbillable"]) == ["FS-1"]


def test_usage_csv_lists_billable_and_unbillable_lines(client, riley, used_case):
    client.force_login(riley)

    response = client.get(reverse("events:usage_csv", args=[used_case.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"event-{used_case.pk}-usage.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    got = sorted((r["serial_number"], r["billable"], r["from_facility_stock"]) for r in rows)
    assert got == [("B-1", "yes", "no"), ("B-2", "yes", "no"), ("FS-1", "no", "yes")]
    assert {r["event"] for r in rows} == {"Knee for Dr. A"}
    assert {r["catalog_number"] for r in rows} == {"KNEE-1"}
    assert {r["custodian_now"] for r in rows} == {riley.name}


def test_event_page_shows_the_usage_counts(client, riley, used_case):
    client.force_login(riley)

    body = client.get(reverse("events:event_detail", args=[used_case.pk])).content.decode()

    assert "Usage (2 billable, 1 unbillable)" in body
    assert "Unbillable (facility stock)" in body
    assert 'data-serial="GONE-1"' not in body


# --- Found in review: the type decides what submit does, and reopen must not revive units -----


def test_changing_the_type_of_an_event_with_used_units_is_refused(admin_user, dana, riley, pooled):
    facility = FacilityFactory(organization=riley.organization)
    (shelf,) = receive_units(admin_user, dana, n=1, serial_prefix="SHELF-")
    sell_to_facility(dana, representative=dana, facility=facility, units=[shelf])
    case = open_event(riley, facility=facility)
    mark_used(riley, case, [shelf])
    before = state_of(shelf)

    message = refused(lambda: event_update(actor=riley, event=case, type=EventType.STOCKING_ORDER))

    assert "Unmark the used units before changing the event's type" in message
    case.refresh_from_db()
    assert case.type == EventType.CASE
    assert state_of(shelf) == before
    assert ledger_problems() == []


def test_reopening_a_case_leaves_a_reusable_unit_damaged_since_on_the_damage_record(
    admin_user, dana, riley
):
    reusable = ProductFactory(organization=riley.organization, single_use=False)
    (guide,) = receive_units(admin_user, riley, n=1, product=reusable, serial_prefix="GUIDE-")
    case = open_event(riley)
    mark_used(riley, case, [guide])
    event_submit(actor=riley, event=case)  # reusable: back to available
    damage = open_event(riley, type=EventType.DAMAGE, facility=case.facility)
    mark_used(riley, damage, [guide])
    event_submit(actor=riley, event=damage)  # adjusted away: inactive
    damaged = state_of(guide)

    event_reopen(actor=dana, event=case)

    assert state_of(guide) == damaged
    assert Unit.objects.get(pk=guide.pk).state == UnitState.INACTIVE
    assert not case.lines.current().exists()
    assert ledger_problems() == []


def test_reopening_a_case_brings_back_only_what_it_consumed(admin_user, dana, riley):
    (screw,) = receive_units(admin_user, riley, n=1, serial_prefix="SCREW-")
    case = open_event(riley)
    mark_used(riley, case, [screw])
    event_submit(actor=riley, event=case)

    event_reopen(actor=dana, event=case)

    assert Unit.objects.get(pk=screw.pk).state == UnitState.ALLOCATED
    assert list(case.lines.current().values_list("unit_id", flat=True)) == [screw.pk]
    assert ledger_problems() == []


def test_the_representative_of_an_event_with_units_marked_cannot_change(
    admin_user, dana, riley, pooled
):
    sam = RepFactory(organization=riley.organization, assigned_to=dana)
    (unit,) = receive_units(admin_user, riley, n=1)
    case = open_event(dana, representative=riley)
    mark_used(dana, case, [unit])
    before = state_of(unit)

    message = refused(lambda: event_update(actor=dana, event=case, representative=sam))

    assert "Unmark the used units before changing the representative" in message
    case.refresh_from_db()
    assert case.representative == riley
    assert state_of(unit) == before


def test_with_nothing_marked_the_representative_can_change(dana, riley):
    sam = RepFactory(organization=riley.organization, assigned_to=dana)
    case = open_event(dana, representative=riley)

    event_update(actor=dana, event=case, representative=sam)

    case.refresh_from_db()
    assert case.representative == sam


def test_an_event_with_facility_stock_marked_cannot_move_to_another_facility(
    admin_user, riley, facility
):
    (shelf,) = receive_units(admin_user, riley, n=1)
    sell_to_facility(riley, representative=riley, facility=facility, units=[shelf])
    case = open_event(riley, facility=facility)
    mark_used(riley, case, [shelf])
    elsewhere = FacilityFactory(organization=riley.organization)

    message = refused(lambda: event_update(actor=riley, event=case, facility=elsewhere))

    assert "Unmark the facility stock before moving the event elsewhere" in message
    case.refresh_from_db()
    assert case.facility == facility


def test_an_event_with_only_fresh_units_marked_may_move_to_another_facility(admin_user, riley):
    (unit,) = receive_units(admin_user, riley, n=1)
    case = open_event(riley)
    mark_used(riley, case, [unit])
    elsewhere = FacilityFactory(organization=riley.organization)

    event_update(actor=riley, event=case, facility=elsewhere)

    case.refresh_from_db()
    assert case.facility == elsewhere


# --- Services take named, typed details; lifecycle moves only through their own services --------


@pytest.mark.parametrize(
    "smuggled",
    [
        {"status": EventStatus.CANCELLED},
        {"status": EventStatus.PAID},
        {"submitted_at": None},
        {"po_number": "PO-1"},
        {"organization_id": 0},
    ],
)
def test_event_update_takes_no_lifecycle_or_unknown_field(admin_user, riley, smuggled):
    (unit,) = receive_units(admin_user, riley, n=1)
    case = open_event(riley)
    mark_used(riley, case, [unit])

    with pytest.raises(TypeError):
        event_update(actor=riley, event=case, **smuggled)

    case.refresh_from_db()
    assert case.status == EventStatus.OPEN
    assert Unit.objects.get(pk=unit.pk).state == UnitState.ALLOCATED
