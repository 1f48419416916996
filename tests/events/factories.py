"""factory-boy factories for the events directory, and helpers that open and fill events the way
the application does (through events.services), so every unit keeps an honest ledger."""

import datetime

import factory
from django.utils import timezone

from events.models import EventType, Physician, Procedure
from events.services.events import event_create, event_submit
from events.services.usage import event_mark_used
from inventory.models import Facility
from tests.factories import OrganizationFactory


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"St. Example Hospital {n}")
    kind = Facility.Kind.HOSPITAL
    city = "Springfield"

    class Params:
        surgery_centre = factory.Trait(kind=Facility.Kind.ASC)


class PhysicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Physician

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Dr. Example {n}")
    specialty = "Orthopedics"


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Total knee arthroplasty {n}")


def open_event(
    actor,
    *,
    representative=None,
    type=EventType.CASE,
    facility=None,
    procedure=None,
    physician=None,
    scheduled_at=None,
    name="",
):
    """Open an event through `events.services.events.event_create`.

    The representative defaults to the actor; a Case gets a fresh procedure and any event a
    fresh facility of the representative's organization unless the test names them.
    """
    representative = representative or actor
    org = representative.organization
    if facility is None:
        facility = FacilityFactory(organization=org)
    if type == EventType.CASE and procedure is None:
        procedure = ProcedureFactory(organization=org)
    return event_create(
        actor=actor,
        type=type,
        representative=representative,
        facility=facility,
        physician=physician,
        procedure=procedure,
        scheduled_at=scheduled_at or timezone.now(),
        name=name,
    )


def mark_used(actor, event, units):
    return event_mark_used(actor=actor, event=event, unit_ids=[u.pk for u in units])


def sell_to_facility(actor, *, representative, facility, units):
    """A submitted Stocking Order: the units become facility stock at `facility`."""
    order = open_event(
        actor, representative=representative, type=EventType.STOCKING_ORDER, facility=facility
    )
    mark_used(actor, order, units)
    return event_submit(actor=actor, event=order)


def days_from_today(days):
    return timezone.localdate() + datetime.timedelta(days=days)
