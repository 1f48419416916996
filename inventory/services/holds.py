"""The hold queue: an admin releases units that came back from a declined transfer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from accounts.selectors import actor_for
from inventory import notices, policies
from inventory.models import (
    EntryKind,
    Unit,
    UnitState,
)
from inventory.services.ledger import NOT_FOUND, check_seen, lock_units, record_entries


@transaction.atomic
def units_release_hold(
    *,
    actor: User,
    unit_ids: Sequence[int],
    note: str = "",
    seen: Mapping[int, int] | None = None,
) -> list[Unit]:
    """An admin reviews declined units and makes them available again with their holder. All
    or nothing: refused naming each unit not on hold, or (StaleUnits) changed since the
    sequence `seen` gives for it (`ledger.check_seen`)."""
    who = actor_for(actor)
    if not who.is_admin:
        raise PermissionDenied("Only an admin releases units on hold.")
    units = lock_units(unit_ids, organization_id=who.organization_id)
    check_seen(units=units, seen=seen, viewer=actor)
    problems = [
        f"{u.label} is not on hold." if u.organization_id == who.organization_id else "Not found."
        for u in units
        if not policies.can_release_hold(actor=who, unit=u)
    ]
    if len(units) != len(set(unit_ids)):
        problems.append(NOT_FOUND)
    if problems or not units:
        raise ValidationError(problems or ["Select at least one unit on hold."])
    record_entries(
        units=units,
        kind=EntryKind.HOLD_RELEASED,
        to_state=UnitState.AVAILABLE,
        actor=actor,
        note=note,
    )
    notices.holds_released(actor=actor, units=units, note=note)
    return units
