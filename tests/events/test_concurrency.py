"""Two reps racing for one pool unit on real concurrent PostgreSQL connections: one wins, the
other is told which unit and which event took it, and nothing else changes."""

import pytest
from django.core.exceptions import ValidationError

from events.models import Event, EventLine, EventStatus
from events.services.events import event_submit
from events.services.usage import event_mark_used, event_unmark
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState
from tests.concurrency import fresh, race
from tests.events.factories import FacilityFactory, open_event
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ledger_problems, receive_units

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    org = OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    dana = DistributorFactory(organization=org, username="dana-ev")
    riley = RepFactory(
        organization=org, assigned_to=dana, username="riley-ev", display_name="Riley"
    )
    sam = RepFactory(organization=org, assigned_to=dana, username="sam-ev", display_name="Sam")
    group = dana.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    facility = FacilityFactory(organization=org)
    return {
        "admin": admin,
        "dana": dana,
        "riley": riley,
        "sam": sam,
        "rileys_case": open_event(fresh(riley), facility=facility, name="Riley's knee"),
        "sams_case": open_event(fresh(sam), facility=facility, name="Sam's hip"),
    }


def test_two_reps_marking_the_same_pool_unit_at_once_only_one_gets_it(world):
    riley, sam, dana = world["riley"], world["sam"], world["dana"]
    rileys_case, sams_case = world["rileys_case"], world["sams_case"]
    (unit,) = receive_units(world["admin"], dana, n=1, serial_prefix="POOL-")
    # Each rep also picks a unit of their own: the loser must not keep even that one.
    spares = {
        riley.pk: receive_units(world["admin"], riley, n=1, serial_prefix="R-")[0],
        sam.pk: receive_units(world["admin"], sam, n=1, serial_prefix="S-")[0],
    }

    def mark(rep, event):
        return lambda: event_mark_used(
            actor=fresh(rep), event=Event(pk=event.pk), unit_ids=[spares[rep.pk].pk, unit.pk]
        )

    outcomes = race(mark(riley, rileys_case), mark(sam, sams_case))

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    riley_won = outcomes[0][0] == "ok"
    winner, loser = (riley, sam) if riley_won else (sam, riley)
    winner_event, loser_event = (rileys_case, sams_case) if riley_won else (sams_case, rileys_case)
    (error,) = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, ValidationError), repr(error)
    message = " ".join(error.messages)
    assert "POOL-1" in message, message
    assert f"“{winner_event.name}”" in message, message

    # The loser's event got nothing: all or nothing, their own spare included.
    assert not EventLine.objects.filter(event=loser_event).exists()
    assert sorted(
        EventLine.objects.filter(event=winner_event).values_list("unit_id", flat=True)
    ) == (sorted([unit.pk, spares[winner.pk].pk]))
    unit.refresh_from_db()
    assert (unit.custodian_id, unit.state, unit.ledger_seq) == (dana.pk, UnitState.ALLOCATED, 2)
    (entry,) = CustodyEntry.objects.filter(unit=unit, kind=EntryKind.MARKED_USED)
    assert (entry.event_id, entry.actor_id) == (winner_event.pk, winner.pk)
    loser_spare = Unit.objects.get(pk=spares[loser.pk].pk)
    assert (loser_spare.state, loser_spare.ledger_seq) == (UnitState.AVAILABLE, 1)
    assert set(Event.objects.values_list("status", flat=True)) == {EventStatus.OPEN}
    assert Unit.objects.filter(state=UnitState.ALLOCATED).count() == 2
    assert ledger_problems() == []


def test_submitting_and_unmarking_the_same_event_at_once_apply_in_order(world):
    riley = world["riley"]
    event = world["rileys_case"]
    units = receive_units(world["admin"], riley, n=3)
    event_mark_used(actor=fresh(riley), event=event, unit_ids=[u.pk for u in units])

    outcomes = race(
        lambda: event_submit(actor=fresh(riley), event=Event(pk=event.pk)),
        lambda: event_unmark(actor=fresh(riley), event=Event(pk=event.pk), unit_ids=[units[0].pk]),
    )

    event.refresh_from_db()
    assert event.status == EventStatus.SUBMITTED
    states = dict(Unit.objects.filter(pk__in=[u.pk for u in units]).values_list("pk", "state"))
    if outcomes[1][0] == "ok":  # unmarked first, then submitted without it
        assert outcomes[0][0] == "ok", outcomes
        assert states[units[0].pk] == UnitState.AVAILABLE
    else:  # submitted first: the unmark is refused because the event is no longer open
        assert isinstance(outcomes[1][1], ValidationError), outcomes
        assert states[units[0].pk] == UnitState.INACTIVE
    assert states[units[1].pk] == states[units[2].pk] == UnitState.INACTIVE
    assert ledger_problems() == []
