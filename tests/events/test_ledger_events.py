"""The custody ledger names its event by a plain `event_id` (inventory never imports events);
the events services keep it pointing at a real event of the same organization, and a unit's
history still says which event a "marked used" or "consumed" entry belongs to."""

import pytest
from django.urls import reverse

from events.models import Event
from events.services.events import event_cancel, event_reopen, event_submit
from events.services.usage import event_unmark
from inventory.models import CustodyEntry, EntryKind
from inventory.services.transfers import transfer_create
from tests.events.factories import mark_used, open_event
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ledger_problems, receive_units

EVENT_KINDS = {EntryKind.MARKED_USED, EntryKind.UNMARKED, EntryKind.CONSUMED}


def event_id_problems():
    """Every ledger entry that names an event names an existing one of its own organization."""
    orgs = dict(Event.objects.values_list("pk", "organization_id"))
    return [
        f"entry {e.unit_id}#{e.sequence} ({e.kind}) names event {e.event_id}"
        for e in CustodyEntry.objects.exclude(event_id=None)
        if orgs.get(e.event_id) != e.organization_id
    ]


def _busy_organization():
    """Mark, unmark, submit, reopen and cancel in one organization; return its events."""
    org = OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    dana = DistributorFactory(organization=org)
    riley = RepFactory(organization=org, assigned_to=dana)
    units = receive_units(admin, riley, n=4)
    case = open_event(riley)
    mark_used(riley, case, units[:2])
    event_unmark(actor=dana, event=case, unit_ids=[units[1].pk])
    event_submit(actor=riley, event=case)
    event_reopen(actor=dana, event=case)
    event_submit(actor=riley, event=case)
    cancelled = open_event(dana, representative=riley)
    mark_used(dana, cancelled, units[2:])
    event_cancel(actor=dana, event=cancelled)
    return case, cancelled, units


@pytest.mark.django_db
def test_every_ledger_event_id_names_an_event_of_the_same_organization():
    case, cancelled, units = _busy_organization()
    _busy_organization()  # a second organization: ids must not cross

    assert CustodyEntry.objects.exclude(event_id=None).count() >= 8
    assert event_id_problems() == []
    assert ledger_problems() == []
    # Each event entry names the event it happened on.
    for entry in CustodyEntry.objects.filter(unit__in=units, kind__in=EVENT_KINDS):
        expected = case.pk if entry.unit_id in {units[0].pk, units[1].pk} else cancelled.pk
        assert entry.event_id == expected, entry
    reopened = CustodyEntry.objects.get(unit=units[0], note="Case reopened")
    assert reopened.event_id == case.pk


@pytest.mark.django_db
def test_an_event_id_of_another_organization_is_reported():
    case, _, units = _busy_organization()
    other_case, _, other_units = _busy_organization()
    # Forge an entry that names the other organization's event (the services never do this).
    unit = units[2]
    unit.refresh_from_db()
    CustodyEntry.objects.create(
        organization_id=unit.organization_id,
        unit=unit,
        sequence=unit.ledger_seq + 1,
        kind=EntryKind.ADJUSTED,
        from_custodian_id=unit.custodian_id,
        to_custodian_id=unit.custodian_id,
        from_state=unit.state,
        to_state=unit.state,
        actor_id=unit.custodian_id,
        event_id=other_case.pk,
    )
    assert len(event_id_problems()) == 1
    assert any("is not one of its organization" in p for p in ledger_problems())


@pytest.mark.django_db
def test_unit_history_names_and_links_the_event_a_unit_was_used_on(client):
    case, _, units = _busy_organization()
    riley = case.representative
    client.force_login(riley)

    page = client.get(reverse("inventory:unit_detail", args=[units[0].pk])).content.decode()

    link = f'<a href="{reverse("events:event_detail", args=[case.pk])}" data-testid="entry-event">'
    # marked used, consumed, reopened (allocated again), consumed again: four entries name it.
    assert page.count(link + case.name + "</a>") == 4


@pytest.mark.django_db
def test_unit_history_does_not_name_an_event_the_viewer_cannot_see(client):
    case, _, units = _busy_organization()
    riley = case.representative
    sam = RepFactory(organization=riley.organization)
    admin = UserFactory(organization=riley.organization, admin=True)
    # units[1] was marked on riley's case and unmarked; an admin then hands it to sam, who may
    # see the unit (and its history) but not riley's case.
    transfer_create(actor=admin, unit_ids=[units[1].pk], recipient=sam)
    client.force_login(sam)

    page = client.get(reverse("inventory:unit_detail", args=[units[1].pk])).content.decode()

    assert case.name not in page
    assert page.count("an event you cannot open") == 2  # marked used, unmarked
