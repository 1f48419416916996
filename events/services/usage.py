"""Marking units used on an open event (allocating them at once, all or nothing) and unmarking
them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import actor_for
from core import outbox
from events import payloads, policies
from events.models import (
    Event,
    EventLine,
    EventStatus,
)
from events.services.events import acting_for, event_for, release_lines
from inventory.identification import Identified
from inventory.models import EntryKind, Unit, UnitState
from inventory.selectors.recalls import active_recalls_for
from inventory.services.ledger import NOT_FOUND, check_seen, lock_units, record_entries


def _holding_event_problem(unit: Unit) -> str:
    """Which event took a unit that is allocated (for the person who lost the race)."""
    line = (
        EventLine.objects.current()
        .filter(unit=unit, event__status=EventStatus.OPEN)
        .select_related("event", "marked_by")
        .first()
    )
    if line:
        return f"{unit.label} was already marked used on “{line.event.name}” by {line.marked_by}."
    return f"{unit.label} is already allocated to another event."


@transaction.atomic
def event_mark_used(
    *,
    actor: User,
    event: Event,
    unit_ids: Sequence[int],
    identified_by: Mapping[int, str] | None = None,
    reported_at: datetime | None = None,
    seen: Mapping[int, int] | None = None,
) -> list[EventLine]:
    """Allocate units to an open event at once, all or nothing. `identified_by` says, by unit
    id, how each was picked (inventory.models.Identified: scanned and the label's format, or
    typed); a unit it does not name was chosen from the list. The ledger entry keeps it, and
    `reported_at` (an offline mark's time by the phone's clock; the entry's `at` stays now).

    Refused, naming the unit: outside what the representative may use, expired before the
    event's date, quarantined by a recall (naming it), facility stock of another facility (or
    on a non-Case event), or taken by another event first (naming it).
    Facility stock used on a Case is an unbillable line. `seen` (the Mark Used page's, an API
    client's expected sequences; never a scan's or an offline mark's, judged on the state
    now) refuses it all with StaleUnits when a unit changed since (`ledger.check_seen`).
    """
    event = event_for(actor, event, policies.can_mark_used, "edit")
    if not unit_ids:
        raise ValidationError("Select at least one unit to mark used.")
    rep_actor = actor_for(event.representative)
    units = lock_units(unit_ids, organization_id=event.organization_id)
    check_seen(units=units, seen=seen, viewer=actor)
    recalls = active_recalls_for(unit_ids=[u.pk for u in units])
    problems = []
    if len(units) != len(set(unit_ids)):
        problems.append(NOT_FOUND)
    for unit in units:
        problem = policies.unit_use_problem(
            rep_actor=rep_actor, event=event, unit=unit, recall=recalls.get(unit.pk)
        )
        if problem is None and unit.state not in (UnitState.AVAILABLE, UnitState.FACILITY_STOCK):
            if unit.state == UnitState.ALLOCATED:
                problem = _holding_event_problem(unit)
            else:
                problem = f"{unit.label} is {unit.get_state_display().lower()}, not available."
        if problem:
            problems.append(problem)
    if problems:
        raise ValidationError(problems)
    from_stock = [u for u in units if u.state == UnitState.FACILITY_STOCK]
    fresh = [u for u in units if u.state == UnitState.AVAILABLE]
    for group in (fresh, from_stock):
        record_entries(
            units=group,
            kind=EntryKind.MARKED_USED,
            to_state=UnitState.ALLOCATED,
            actor=actor,
            on_behalf_of_id=acting_for(actor, event),
            entry_extra={"event_id": event.pk, "reported_at": reported_at},
            unit_entry_extra={
                u.pk: {"identified_by": (identified_by or {}).get(u.pk, Identified.LIST)}
                for u in group
            },
        )
    now = timezone.now()
    stock_ids = {u.pk for u in from_stock}
    lines = EventLine.objects.bulk_create(
        EventLine(
            event=event,
            unit=unit,
            billable=unit.pk not in stock_ids,
            from_facility_stock=unit.pk in stock_ids,
            marked_by=actor,
            marked_at=now,
        )
        for unit in units
    )
    payloads.emit_usage(outbox.UNIT_MARKED_USED, event, lines=lines, units=units)
    return lines


@transaction.atomic
def event_unmark(
    *,
    actor: User,
    event: Event,
    unit_ids: Sequence[int],
    reported_at: datetime | None = None,
) -> int:
    """Take units off an open event; they go back where they came from. `reported_at` is when
    a phone says the unmark was made (offline), kept on the ledger entries beside `at`."""
    event = event_for(actor, event, policies.can_mark_used, "edit")
    lines = list(event.lines.current().filter(unit_id__in=unit_ids))
    if not lines:
        raise ValidationError("None of those units is marked used on this event.")
    units = release_lines(actor=actor, event=event, lines=lines, reported_at=reported_at)
    payloads.emit_usage(outbox.UNIT_UNMARKED, event, lines=lines, units=units)
    return len(lines)
