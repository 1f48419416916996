"""The custody ledger's writer: lock units in key order, append one entry per unit and move the
units to match. Every other service changes units only through here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from inventory.models import (
    CustodyEntry,
    Transfer,
    TransferLine,
    Unit,
    UnitState,
)

# NOT_FOUND lives beside changes_since, which answers it too; the services import it from here.
from inventory.selectors.changes import NOT_FOUND as NOT_FOUND
from inventory.selectors.changes import changes_since
from inventory.services.par import check_after_commit

KEEP = object()  # "custodian unchanged" for record_entries


def lock_units(unit_ids: Iterable[int], *, organization_id: int) -> list[Unit]:
    """Lock the units of the organization in primary-key order (no deadlocks between two
    multi-unit writers). Ids of another organization's units are left out, never locked or
    read: callers compare the count with the ids asked for and answer "not found"."""
    ids = sorted(set(unit_ids))
    return list(
        Unit.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=ids, organization_id=organization_id)
        .order_by("pk")
    )


class StaleUnits(ValidationError):
    """Units changed since the page (or API client) that asks for the action last saw them.
    Its messages say what changed, per unit; nothing was done."""

    code = "stale"


def check_seen(*, units: Sequence[Unit], seen: Mapping[int, int] | None, viewer: User) -> None:
    """Refuse the whole action when a (locked) unit's ledger moved past the sequence `seen`
    gives for it (by unit id): someone acted on it since the page was drawn (DESIGN 14).

    Called under the row locks of `lock_units`, in the action's transaction, so no change can
    slip in between this check and the write. `seen` None (scans, offline marks, API calls
    without expected sequences) judges on the current state only; a unit `seen` does not name
    is judged the same way. Raises StaleUnits naming each changed unit."""
    if not seen:
        return
    changes = changes_since(units=units, seen=seen, viewer=viewer)
    if changes:
        raise StaleUnits(changes)


def record_entries(
    *,
    units: Sequence[Unit],
    kind: str,
    to_state: str,
    actor: User,
    to_custodian_id=KEEP,
    on_behalf_of_id: int | None = None,
    transfer: Transfer | None = None,
    note: str = "",
    extra: dict | None = None,
    entry_extra: dict | None = None,
    unit_entry_extra: dict[int, dict] | None = None,
) -> list[CustodyEntry]:
    """Append one ledger entry per (locked) unit and move the units to match, in two queries.

    Callers pass units they locked in this transaction; all of them go to the same state (and
    custodian, unless KEEP), so a single UPDATE applies the change. `entry_extra` sets ledger
    columns on every entry, `unit_entry_extra` (by unit id) on one unit's entry.
    """
    if not units:
        return []
    now = timezone.now()
    entries = []
    touched: set[tuple[int, int]] = set()  # (location, product) pairs whose par may change
    for unit in units:
        new_custodian = unit.custodian_id if to_custodian_id is KEEP else to_custodian_id
        from_location = unit.location_id
        to_location = (extra or {}).get("location_id", from_location)
        touched |= {(loc, unit.product_id) for loc in (from_location, to_location) if loc}
        entries.append(
            CustodyEntry(
                organization_id=unit.organization_id,
                unit=unit,
                sequence=unit.ledger_seq + 1,
                kind=kind,
                from_custodian_id=unit.custodian_id,
                to_custodian_id=new_custodian,
                from_state=unit.state,
                to_state=to_state,
                actor=actor,
                on_behalf_of_id=on_behalf_of_id,
                transfer=transfer,
                at=now,
                note=note[:500],
                from_location_id=from_location,
                to_location_id=to_location,
                **(entry_extra or {}),
                **(unit_entry_extra or {}).get(unit.pk, {}),
            )
        )
        unit.ledger_seq += 1
        unit.custodian_id = new_custodian
        unit.state = to_state
        for field, value in (extra or {}).items():
            setattr(unit, field, value)
    CustodyEntry.objects.bulk_create(entries)
    updates = {"state": to_state, "ledger_seq": F("ledger_seq") + 1, **(extra or {})}
    if to_custodian_id is not KEEP:
        updates["custodian_id"] = to_custodian_id
    Unit.objects.filter(pk__in=[u.pk for u in units]).update(**updates)
    check_after_commit(pairs=touched)
    return entries


def state_problem(unit: Unit) -> str:
    """Why a unit that is not available cannot move, naming what holds it."""
    if unit.state == UnitState.IN_TRANSIT:
        line = (
            TransferLine.objects.filter(unit=unit, transfer__status=Transfer.Status.PENDING)
            .select_related("transfer__recipient")
            .first()
        )
        if line:
            to = line.transfer.recipient or "the organization"
            return f"{unit.label} is already in transit to {to} (transfer #{line.transfer_id})."
        return f"{unit.label} is already in transit."
    return f"{unit.label} is {unit.get_state_display().lower()}, not available."


def holder_name(user: User | None) -> str:
    return str(user) if user is not None else "the organization"
