"""Yes/no rules for events; pure functions over an `Actor` and the objects' fields."""

from __future__ import annotations

import datetime

from django.utils import timezone

from accounts.models import Role
from accounts.policies import Actor, event_rep_scope, usable_holder_ids
from inventory.policies import recall_refusal

from .models import Event, EventStatus, EventType

NOT_FOUND = "A selected unit was not found."


def _speaks_for_representative(*, actor: Actor, representative_id: int) -> bool:
    scope = event_rep_scope(actor=actor)
    return scope is None or representative_id in scope


def can_see_event(*, actor: Actor, event: Event) -> bool:
    """The representative, the representative's distributor, and admins (`event_rep_scope`)."""
    if event.organization_id != actor.organization_id:
        return False
    return _speaks_for_representative(actor=actor, representative_id=event.representative_id)


def can_edit_event(*, actor: Actor, event: Event) -> bool:
    return can_see_event(actor=actor, event=event) and event.status == EventStatus.OPEN


def can_create_event_for(*, actor: Actor, representative) -> bool:
    """Reps create their own events; distributors theirs and their reps'; admins anyone's
    (whose events one may see, one may open); the representative is an active rep or
    distributor of the organization."""
    if not actor.is_active or representative.organization_id != actor.organization_id:
        return False
    if not representative.is_active or representative.role not in (Role.REP, Role.DISTRIBUTOR):
        return False
    return _speaks_for_representative(actor=actor, representative_id=representative.pk)


def can_mark_used(*, actor: Actor, event: Event) -> bool:
    return can_edit_event(actor=actor, event=event)


def can_submit(*, actor: Actor, event: Event) -> bool:
    return can_edit_event(actor=actor, event=event)


def can_cancel(*, actor: Actor, event: Event) -> bool:
    return can_edit_event(actor=actor, event=event)


def can_complete(*, actor: Actor, event: Event) -> bool:
    return can_see_event(actor=actor, event=event) and event.status == EventStatus.SUBMITTED


def can_mark_paid(*, actor: Actor, event: Event) -> bool:
    """Payment is recorded by the office: the representative's distributor or an admin."""
    return (
        can_see_event(actor=actor, event=event)
        and event.status == EventStatus.COMPLETED
        and (actor.is_admin or actor.is_distributor)
    )


def can_reopen(*, actor: Actor, event: Event) -> bool:
    """A submitted Case may be reopened by its distributor or an admin; a Stocking Order never."""
    return (
        event.type == EventType.CASE
        and event.status == EventStatus.SUBMITTED
        and (actor.is_admin or actor.is_distributor)
        and can_see_event(actor=actor, event=event)
    )


def can_manage_directory(*, actor: Actor) -> bool:
    return actor.is_active and (actor.is_admin or actor.is_distributor)


def refusal_reason(*, event: Event, action: str, actor: Actor | None = None) -> str:
    """Why a lifecycle step is not allowed now, in words for the person who tried it."""
    status = event.get_status_display().lower()
    office_only = actor is not None and not (actor.is_admin or actor.is_distributor)
    if action == "paid" and office_only and event.status == EventStatus.COMPLETED:
        return "Only the representative's distributor or an admin records an event as marked paid."
    if action == "reopen" and office_only and event.type == EventType.CASE:
        return "A submitted Case is reopened only by its distributor or an admin."
    reasons = {
        "submit": f"Only an open event can be submitted; this one is {status}.",
        "cancel": f"Only an open event can be cancelled; this one is {status}.",
        "complete": f"Enter a PO number after the event is submitted; this one is {status}.",
        "paid": f"Only a completed event (with its PO number) can be marked paid; this one is {status}.",
        "reopen": (
            "A submitted Stocking Order cannot be reopened: its units are already the facility's."
            if event.type == EventType.STOCKING_ORDER
            else f"Only a submitted Case can be reopened, by its distributor or an admin; this one is {status}."
        ),
        "edit": f"This event is {status}; only open events can change.",
    }
    return reasons[action]


EXPIRY_WARNING_DAYS = 30


def event_date(event: Event) -> datetime.date:
    """The day the event happens (or happened), in the organization's time zone."""
    return timezone.localdate(event.scheduled_at)


def unit_use_problem(*, rep_actor: Actor, event: Event, unit, recall=None) -> str | None:
    """Why the event's representative may not use this unit on this event (None = may).

    Own custody or, with pooling on, the distributor's; available, or facility stock at the
    event's facility for a Case (sold by the representative, or by the distributor while
    pooling is on: the custodian of facility stock is its seller); not quarantined by a recall
    (`recall`: the active recall naming the unit, if any; the refusal names it); not expired
    before the event's date (a case recorded late may use a unit that expired since).
    """
    if unit.organization_id != event.organization_id or unit.custodian_id not in usable_holder_ids(
        actor=rep_actor
    ):
        # Out of scope answers "missing": no internal id, nothing of another holder's.
        return NOT_FOUND
    if unit.state == "quarantined" or (
        recall is not None and unit.state in ("available", "facility_stock")
    ):
        return f"{recall_refusal(unit, recall)} It cannot be used."
    if unit.state == "facility_stock":
        if event.type != EventType.CASE or unit.facility_id != event.facility_id:
            return (
                f"{unit.label} is facility stock of another facility; only a Case there can use it."
            )
    elif unit.state != "available":
        return None  # the caller words state conflicts, naming the event that holds the unit
    if unit_expired_for(event=event, unit=unit):
        return (
            f"{unit.label} expired on {unit.expiration_date:%Y-%m-%d}, before the event's date "
            f"({event_date(event):%Y-%m-%d}), and cannot be used."
        )
    return None


def unit_expired_for(*, event: Event, unit) -> bool:
    """Expired before the event's date (not before today)."""
    return unit.expiration_date is not None and unit.expiration_date < event_date(event)


def unit_use_warning(*, event: Event, unit) -> str | None:
    """A usable unit that expires within 30 days after the event's date carries a warning."""
    if unit.expiration_date is None or unit_expired_for(event=event, unit=unit):
        return None
    if unit.expiration_date <= event_date(event) + datetime.timedelta(days=EXPIRY_WARNING_DAYS):
        return (
            f"{unit.label} expires on {unit.expiration_date:%Y-%m-%d}, within "
            f"{EXPIRY_WARNING_DAYS} days of the event."
        )
    return None
