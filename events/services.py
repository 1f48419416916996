"""Every write to events. Each function is one transaction: all of it happens, or none.

Lock order: the event row, then its units in primary-key order (inventory.services.lock_units),
so marking used, unmarking, submitting and cancelling the same event serialize, and two events
racing for one unit serialize on the unit: the second sees it allocated and is told by whom.
Notifications go through accounts.services.notify, inside the transaction (emails after it).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, User
from accounts.policies import on_behalf_of as behalf_of
from accounts.selectors import actor_for
from accounts.services import notify
from inventory.models import CustodyEntry, EntryKind, Facility, Unit, UnitState
from inventory.services import (
    NOT_FOUND,
    active_recalls_for,
    lock_units,
    quarantine_recalled,
    record_entries,
)

from . import policies, selectors
from .mentions import possible_mentions
from .models import (
    Comment,
    Event,
    EventLine,
    EventStatus,
    EventType,
    Mention,
    Physician,
    Procedure,
)

# --- Directory ------------------------------------------------------------------------------

DIRECTORY_MODELS = {"facility": Facility, "physician": Physician, "procedure": Procedure}


# The details each kind of directory entry has, besides its name.
DIRECTORY_DETAILS = {"facility": ("kind", "city"), "physician": ("specialty",), "procedure": ()}


@transaction.atomic
def directory_save(
    *,
    actor: User,
    entry: str,
    name: str,
    kind: str | None = None,
    city: str | None = None,
    specialty: str | None = None,
    instance: Facility | Physician | Procedure | None = None,
) -> Facility | Physician | Procedure:
    """Add or edit a directory entry (admins and distributors). `entry` is facility (name, kind,
    city), physician (name, specialty) or procedure (name); a detail left None stays as it is
    (or takes its default on a new entry). Raises TypeError for a detail the entry does not
    have, ValidationError when the name is taken."""
    if not policies.can_manage_directory(actor=actor_for(actor)):
        raise PermissionDenied("Only admins and distributors edit the directory.")
    model = DIRECTORY_MODELS[entry]
    details = {"kind": kind, "city": city, "specialty": specialty}
    foreign = [f for f, v in details.items() if v is not None and f not in DIRECTORY_DETAILS[entry]]
    if foreign:
        raise TypeError(f"A {entry} has no {', '.join(foreign)}.")
    obj = instance or model(organization_id=actor.organization_id)
    if obj.organization_id != actor.organization_id or not isinstance(obj, model):
        raise PermissionDenied("Not found.")
    obj.name = name
    for field in DIRECTORY_DETAILS[entry]:
        if details[field] is not None:
            setattr(obj, field, details[field])
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError({"name": f"A {entry} with this name exists already."}) from exc
    return obj


# --- Events ---------------------------------------------------------------------------------


def _check_directory(actor: User, *objs) -> None:
    for obj in objs:
        if obj is not None and obj.organization_id != actor.organization_id:
            raise ValidationError("Choose from your organization's directory.")


def default_name(
    *, type: str, facility: Facility, scheduled_at: datetime.datetime, procedure=None
) -> str:
    label = EventType(type).label
    when = timezone.localtime(scheduled_at).strftime("%Y-%m-%d")
    what = f" · {procedure}" if procedure else ""
    return f"{label}{what} · {facility} · {when}"


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
    _check_directory(actor, facility, physician, procedure)
    if type == EventType.CASE and procedure is None:
        raise ValidationError({"procedure": "A Case needs a procedure."})
    event = Event.objects.create(
        organization_id=actor.organization_id,
        type=type,
        name=name.strip()
        or default_name(
            type=type, facility=facility, scheduled_at=scheduled_at, procedure=procedure
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


def _event_for(actor: User, event: Event, allowed, action: str) -> Event:
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
    event = _event_for(actor, event, policies.can_edit_event, "edit")
    _check_event_change(actor, event, fields)
    for field, value in fields.items():
        setattr(event, field, value)
    if event.type == EventType.CASE and event.procedure_id is None:
        raise ValidationError({"procedure": "A Case needs a procedure."})
    if not event.name.strip():
        event.name = default_name(
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
    _check_directory(
        actor, fields.get("facility"), fields.get("physician"), fields.get("procedure")
    )
    if fields.get("type", event.type) != event.type and event.lines.current().exists():
        # The type decides what submit does to the units (consume, sell, adjust away), and
        # facility stock may only ever be used by a Case: unmark first.
        raise ValidationError({"type": "Unmark the used units before changing the event's type."})
    moving = fields.get("facility") and fields["facility"].pk != event.facility_id
    if moving and event.lines.current().filter(from_facility_stock=True).exists():
        raise ValidationError(
            {"facility": "Unmark the facility stock before moving the event elsewhere."}
        )


def _acting_for(actor: User, event: Event) -> int | None:
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
def event_mark_used(*, actor: User, event: Event, unit_ids: Sequence[int]) -> list[EventLine]:
    """Allocate units to an open event at once, all or nothing.

    Refused, naming the unit: outside what the representative may use, expired before the
    event's date, quarantined by a recall (naming it), facility stock of another facility (or
    on a non-Case event), or taken by another event first (naming it).
    Facility stock used on a Case is an unbillable line.
    """
    event = _event_for(actor, event, policies.can_mark_used, "edit")
    if not unit_ids:
        raise ValidationError("Select at least one unit to mark used.")
    rep_actor = actor_for(event.representative)
    units = lock_units(unit_ids, organization_id=event.organization_id)
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
            on_behalf_of_id=_acting_for(actor, event),
            entry_extra={"event_id": event.pk},
        )
    now = timezone.now()
    stock_ids = {u.pk for u in from_stock}
    return EventLine.objects.bulk_create(
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


def _release(*, actor: User, event: Event, lines: list[EventLine], note: str = "") -> None:
    """Give allocated units back: facility stock to the shelf it came from, others available."""
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
            on_behalf_of_id=_acting_for(actor, event),
            note=note,
            entry_extra={"event_id": event.pk},
        )
    EventLine.objects.filter(pk__in=[ln.pk for ln in lines]).update(
        removed_at=timezone.now(), removed_by=actor
    )
    # A unit a recall named while it was allocated is quarantined as soon as it is released.
    quarantine_recalled(actor=actor, units=list(units.values()))


@transaction.atomic
def event_unmark(*, actor: User, event: Event, unit_ids: Sequence[int]) -> int:
    """Take units off an open event; they go back where they came from."""
    event = _event_for(actor, event, policies.can_mark_used, "edit")
    lines = list(event.lines.current().filter(unit_id__in=unit_ids))
    if not lines:
        raise ValidationError("None of those units is marked used on this event.")
    _release(actor=actor, event=event, lines=lines)
    return len(lines)


@transaction.atomic
def event_submit(*, actor: User, event: Event) -> Event:
    """Close an open event and apply its usage.

    Case / Other: single-use units and facility stock become inactive (consumed); reusable
    units go back to available. Stocking Order: units become facility stock at the event's
    facility, in the custody of the representative who sold them. Damage / Return /
    Stock Adjustment: units become inactive (adjusted away).
    """
    event = _event_for(actor, event, policies.can_submit, "submit")
    lines = list(event.lines.current().select_related("unit__product"))
    units = {
        u.pk: u
        for u in lock_units((ln.unit_id for ln in lines), organization_id=event.organization_id)
    }
    common = {
        "actor": actor,
        "on_behalf_of_id": _acting_for(actor, event),
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
    _tell_representative(actor, event, "submitted")
    return event


@transaction.atomic
def event_cancel(*, actor: User, event: Event) -> Event:
    """Cancel an open event; its units are released."""
    event = _event_for(actor, event, policies.can_cancel, "cancel")
    lines = list(event.lines.current())
    if lines:
        _release(actor=actor, event=event, lines=lines, note="Event cancelled")
    event.status = EventStatus.CANCELLED
    event.save(update_fields=["status"])
    return event


@transaction.atomic
def event_complete(*, actor: User, event: Event, po_number: str) -> Event:
    """Record the PO number of a submitted event: it is completed."""
    po_number = (po_number or "").strip()
    if not po_number:
        raise ValidationError({"po_number": "Enter the PO number."})
    event = _event_for(actor, event, policies.can_complete, "complete")
    event.po_number = po_number[:60]
    event.status = EventStatus.COMPLETED
    event.save(update_fields=["po_number", "status"])
    return event


@transaction.atomic
def event_mark_paid(*, actor: User, event: Event) -> Event:
    event = _event_for(actor, event, policies.can_mark_paid, "paid")
    event.status = EventStatus.PAID
    event.save(update_fields=["status"])
    return event


@transaction.atomic
def event_reopen(*, actor: User, event: Event) -> Event:
    """Reopen a submitted Case (its distributor or an admin). Units it consumed are allocated
    to it again; reusable units it returned stay in stock and their lines are closed (they
    may be in use elsewhere by now)."""
    event = _event_for(actor, event, policies.can_reopen, "reopen")
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
        on_behalf_of_id=_acting_for(actor, event),
        note="Case reopened",
        entry_extra={"event_id": event.pk},
    )
    EventLine.objects.filter(pk__in=returned).update(removed_at=timezone.now(), removed_by=actor)
    event.status = EventStatus.OPEN
    event.submitted_at = None
    event.save(update_fields=["status", "submitted_at"])
    _tell_representative(actor, event, "reopened")
    return event


# --- Comments, mentions, notifications -------------------------------------------------------


def _resolve_or_refuse(event: Event, body: str) -> list[User]:
    names = possible_mentions(body)
    visible, hidden, unknown = selectors.resolve_mentions(event=event, names=names)
    problems = [f"@{n} cannot see this event, so they cannot be mentioned here." for n in hidden]
    problems += [f"There is no user @{n} in your organization." for n in unknown]
    if problems:
        raise ValidationError({"body": problems})
    return visible


def _notify(*, actor: User, event: Event, comment: Comment, users: list[User]) -> None:
    notify(
        recipients=users,
        kind=NotificationKind.MENTION,
        actor=actor,
        summary=f"{actor.name} mentioned you on {event.name}",
        detail=comment.body,
        url=reverse("events:event_detail", args=[event.pk]) + f"#comment-{comment.pk}",
        event_id=event.pk,
        comment_id=comment.pk,
    )


@transaction.atomic
def comment_add(*, actor: User, event: Event, body: str) -> Comment:
    """Comment on an event. Every @mention must name someone who can see the event (else the
    whole comment is refused, saying who); each mentioned user is notified in-app now and by
    email after commit."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    who = actor_for(actor)
    if not policies.can_see_event(actor=who, event=event):
        raise PermissionDenied("Not found.")
    users = _resolve_or_refuse(event, body)
    comment = Comment.objects.create(event=event, author=actor, body=body[:5000])
    Mention.objects.bulk_create(Mention(comment=comment, user=u) for u in users)
    _notify(actor=actor, event=event, comment=comment, users=users)
    return comment


@transaction.atomic
def comment_edit(*, actor: User, comment: Comment, body: str) -> Comment:
    """The author edits a comment; only people newly mentioned are notified."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "A comment cannot be empty."})
    comment = Comment.objects.select_for_update().select_related("event").get(pk=comment.pk)
    if comment.author_id != actor.pk:
        raise PermissionDenied("Only the author can edit a comment.")
    if not policies.can_see_event(actor=actor_for(actor), event=comment.event):
        raise PermissionDenied("Not found.")
    users = _resolve_or_refuse(comment.event, body)
    before = set(comment.mentions.values_list("user_id", flat=True))
    now_ids = {u.pk for u in users}
    comment.mentions.exclude(user_id__in=now_ids).delete()
    new = [u for u in users if u.pk not in before]
    Mention.objects.bulk_create(Mention(comment=comment, user=u) for u in new)
    comment.body = body[:5000]
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    _notify(actor=actor, event=comment.event, comment=comment, users=new)
    return comment
