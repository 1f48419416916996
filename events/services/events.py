"""An event's life: create, edit, submit, cancel, complete, mark paid and reopen (README, Events
and facility stock)."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, User
from accounts.policies import on_behalf_of as behalf_of
from accounts.selectors import actor_for
from accounts.services import notify
from core import outbox
from events import payloads, policies
from events.models import (
    Event,
    EventLine,
    EventStatus,
    EventType,
    Physician,
    Procedure,
)
from events.services.directory import check_directory
from inventory.models import CustodyEntry, EntryKind, Facility, Unit, UnitState
from inventory.services.ledger import lock_units, record_entries
from inventory.services.recalls import quarantine_recalled


def default_name(
    *,
    organization_id: int,
    type: str,
    facility: Facility,
    scheduled_at: datetime.datetime,
    procedure=None,
    exclude_pk: int | None = None,
) -> str:
    """Type, procedure, facility and day; " #2", " #3", ... when the organization already has
    an event of that name, so two cases of one day at one hospital stay apart in lists and
    pickers. `exclude_pk` is the event being renamed, whose own name does not count."""
    label = EventType(type).label
    when = timezone.localtime(scheduled_at).strftime("%Y-%m-%d")
    what = f" · {procedure}" if procedure else ""
    # Long facility and procedure names are shortened so the name, with room for " #99", fits
    # Event.name; the day stays whole.
    room = Event._meta.get_field("name").max_length - len(f" · {when}") - len(" #99")
    base = f"{label}{what} · {facility}"
    if len(base) > room:
        base = base[: room - 1] + "…"
    base = f"{base} · {when}"
    # Only events of that facility count (its index): the facility is part of the name.
    taken = set(
        Event.objects.filter(
            organization_id=organization_id, facility=facility, name__startswith=base
        )
        .exclude(pk=exclude_pk)
        .values_list("name", flat=True)
    )
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} #{n}"
    return name


@transaction.atomic
def event_create(
    *,
    actor: User,
    type: str,
    representative: User,
    facility: Facility,
    scheduled_at: datetime.datetime,
    physician: Physician | None = None,
    procedure: Procedure | None = None,
    name: str = "",
    patient_ref: str = "",
    notes: str = "",
) -> Event:
    """Open an event. Reps for themselves, distributors for themselves or their reps, admins
    for anyone; a Case needs a procedure; a blank name is generated."""
    who = actor_for(actor)
    if not policies.can_create_event_for(actor=who, representative=representative):
        raise ValidationError({"representative": "You cannot create events for this person."})
    check_directory(actor, facility, physician, procedure)
    if type == EventType.CASE and procedure is None:
        raise ValidationError({"procedure": "A Case needs a procedure."})
    event = Event.objects.create(
        organization_id=actor.organization_id,
        type=type,
        name=name.strip()
        or default_name(
            organization_id=actor.organization_id,
            type=type,
            facility=facility,
            scheduled_at=scheduled_at,
            procedure=procedure,
        ),
        representative=representative,
        facility=facility,
        physician=physician,
        procedure=procedure,
        scheduled_at=scheduled_at,
        patient_ref=patient_ref.strip(),
        notes=notes,
        created_by=actor,
    )
    return event


def _locked_event(event: Event) -> Event:
    return Event.objects.select_for_update().get(pk=event.pk)


def event_for(actor: User, event: Event, allowed, action: str) -> Event:
    """Lock the event, then check the actor may see it (else "not found") and that `allowed`
    says yes now (else ValidationError with the reason)."""
    who = actor_for(actor)
    event = _locked_event(event)
    if not policies.can_see_event(actor=who, event=event):
        raise PermissionDenied("Not found.")
    if not allowed(actor=who, event=event):
        raise ValidationError(policies.refusal_reason(event=event, action=action, actor=who))
    return event


class _Unchanged:
    """A detail event_update leaves as it is."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()


@transaction.atomic
def event_update(
    *,
    actor: User,
    event: Event,
    type: str | _Unchanged = UNCHANGED,
    name: str | _Unchanged = UNCHANGED,
    representative: User | _Unchanged = UNCHANGED,
    facility: Facility | _Unchanged = UNCHANGED,
    physician: Physician | None | _Unchanged = UNCHANGED,
    procedure: Procedure | None | _Unchanged = UNCHANGED,
    scheduled_at: datetime.datetime | _Unchanged = UNCHANGED,
    patient_ref: str | _Unchanged = UNCHANGED,
    notes: str | _Unchanged = UNCHANGED,
) -> Event:
    """Edit an open event's details; a detail not given stays as it is.

    The representative cannot change once units are used (they were chosen from that person's
    stock), nor the type (it decides what submit does to them), nor the facility while facility
    stock is marked. Status moves only through the lifecycle services (submit, cancel, ...).
    """
    fields = {
        key: value
        for key, value in {
            "type": type,
            "name": name,
            "representative": representative,
            "facility": facility,
            "physician": physician,
            "procedure": procedure,
            "scheduled_at": scheduled_at,
            "patient_ref": patient_ref,
            "notes": notes,
        }.items()
        if value is not UNCHANGED
    }
    event = event_for(actor, event, policies.can_edit_event, "edit")
    _check_event_change(actor, event, fields)
    for field, value in fields.items():
        setattr(event, field, value)
    if event.type == EventType.CASE and event.procedure_id is None:
        raise ValidationError({"procedure": "A Case needs a procedure."})
    if not event.name.strip():
        event.name = default_name(
            organization_id=event.organization_id,
            exclude_pk=event.pk,
            type=event.type,
            facility=event.facility,
            scheduled_at=event.scheduled_at,
            procedure=event.procedure,
        )
    event.save()
    _tell_representative(actor, event, "edited")
    return event


def _check_event_change(actor: User, event: Event, fields: dict) -> None:
    """Refuse a representative one may not assign, a directory entry of another organization,
    and a change that would contradict the units already marked on the event."""
    rep = fields.get("representative", event.representative)
    if rep.pk != event.representative_id:
        if event.lines.current().exists():
            raise ValidationError(
                {"representative": "Unmark the used units before changing the representative."}
            )
        if not policies.can_create_event_for(actor=actor_for(actor), representative=rep):
            raise ValidationError({"representative": "You cannot assign events to this person."})
    check_directory(actor, fields.get("facility"), fields.get("physician"), fields.get("procedure"))
    if fields.get("type", event.type) != event.type and event.lines.current().exists():
        # The type decides what submit does to the units (consume, sell, adjust away), and
        # facility stock may only ever be used by a Case: unmark first.
        raise ValidationError({"type": "Unmark the used units before changing the event's type."})
    moving = fields.get("facility") and fields["facility"].pk != event.facility_id
    if moving and event.lines.current().filter(from_facility_stock=True).exists():
        raise ValidationError(
            {"facility": "Unmark the facility stock before moving the event elsewhere."}
        )


def acting_for(actor: User, event: Event) -> int | None:
    """Whom the ledger names as acted for on this event's units: its representative when a
    distributor or an admin acts (`accounts.policies.on_behalf_of`), nobody when they act
    themselves."""
    return behalf_of(actor=actor_for(actor), holder_id=event.representative_id)


def _tell_representative(actor: User, event: Event, did: str) -> None:
    """The event's representative hears when someone else (their distributor, an admin) edits,
    submits or reopens it."""
    notify(
        recipients=[event.representative_id],
        kind=NotificationKind.EVENT_CHANGED,
        actor=actor,
        summary=f"{actor.name} {did} your event {event.name}",
        url=reverse("events:event_detail", args=[event.pk]),
        event_id=event.pk,
    )


def release_lines(
    *,
    actor: User,
    event: Event,
    lines: list[EventLine],
    note: str = "",
    reported_at: datetime.datetime | None = None,
) -> list[Unit]:
    """Give allocated units back: facility stock to the shelf it came from, others available.
    `reported_at`: the phone's time of an unmark made offline (the ledger keeps it). Returns
    the units, as they are now."""
    units = {
        u.pk: u
        for u in lock_units((ln.unit_id for ln in lines), organization_id=event.organization_id)
    }
    back_to_stock = [units[ln.unit_id] for ln in lines if ln.from_facility_stock]
    back_available = [units[ln.unit_id] for ln in lines if not ln.from_facility_stock]
    for group, state in (
        (back_available, UnitState.AVAILABLE),
        (back_to_stock, UnitState.FACILITY_STOCK),
    ):
        record_entries(
            units=[u for u in group if u.state == UnitState.ALLOCATED],
            kind=EntryKind.UNMARKED,
            to_state=state,
            actor=actor,
            on_behalf_of_id=acting_for(actor, event),
            note=note,
            entry_extra={"event_id": event.pk, "reported_at": reported_at},
        )
    EventLine.objects.filter(pk__in=[ln.pk for ln in lines]).update(
        removed_at=timezone.now(), removed_by=actor
    )
    # A unit a recall named while it was allocated is quarantined as soon as it is released.
    quarantine_recalled(actor=actor, units=list(units.values()))
    return list(units.values())


@transaction.atomic
def event_submit(*, actor: User, event: Event) -> Event:
    """Close an open event and apply its usage.

    Case / Other: single-use units and facility stock become inactive (consumed); reusable
    units go back to available. Stocking Order: units become facility stock at the event's
    facility, in the custody of the representative who sold them. Damage / Return /
    Stock Adjustment: units become inactive (adjusted away).
    """
    event = event_for(actor, event, policies.can_submit, "submit")
    lines = list(event.lines.current().select_related("unit__product"))
    units = {
        u.pk: u
        for u in lock_units((ln.unit_id for ln in lines), organization_id=event.organization_id)
    }
    common = {
        "actor": actor,
        "on_behalf_of_id": acting_for(actor, event),
        "entry_extra": {"event_id": event.pk},
    }
    if event.type == EventType.STOCKING_ORDER:
        record_entries(
            units=list(units.values()),
            kind=EntryKind.SOLD_TO_FACILITY,
            to_state=UnitState.FACILITY_STOCK,
            to_custodian_id=event.representative_id,
            # On the facility's shelf now: the old warehouse location no longer applies.
            extra={"facility_id": event.facility_id, "location_id": None},
            note=f"Sold to {event.facility}",
            **common,
        )
    elif event.type in (EventType.DAMAGE, EventType.RETURN, EventType.ADJUSTMENT):
        record_entries(
            units=list(units.values()),
            kind=EntryKind.ADJUSTED,
            to_state=UnitState.INACTIVE,
            note=event.get_type_display(),
            **common,
        )
    else:
        consumed, returned = [], []
        for ln in lines:
            unit = units[ln.unit_id]
            keep = unit.product.single_use is False and not ln.from_facility_stock
            (returned if keep else consumed).append(unit)
        record_entries(
            units=consumed, kind=EntryKind.CONSUMED, to_state=UnitState.INACTIVE, **common
        )
        record_entries(
            units=returned,
            kind=EntryKind.UNMARKED,
            to_state=UnitState.AVAILABLE,
            note="Reusable: back in stock after the case",
            **common,
        )
    # A reusable unit back in stock, or one sold onto a shelf, that a recall names.
    quarantine_recalled(actor=actor, units=list(units.values()))
    event.status = EventStatus.SUBMITTED
    event.submitted_at = timezone.now()
    event.save(update_fields=["status", "submitted_at"])
    payloads.emit_event(outbox.EVENT_SUBMITTED, event, lines=lines)
    _tell_representative(actor, event, "submitted")
    return event


@transaction.atomic
def event_cancel(*, actor: User, event: Event) -> Event:
    """Cancel an open event; its units are released."""
    event = event_for(actor, event, policies.can_cancel, "cancel")
    lines = list(event.lines.current())
    if lines:
        release_lines(actor=actor, event=event, lines=lines, note="Event cancelled")
    event.status = EventStatus.CANCELLED
    event.save(update_fields=["status"])
    return event


@transaction.atomic
def event_complete(*, actor: User, event: Event, po_number: str) -> Event:
    """Record the PO number of a submitted event: it is completed."""
    po_number = (po_number or "").strip()
    if not po_number:
        raise ValidationError({"po_number": "Enter the PO number."})
    event = event_for(actor, event, policies.can_complete, "complete")
    event.po_number = po_number[:60]
    event.status = EventStatus.COMPLETED
    event.save(update_fields=["po_number", "status"])
    payloads.emit_event(outbox.EVENT_PO_RECORDED, event, lines=event.lines.current())
    return event


@transaction.atomic
def event_mark_paid(*, actor: User, event: Event) -> Event:
    event = event_for(actor, event, policies.can_mark_paid, "paid")
    event.status = EventStatus.PAID
    event.save(update_fields=["status"])
    payloads.emit_event(outbox.EVENT_PAID, event, lines=event.lines.current())
    return event


@transaction.atomic
def event_reopen(*, actor: User, event: Event) -> Event:
    """Reopen a submitted Case (its distributor or an admin). Units it consumed are allocated
    to it again; reusable units it returned stay in stock and their lines are closed (they
    may be in use elsewhere by now)."""
    event = event_for(actor, event, policies.can_reopen, "reopen")
    lines = list(event.lines.current())
    units = {
        u.pk: u
        for u in lock_units((ln.unit_id for ln in lines), organization_id=event.organization_id)
    }
    # Only units whose latest ledger entry is this event's consumption come back; a reusable
    # unit returned to stock may have been used, damaged or moved since.
    last_consumed_here = set(
        CustodyEntry.objects.filter(
            unit_id__in=units, event_id=event.pk, kind=EntryKind.CONSUMED
        ).values_list("unit_id", "sequence")
    )
    consumed = [unit for unit in units.values() if (unit.pk, unit.ledger_seq) in last_consumed_here]
    consumed_ids = {u.pk for u in consumed}
    returned = [ln.pk for ln in lines if ln.unit_id not in consumed_ids]
    record_entries(
        units=consumed,
        kind=EntryKind.REALLOCATED,
        to_state=UnitState.ALLOCATED,
        actor=actor,
        on_behalf_of_id=acting_for(actor, event),
        note="Case reopened",
        entry_extra={"event_id": event.pk},
    )
    EventLine.objects.filter(pk__in=returned).update(removed_at=timezone.now(), removed_by=actor)
    event.status = EventStatus.OPEN
    event.submitted_at = None
    event.save(update_fields=["status", "submitted_at"])
    payloads.emit_event(
        outbox.EVENT_REOPENED, event, lines=[ln for ln in lines if ln.pk not in set(returned)]
    )
    _tell_representative(actor, event, "reopened")
    return event
