"""The ledger names the person acted for: every entry kind events writes, when a distributor or
an admin works on a rep's event, records the rep as `on_behalf_of`, the worker as `actor`."""

import pytest

from events.models import EventType
from events.services.events import event_cancel, event_reopen, event_submit
from events.services.usage import event_unmark
from inventory.models import CustodyEntry, EntryKind
from tests.events.factories import FacilityFactory, mark_used, open_event, sell_to_facility
from tests.inventory.factories import ProductFactory, receive_units


def _units(admin, rep, *, single_use=True, n=1):
    product = ProductFactory(organization=rep.organization, single_use=single_use)
    return receive_units(admin, rep, n=n, product=product)


def _mark(acting, admin, rep, *, type=EventType.CASE, facility=None, single_use=True):
    event = open_event(acting, representative=rep, type=type, facility=facility)
    units = _units(admin, rep, single_use=single_use)
    mark_used(acting, event, units)
    return event, units


def mark(acting, admin, rep):
    event = open_event(acting, representative=rep)
    units = _units(admin, rep)
    return lambda: mark_used(acting, event, units)


def mark_facility_stock(acting, admin, rep):
    facility = FacilityFactory(organization=rep.organization)
    shelf = _units(admin, rep)
    sell_to_facility(rep, representative=rep, facility=facility, units=shelf)
    event = open_event(acting, representative=rep, facility=facility)
    return lambda: mark_used(acting, event, shelf)


def unmark(acting, admin, rep):
    event, units = _mark(acting, admin, rep)
    return lambda: event_unmark(actor=acting, event=event, unit_ids=[u.pk for u in units])


def cancel(acting, admin, rep):
    event, _ = _mark(acting, admin, rep)
    return lambda: event_cancel(actor=acting, event=event)


def submit_case_single_use(acting, admin, rep):
    event, _ = _mark(acting, admin, rep)
    return lambda: event_submit(actor=acting, event=event)


def submit_case_reusable(acting, admin, rep):
    event, _ = _mark(acting, admin, rep, single_use=False)
    return lambda: event_submit(actor=acting, event=event)


def submit_stocking_order(acting, admin, rep):
    event, _ = _mark(acting, admin, rep, type=EventType.STOCKING_ORDER)
    return lambda: event_submit(actor=acting, event=event)


def submit_damage(acting, admin, rep):
    event, _ = _mark(acting, admin, rep, type=EventType.DAMAGE)
    return lambda: event_submit(actor=acting, event=event)


def reopen(acting, admin, rep):
    event, _ = _mark(acting, admin, rep)
    event_submit(actor=acting, event=event)
    return lambda: event_reopen(actor=acting, event=event)


STEPS = [
    (mark, EntryKind.MARKED_USED),
    (mark_facility_stock, EntryKind.MARKED_USED),
    (unmark, EntryKind.UNMARKED),
    (cancel, EntryKind.UNMARKED),
    (submit_case_single_use, EntryKind.CONSUMED),
    (submit_case_reusable, EntryKind.UNMARKED),
    (submit_stocking_order, EntryKind.SOLD_TO_FACILITY),
    (submit_damage, EntryKind.ADJUSTED),
    (reopen, EntryKind.REALLOCATED),
]


def _entries_of(step):
    before = CustodyEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    step()
    return list(CustodyEntry.objects.filter(pk__gt=before))


@pytest.mark.parametrize("who", ["distributor", "admin"])
@pytest.mark.parametrize(("setup", "kind"), STEPS, ids=[s.__name__ for s, _ in STEPS])
def test_every_entry_names_the_rep_acted_for(admin_user, distributor, rep, who, setup, kind):
    acting = {"distributor": distributor, "admin": admin_user}[who]

    entries = _entries_of(setup(acting, admin_user, rep))

    assert entries
    assert {e.kind for e in entries} == {kind}
    assert {(e.actor_id, e.on_behalf_of_id) for e in entries} == {(acting.pk, rep.pk)}


@pytest.mark.parametrize(
    ("setup", "kind"),
    [step for step in STEPS if step[0] is not reopen],  # a rep never reopens
    ids=[s.__name__ for s, _ in STEPS if s is not reopen],
)
def test_a_rep_working_on_her_own_event_acts_for_nobody(admin_user, rep, setup, kind):
    entries = _entries_of(setup(rep, admin_user, rep))

    assert {e.kind for e in entries} == {kind}
    assert {(e.actor_id, e.on_behalf_of_id) for e in entries} == {(rep.pk, None)}


def test_a_distributor_on_her_own_event_acts_for_nobody(admin_user, distributor):
    entries = _entries_of(reopen(distributor, admin_user, distributor))

    assert {(e.kind, e.actor_id, e.on_behalf_of_id) for e in entries} == {
        (EntryKind.REALLOCATED, distributor.pk, None)
    }
