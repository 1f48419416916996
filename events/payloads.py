"""What events' actions tell the outbox (core.outbox), built here once: an event's ids, type,
status and PO number, and its usage lines. Never its patient reference, notes or name (the name
is typed by people, and may hold a patient's name); core.outbox refuses a patient key anyway."""

from __future__ import annotations

from collections.abc import Iterable

from core import outbox
from events.models import Event, EventLine
from inventory.models import Unit
from inventory.payloads import unit_data


def event_data(event: Event) -> dict:
    return {
        "id": event.pk,
        "type": event.type,
        "status": event.status,
        "representative_id": event.representative_id,
        "facility_id": event.facility_id,
        "physician_id": event.physician_id,
        "procedure_id": event.procedure_id,
        "scheduled_at": event.scheduled_at,
        "submitted_at": event.submitted_at,
        "po_number": event.po_number,
    }


def line_data(line: EventLine) -> dict:
    return {
        "id": line.pk,
        "unit_id": line.unit_id,
        "billable": line.billable,
        "from_facility_stock": line.from_facility_stock,
        "marked_by_id": line.marked_by_id,
        "marked_at": line.marked_at,
    }


def emit_event(type: str, event: Event, *, lines: Iterable[EventLine] = ()) -> None:
    """An event's step (submitted, reopened, PO recorded, paid), with the usage lines that
    stand on it after the step."""
    outbox.emit(
        organization_id=event.organization_id,
        type=type,
        data={"event": event_data(event), "lines": [line_data(ln) for ln in lines]},
    )


def emit_usage(type: str, event: Event, *, lines: Iterable[EventLine], units: Iterable[Unit]):
    """Units marked used on, or unmarked from, an event: the lines concerned and the units as
    they are now."""
    outbox.emit(
        organization_id=event.organization_id,
        type=type,
        data={
            "event": event_data(event),
            "lines": [line_data(ln) for ln in lines],
            "units": [unit_data(u) for u in units],
        },
    )
