"""Locations and moves between two locations of the same holder (a moved entry, never a transfer)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.policies import on_behalf_of as behalf_of
from accounts.selectors import actor_for
from inventory import notices, policies
from inventory.models import (
    EntryKind,
    Location,
    Unit,
    UnitState,
)
from inventory.selectors.recalls import active_recalls_for
from inventory.services.ledger import (
    KEEP,
    NOT_FOUND,
    check_seen,
    holder_name,
    lock_units,
    record_entries,
    state_problem,
)
from inventory.services.transfers import check_recipient


@transaction.atomic
def location_create(*, actor: User, name: str, kind: str, holder=KEEP) -> Location:
    """Add a location (admins and distributors): a warehouse, a trunk, a hospital bin. Names
    are unique per organization regardless of case (ValidationError on `name`).

    Its holder: a distributor's locations are their own; an admin names any holder who may
    hold stock (None, the default for admins, is organization custody)."""
    who = actor_for(actor)
    if not policies.can_receive(actor=who):
        raise PermissionDenied("Only admins and distributors add locations.")
    if holder is KEEP:
        holder = None if who.is_admin else actor
    if holder is not None:
        check_recipient(actor, holder)
        if not policies.can_receive_into(actor=who, custodian_id=holder.pk):
            raise ValidationError({"holder": "Distributors add locations of their own."})
    elif not who.is_admin:
        raise ValidationError({"holder": "Distributors add locations of their own."})
    taken = {"name": "A location with this name exists already."}
    if Location.objects.filter(organization_id=actor.organization_id, name__iexact=name).exists():
        raise ValidationError(taken)
    try:
        with transaction.atomic():
            return Location.objects.create(
                organization_id=actor.organization_id, name=name, kind=kind, holder=holder
            )
    except IntegrityError as exc:
        raise ValidationError(taken) from exc


@transaction.atomic
def units_move(
    *,
    actor: User,
    unit_ids: Sequence[int],
    to_location: Location,
    seen: Mapping[int, int] | None = None,
) -> list[Unit]:
    """Move units between two locations of the same holder: a "moved" entry per unit; custody
    and state do not change. All or nothing. Whoever the mover acted for is told.

    Whoever may transfer a unit may move it (`policies.can_move_unit`); a quarantined unit
    moves only within organization custody. Refused, naming each unit: not found or out of
    scope, held by someone other than the location's holder (that is a transfer, not a move),
    already there, in transit or allocated or inactive, or quarantined (naming the recall).
    StaleUnits when a unit changed since the sequence `seen` gives for it (`ledger.check_seen`).
    """
    who = actor_for(actor)
    if to_location is None or to_location.organization_id != actor.organization_id:
        raise ValidationError({"to_location": "Choose a location of your organization."})
    if not unit_ids:
        raise ValidationError("Select at least one unit to move.")
    units = lock_units(unit_ids, organization_id=actor.organization_id)
    check_seen(units=units, seen=seen, viewer=actor)
    problems = []
    if len(units) != len(set(unit_ids)):
        problems.append(NOT_FOUND)
    recalls = active_recalls_for(unit_ids=[u.pk for u in units])
    for unit in units:
        if policies.can_move_unit(actor=who, unit=unit, to_location=to_location):
            if unit.location_id == to_location.pk:
                problems.append(f"{unit.label} is already at {to_location}.")
        elif not policies.can_act_on_unit(actor=who, unit=unit):
            problems.append(NOT_FOUND)
        elif unit.custodian_id != to_location.holder_id:
            problems.append(
                f"{unit.label} is in {holder_name(unit.custodian)}'s custody and "
                f"{to_location} is {holder_name(to_location.holder)}'s: transfer it instead."
            )
        elif unit.state == UnitState.QUARANTINED:
            problems.append(
                f"{policies.recall_refusal(unit, recalls.get(unit.pk))} It can only go back to "
                "organization custody for return."
            )
        else:
            problems.append(state_problem(unit))
    if problems:
        raise ValidationError(list(dict.fromkeys(problems)))
    by_state: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        by_state[unit.state].append(unit)
    behalf = behalf_of(actor=who, holder_id=to_location.holder_id)
    for state, group in by_state.items():
        record_entries(
            units=group,
            kind=EntryKind.MOVED,
            to_state=state,
            actor=actor,
            on_behalf_of_id=behalf,
            note=f"To {to_location}",
            extra={"location_id": to_location.pk},
        )
    notices.units_moved(actor=actor, units=units, to_location=to_location, acted_for=behalf)
    return units
