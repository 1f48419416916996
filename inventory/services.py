"""Every write to inventory. Each function is one transaction: all of it happens, or none.

Concurrency: units are locked with SELECT ... FOR UPDATE in primary-key order before they are
read for a decision (transfers lock their own row first, then their units), so two requests
for the same unit serialize and the second sees the first one's result. The unique
(unit, sequence) constraint on the ledger is the backstop.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from accounts.mail import send_after_commit
from accounts.models import NotificationKind, Role, User
from accounts.policies import Actor
from accounts.policies import on_behalf_of as behalf_of
from accounts.selectors import actor_for
from accounts.services import notify
from config import csvsafe

from . import notices, par, policies, selectors
from .models import (
    CustodyEntry,
    EntryKind,
    Job,
    JobChunk,
    Location,
    Product,
    Recall,
    RecallUnit,
    Transfer,
    TransferLine,
    Unit,
    UnitState,
)
from .udi import Udi, UdiError, parse_udi

KEEP = object()  # "custodian unchanged" for record_entries
NOT_FOUND = "A selected unit was not found."
# What a recall quarantines, when it is recorded or when a unit comes back from a transfer or
# an event later: stock that sits on a shelf. In transit and allocated units are left alone.
QUARANTINABLE_STATES = (UnitState.AVAILABLE, UnitState.HOLD, UnitState.FACILITY_STOCK)


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
) -> list[CustodyEntry]:
    """Append one ledger entry per (locked) unit and move the units to match, in two queries.

    Callers pass units they locked in this transaction; all of them go to the same state (and
    custodian, unless KEEP), so a single UPDATE applies the change.
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
    par.check_after_commit(pairs=touched)
    return entries


def _state_problem(unit: Unit) -> str:
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


def _holder_name(user: User | None) -> str:
    return str(user) if user is not None else "the organization"


def _check_recipient(actor_user: User, recipient: User | None) -> None:
    if recipient is None:
        return
    if recipient.organization_id != actor_user.organization_id:
        raise ValidationError({"recipient": "Choose a recipient of your organization."})
    if not recipient.is_active:
        raise ValidationError({"recipient": f"{recipient} is deactivated."})
    if recipient.role not in (Role.DISTRIBUTOR, Role.REP):
        raise ValidationError(
            {"recipient": "Admins hold no stock; send it to organization custody instead."}
        )


@transaction.atomic
def transfer_create(
    *,
    actor: User,
    unit_ids: Sequence[int],
    recipient: User | None,
    note: str = "",
    to_location: Location | None = None,
) -> list[Transfer]:
    """Start moving units to `recipient` (None = organization custody). All or nothing.

    Units of several holders make one transfer per holder. Each transfer is pending (its units
    `in_transit`) until the recipient's side accepts, unless the starter answers for the
    recipient: then it completes at once. A distributor or admin moving a rep's stock is
    recorded as acting on that rep's behalf. Raises ValidationError naming every unit that
    cannot move (not found or out of scope, not available, already with the recipient).
    Once accepted, the units sit at `to_location` (a new holder's trunk or bin), or nowhere
    recorded if none is given: the sender's shelf is no longer where they are.
    """
    who = actor_for(actor)
    _check_transfer_request(actor, unit_ids=unit_ids, recipient=recipient, to_location=to_location)
    units = lock_units(unit_ids, organization_id=actor.organization_id)
    problems = _transfer_problems(who, units=units, unit_ids=unit_ids, recipient=recipient)
    if problems:
        raise ValidationError(problems)
    by_sender: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        by_sender[unit.custodian_id].append(unit)
    recipient_id = recipient.pk if recipient else None
    # Recalled units going back to the organization for return need nobody's acceptance: the
    # organization takes its recalled stock back whoever sends it.
    at_once = policies.completes_at_once(
        actor=who, recipient_id=recipient_id, organization_id=actor.organization_id
    ) or all(u.state == UnitState.QUARANTINED for u in units)
    return [
        _send_from_one_holder(
            actor,
            who,
            sender_id=sender_id,
            units=sender_units,
            recipient_id=recipient_id,
            at_once=at_once,
            note=note,
            to_location=to_location,
        )
        for sender_id, sender_units in by_sender.items()
    ]


def _check_transfer_request(
    actor: User, *, unit_ids: Sequence[int], recipient: User | None, to_location: Location | None
) -> None:
    if to_location is not None and to_location.organization_id != actor.organization_id:
        raise ValidationError({"to_location": "Choose a location of your organization."})
    if not unit_ids:
        raise ValidationError("Select at least one unit to transfer.")
    _check_recipient(actor, recipient)
    # A location is its holder's shelf: units go to one the recipient holds, or to none.
    if to_location is not None and to_location.holder_id != (recipient.pk if recipient else None):
        raise ValidationError(
            {
                "to_location": f"{to_location} is held by {_holder_name(to_location.holder)}: "
                f"choose a location of {_holder_name(recipient)}, or none."
            }
        )


def _transfer_problems(
    who: Actor, *, units: list[Unit], unit_ids: Sequence[int], recipient: User | None
) -> list[str]:
    """Every reason the locked units cannot move to the recipient, one line per unit."""
    recipient_id = recipient.pk if recipient else None
    problems = []
    # Missing and out of scope answer the same one line, naming neither.
    not_found = len(units) != len(set(unit_ids))
    recalls = active_recalls_for(unit_ids=[u.pk for u in units])
    returning = any(u.state == UnitState.QUARANTINED for u in units)
    for unit in units:
        if not policies.can_act_on_unit(actor=who, unit=unit):
            not_found = True
        elif unit.state == UnitState.QUARANTINED and recipient_id is not None:
            problems.append(
                f"{policies.recall_refusal(unit, recalls.get(unit.pk))} It can only go back to "
                "organization custody for return."
            )
        elif unit.state == UnitState.QUARANTINED:
            continue  # back to the organization for return; it stays quarantined
        elif unit.state != UnitState.AVAILABLE:
            problems.append(_state_problem(unit))
        elif unit.custodian_id == recipient_id:
            problems.append(f"{unit.label} is already in {_holder_name(recipient)}'s custody.")
        elif returning:
            problems.append(
                f"{unit.label} is not recalled: send quarantined units back for return on "
                "their own transfer."
            )
    return [NOT_FOUND, *problems] if not_found else problems


def _send_from_one_holder(
    actor: User,
    who: Actor,
    *,
    sender_id: int | None,
    units: list[Unit],
    recipient_id: int | None,
    at_once: bool,
    note: str,
    to_location: Location | None,
) -> Transfer:
    """One transfer of one holder's units: sent (in transit), and accepted at once when the
    starter answers for the recipient."""
    behalf = behalf_of(actor=who, holder_id=sender_id)
    now = timezone.now()
    transfer = Transfer.objects.create(
        organization_id=actor.organization_id,
        sender_id=sender_id,
        recipient_id=recipient_id,
        started_by=actor,
        on_behalf_of_id=behalf,
        to_location=to_location,
        status=Transfer.Status.COMPLETED if at_once else Transfer.Status.PENDING,
        note=note[:500],
        created_at=now,
        resolved_at=now if at_once else None,
        resolved_by=actor if at_once else None,
    )
    TransferLine.objects.bulk_create([TransferLine(transfer=transfer, unit=u) for u in units])
    # A recalled unit sent back for return stays quarantined all the way.
    quarantined = all(u.state == UnitState.QUARANTINED for u in units)
    record_entries(
        units=units,
        kind=EntryKind.TRANSFER_SENT,
        to_state=UnitState.QUARANTINED if quarantined else UnitState.IN_TRANSIT,
        actor=actor,
        on_behalf_of_id=behalf,
        transfer=transfer,
        note=note,
    )
    if at_once:
        record_entries(
            units=units,
            kind=EntryKind.TRANSFER_ACCEPTED,
            to_state=UnitState.QUARANTINED if quarantined else UnitState.AVAILABLE,
            to_custodian_id=recipient_id,
            actor=actor,
            on_behalf_of_id=behalf_of(actor=who, holder_id=recipient_id),
            transfer=transfer,
            note="Recalled units back to the organization for return."
            if quarantined
            else "Completed at once: the starter speaks for the recipient.",
            extra={"location_id": to_location.pk if to_location else None},
        )
    notices.transfer_started(
        actor=actor,
        transfer=transfer,
        units=units,
        recipient_acted_for=behalf_of(actor=who, holder_id=recipient_id) if at_once else None,
    )
    return transfer


def _locked_pending_transfer(transfer: Transfer) -> tuple[Transfer, list[Unit]]:
    locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status != Transfer.Status.PENDING:
        raise ValidationError(
            f"Transfer #{locked.pk} is already {locked.get_status_display().lower()}."
        )
    units = lock_units(
        locked.lines.values_list("unit_id", flat=True), organization_id=locked.organization_id
    )
    return locked, units


@transaction.atomic
def transfer_accept(*, actor: User, transfer: Transfer) -> Transfer:
    """The recipient (or their distributor, or an admin) takes custody of the units."""
    who = actor_for(actor)
    transfer, units = _locked_pending_transfer(transfer)
    if not policies.can_answer_transfer(actor=who, transfer=transfer):
        raise PermissionDenied("Only the recipient, their distributor or an admin can accept.")
    recalls = active_recalls_for(unit_ids=[u.pk for u in units])
    if recalls:
        raise ValidationError(
            [
                f"{policies.recall_refusal(u, recalls[u.pk])} Decline or cancel the transfer: "
                "the unit is then quarantined."
                for u in units
                if u.pk in recalls
            ]
        )
    record_entries(
        units=units,
        kind=EntryKind.TRANSFER_ACCEPTED,
        to_state=UnitState.AVAILABLE,
        to_custodian_id=transfer.recipient_id,
        actor=actor,
        on_behalf_of_id=behalf_of(actor=who, holder_id=transfer.recipient_id),
        transfer=transfer,
        extra={"location_id": transfer.to_location_id},
    )
    _resolve(transfer, actor, Transfer.Status.COMPLETED)
    notices.transfer_accepted(
        actor=actor,
        transfer=transfer,
        units=units,
        recipient_acted_for=behalf_of(actor=who, holder_id=transfer.recipient_id),
    )
    return transfer


@transaction.atomic
def transfer_decline(*, actor: User, transfer: Transfer, reason: str) -> Transfer:
    """Refuse the units: they go back to the sender in `hold` until an admin releases them."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you decline: the sender and an admin read it."})
    who = actor_for(actor)
    transfer, units = _locked_pending_transfer(transfer)
    if not policies.can_answer_transfer(actor=who, transfer=transfer):
        raise PermissionDenied("Only the recipient, their distributor or an admin can decline.")
    record_entries(
        units=units,
        kind=EntryKind.TRANSFER_DECLINED,
        to_state=UnitState.HOLD,
        actor=actor,
        on_behalf_of_id=behalf_of(actor=who, holder_id=transfer.recipient_id),
        transfer=transfer,
        note=reason,
    )
    quarantine_recalled(actor=actor, units=units)
    transfer.decline_reason = reason[:500]
    _resolve(transfer, actor, Transfer.Status.DECLINED)
    notices.transfer_declined(actor=actor, transfer=transfer, units=units)
    return transfer


@transaction.atomic
def transfer_cancel(*, actor: User, transfer: Transfer) -> Transfer:
    """The starter (or an admin) takes a pending transfer back; units are available again."""
    who = actor_for(actor)
    transfer, units = _locked_pending_transfer(transfer)
    if not policies.can_cancel_transfer(actor=who, transfer=transfer):
        raise PermissionDenied("Only whoever started the transfer (or an admin) can cancel it.")
    record_entries(
        units=units,
        kind=EntryKind.TRANSFER_CANCELLED,
        to_state=UnitState.AVAILABLE,
        actor=actor,
        on_behalf_of_id=transfer.on_behalf_of_id,
        transfer=transfer,
    )
    quarantine_recalled(actor=actor, units=units)
    _resolve(transfer, actor, Transfer.Status.CANCELLED)
    notices.transfer_cancelled(actor=actor, transfer=transfer, units=units)
    return transfer


def _resolve(transfer: Transfer, actor: User, status: str) -> None:
    transfer.status = status
    transfer.resolved_at = timezone.now()
    transfer.resolved_by = actor
    transfer.save(update_fields=["status", "resolved_at", "resolved_by", "decline_reason"])


@transaction.atomic
def units_release_hold(*, actor: User, unit_ids: Sequence[int], note: str = "") -> list[Unit]:
    """An admin reviews declined units and makes them available again with their holder."""
    who = actor_for(actor)
    if not who.is_admin:
        raise PermissionDenied("Only an admin releases units on hold.")
    units = lock_units(unit_ids, organization_id=who.organization_id)
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


# --- Receiving -------------------------------------------------------------------------------


@dataclass
class ReceiveLine:
    """One unit (or a lot quantity) to receive; `line` is the CSV line number, when any."""

    product: Product
    lot_number: str = ""
    serial_numbers: Sequence[str] = ()
    quantity: int = 1
    expiration_date: datetime.date | None = None
    location: Location | None = None
    udi: str = ""
    line: int | None = None


def _check_receiver(actor: User, custodian: User | None) -> None:
    who = actor_for(actor)
    if not policies.can_receive(actor=who):
        raise PermissionDenied("Only admins and distributors receive stock.")
    if custodian is not None:
        _check_recipient(actor, custodian)
    if not policies.can_receive_into(actor=who, custodian_id=custodian.pk if custodian else None):
        raise ValidationError({"custodian": "Distributors receive stock into their own custody."})


MAX_CODE = 64  # serial and lot numbers (the columns' length)


def _expand(line: ReceiveLine, problems: list[str]) -> list[dict]:
    prefix = f"Line {line.line}: " if line.line else ""
    serials = [s.strip() for s in line.serial_numbers if s and s.strip()]
    too_long = [s for s in [*serials, line.lot_number] if len(s) > MAX_CODE]
    if too_long:
        problems.append(
            f"{prefix}serial and lot numbers have at most {MAX_CODE} characters "
            f"('{too_long[0][:20]}…' has {len(too_long[0])})."
        )
        return []
    if any("\x00" in s for s in [*serials, line.lot_number]):
        problems.append(f"{prefix}a serial or lot number contains a NUL character.")
        return []
    if line.product.tracking == Product.Tracking.SERIAL:
        if not serials:
            problems.append(
                f"{prefix}{line.product.catalog_number} is tracked by serial number: give one per unit."
            )
            return []
        if line.quantity not in (1, len(serials)) and line.quantity:
            problems.append(
                f"{prefix}quantity {line.quantity} does not match {len(serials)} serial number(s)."
            )
            return []
        return [{"serial_number": s} for s in serials]
    if not line.lot_number:
        problems.append(
            f"{prefix}{line.product.catalog_number} is tracked by lot: give the lot number."
        )
        return []
    if serials:
        return [{"serial_number": s} for s in serials]
    cap = settings.RECEIVE_MAX_QUANTITY
    if not 1 <= line.quantity <= cap:
        problems.append(f"{prefix}quantity must be between 1 and {cap:,} (the limit per line).")
        return []
    return [{"serial_number": ""} for _ in range(line.quantity)]


@transaction.atomic
def units_receive(
    *,
    actor: User,
    lines: Sequence[ReceiveLine],
    custodian: User | None,
    note: str = "",
) -> list[Unit]:
    """Create units (serials, or a lot quantity) in `custodian`'s custody. All or nothing.

    Raises ValidationError listing every problem (with CSV line numbers when given): wrong
    tracking data, serials duplicated in the input or already on record for the product.
    """
    return _receive(actor, lines, custodian=custodian, note=note, cap=settings.IMPORT_MAX_UNITS)


def _receive(
    actor: User, lines: Sequence[ReceiveLine], *, custodian: User | None, note: str, cap: int
) -> list[Unit]:
    """units_receive with the limit of units given (a background import's is higher); runs
    inside the caller's transaction."""
    _check_receiver(actor, custodian)
    if _units_planned(lines) > cap:
        raise ValidationError(
            f"That would create {_units_planned(lines):,} units; one receiving creates at most "
            f"{cap:,}. Split it."
        )
    problems: list[str] = []
    planned = _plan_units(actor, lines, problems, custodian=custodian)
    problems += _serial_problems(planned)
    if not planned and not problems:
        problems.append("Nothing to receive.")
    if problems:
        raise ValidationError(problems)
    return _create_received_units(actor, planned, custodian=custodian, note=note)


def _plan_units(
    actor: User, lines: Sequence[ReceiveLine], problems: list[str], *, custodian: User | None
) -> list[tuple[ReceiveLine, dict]]:
    """One (line, unit fields) pair per unit to create; what cannot be planned goes to
    `problems`. A line's location must be one the custodian holds (a location is its holder's
    shelf; organization custody goes to the organization's own locations)."""
    custodian_id = custodian.pk if custodian else None
    planned: list[tuple[ReceiveLine, dict]] = []
    for line in lines:
        if line.product.organization_id != actor.organization_id:
            problems.append("Unknown product.")
            continue
        if line.location is not None and line.location.organization_id != actor.organization_id:
            problems.append("Unknown location.")
            continue
        if line.location is not None and line.location.holder_id != custodian_id:
            prefix = f"Line {line.line}: " if line.line else ""
            problems.append(
                f"{prefix}{line.location} is held by {_holder_name(line.location.holder)}, not "
                f"{_holder_name(custodian)}: receive into a location of the custodian, or none."
            )
            continue
        planned.extend((line, fields) for fields in _expand(line, problems))
    return planned


def _serial_problems(planned: list[tuple[ReceiveLine, dict]]) -> list[str]:
    """Serials given twice in the input, and serials already on record for their product."""
    problems = []
    seen: dict[tuple[int, str], int | None] = {}
    for line, fields in planned:
        serial = fields["serial_number"]
        if not serial:
            continue
        key = (line.product.pk, serial)
        prefix = f"Line {line.line}: " if line.line else ""
        if key in seen:
            where = f" (also on line {seen[key]})" if seen[key] else ""
            problems.append(f"{prefix}serial {serial} appears twice{where}.")
        seen[key] = line.line
    if seen:
        existing = set(
            Unit.objects.filter(
                product_id__in={p for p, _ in seen}, serial_number__in={s for _, s in seen}
            ).values_list("product_id", "serial_number")
        )
        for line, fields in planned:
            key = (line.product.pk, fields["serial_number"])
            if key in existing:
                prefix = f"Line {line.line}: " if line.line else ""
                problems.append(
                    f"{prefix}{line.product.catalog_number} serial {key[1]} is already on record."
                )
    return problems


def _create_received_units(
    actor: User, planned: list[tuple[ReceiveLine, dict]], *, custodian: User | None, note: str
) -> list[Unit]:
    """Insert the planned units and their "received" ledger entries (sequence 1)."""
    now = timezone.now()
    units = [
        Unit(
            organization_id=actor.organization_id,
            product=line.product,
            serial_number=fields["serial_number"],
            lot_number=line.lot_number,
            expiration_date=line.expiration_date,
            udi=line.udi,
            custodian=custodian,
            location=line.location,
            state=UnitState.AVAILABLE,
            ledger_seq=1,
            created_at=now,
        )
        for line, fields in planned
    ]
    try:
        with transaction.atomic():
            Unit.objects.bulk_create(units)
    except IntegrityError as exc:  # a concurrent receive took a serial first
        raise ValidationError(
            "A serial number was just received by someone else; try again."
        ) from exc
    CustodyEntry.objects.bulk_create(
        CustodyEntry(
            organization_id=actor.organization_id,
            unit=unit,
            sequence=1,
            kind=EntryKind.RECEIVED,
            from_custodian=None,
            to_custodian=custodian,
            from_state="",
            to_state=UnitState.AVAILABLE,
            actor=actor,
            at=now,
            note=note[:500],
            to_location_id=unit.location_id,
        )
        for unit in units
    )
    _quarantine_on_receipt(actor, units)
    par.check_after_commit(pairs={(u.location_id, u.product_id) for u in units if u.location_id})
    return units


def _quarantine_on_receipt(actor: User, units: Sequence[Unit]) -> None:
    """Units received into a lot or serial that an active recall names join that recall and
    are quarantined at once: a "quarantined" entry naming the recall follows the "received"
    one; custody and location stay as received. Quarantine rather than refusal, because the
    units are physically here and must be accounted for and returned like the rest. When
    several active recalls name a unit, it joins each and the earliest recorded is named.
    One query for the recalls of the products received (a handful), then the inserts."""
    active = list(
        Recall.objects.filter(
            organization_id=actor.organization_id,
            status=Recall.Status.ACTIVE,
            product_id__in={u.product_id for u in units},
        ).order_by("pk")
    )
    if not active:
        return
    joined: list[RecallUnit] = []
    by_recall: dict[int, list[Unit]] = defaultdict(list)
    for unit in units:
        named = [
            r
            for r in active
            if r.product_id == unit.product_id
            and (
                (unit.lot_number and unit.lot_number in r.lot_numbers)
                or (unit.serial_number and unit.serial_number in r.serial_numbers)
            )
        ]
        joined += [RecallUnit(recall=r, unit=unit, found_state=unit.state) for r in named]
        if named:
            by_recall[named[0].pk].append(unit)
    RecallUnit.objects.bulk_create(joined)
    recalls = {r.pk: r for r in active}
    for recall_id, group in by_recall.items():
        recall = recalls[recall_id]
        record_entries(
            units=group,
            kind=EntryKind.QUARANTINED,
            to_state=UnitState.QUARANTINED,
            actor=actor,
            note=f"Received into recall {recall.reference} ({recall.get_recall_class_display()})",
            entry_extra={"recall_id": recall_id},
        )


def product_for_udi(*, organization_id: int, udi: Udi) -> Product:
    product = Product.objects.filter(organization_id=organization_id, gtin=udi.gtin).first()
    if product is None:
        raise ValidationError(
            f"No product in the catalog has GTIN {udi.gtin}. Add the GTIN to the product first."
        )
    return product


@transaction.atomic
def unit_receive_udi(
    *, actor: User, raw: str, custodian: User | None, location: Location | None = None
) -> Unit:
    """Receive one unit from a scanned or pasted GS1 UDI (GTIN finds the product)."""
    try:
        udi = parse_udi(raw)
    except UdiError as exc:
        raise ValidationError({"udi": str(exc)}) from exc
    product = product_for_udi(organization_id=actor.organization_id, udi=udi)
    if product.tracking == Product.Tracking.SERIAL and not udi.serial:
        raise ValidationError(
            {
                "udi": f"{product.catalog_number} is serial-tracked but the barcode has no serial (21)."
            }
        )
    line = ReceiveLine(
        product=product,
        lot_number=udi.lot,
        serial_numbers=[udi.serial] if udi.serial else (),
        quantity=1,
        expiration_date=udi.expiry,
        location=location,
        udi=udi.raw,
    )
    (unit,) = units_receive(
        actor=actor, lines=[line], custodian=custodian, note="Received by UDI scan"
    )
    return unit


CSV_COLUMNS = [
    "catalog_number",
    "serial_number",
    "lot_number",
    "expiration_date",
    "quantity",
    "location",
    "custodian",
]
CSV_MAX_BYTES = 5 * 1024 * 1024


@dataclass
class _CsvRow:
    line: int  # the line the row starts on, as a spreadsheet numbers it
    values: dict[str, str]


@dataclass
class _ImportLookups:
    """The organization's products, locations and holders, by the lower-cased names a file
    uses, fetched once per import."""

    products: dict[str, Product]
    locations: dict[str, Location]
    holders: dict[str, User]

    @classmethod
    def for_organization(cls, organization_id: int) -> _ImportLookups:
        return cls(
            products={
                p.catalog_number.lower(): p
                for p in Product.objects.filter(organization_id=organization_id)
            },
            locations={
                loc.name.lower(): loc
                for loc in Location.objects.filter(organization_id=organization_id)
            },
            holders={
                u.username.lower(): u
                for u in User.objects.filter(
                    organization_id=organization_id, role__in=[Role.DISTRIBUTOR, Role.REP]
                )
            },
        )


def _csv_text(data: bytes, max_bytes: int = CSV_MAX_BYTES) -> str:
    """The upload as text, or a ValidationError saying why it is not a CSV text file."""
    if len(data) > max_bytes:
        raise ValidationError(
            f"That file is larger than {max_bytes // (1024 * 1024)} MB; split it."
        )
    if b"\x00" in data:
        raise ValidationError("The file contains NUL bytes: it is not a CSV text file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text; save it as CSV (UTF-8).") from exc


def _csv_rows_strict(text: str, max_units: int | None = None) -> tuple[list[_CsvRow], list[str]]:
    """Parse strictly: the well-formed rows, and a numbered problem for each line that is not
    (a quote that never closes, text after a closing quote, more or fewer values than the
    header names), never guessed at. Blank lines are skipped. A file without a header, or
    with more rows than one import may create units for (each row creates at least one), is
    refused at once."""
    reader = csv.reader(io.StringIO(text), strict=True)
    max_units = settings.IMPORT_MAX_UNITS if max_units is None else max_units
    rows: list[_CsvRow] = []
    problems: list[str] = []
    header: list[str] | None = None
    last_line = 0
    try:
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(value.strip() for value in record):
                continue
            if header is None:
                header = _csv_header(record)
                continue
            if len(record) != len(header):
                problems.append(
                    f"Line {start}: {len(record)} value(s), but the header names "
                    f"{len(header)} column(s)."
                )
                continue
            rows.append(
                _CsvRow(
                    start, {col: value.strip() for col, value in zip(header, record, strict=True)}
                )
            )
            if len(rows) > max_units:
                raise ValidationError(
                    f"The file has more than {max_units:,} rows; one import creates at most "
                    f"{max_units:,} units. Split the file."
                )
    except csv.Error as exc:
        problems.append(
            f"Line {last_line + 1}: the file cannot be read from here ({exc}); "
            "is a quote left open?"
        )
    if header is None:
        raise ValidationError(
            "The first row must name the columns: " + ", ".join(CSV_COLUMNS) + "."
        )
    if not rows and not problems:
        raise ValidationError("The file has a header but no rows.")
    return rows, problems


def _csv_header(record: list[str]) -> list[str]:
    header = [h.strip().lower() for h in record]
    if "catalog_number" not in header:
        raise ValidationError(
            "The first row must name the columns: " + ", ".join(CSV_COLUMNS) + "."
        )
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown:
        raise ValidationError(f"Unknown column(s): {', '.join(unknown)}.")
    return header


def _csv_receive_line(
    row: _CsvRow, *, who, lookups: _ImportLookups, default_custodian: User | None
) -> tuple[User | None, ReceiveLine | None, list[str]]:
    """One row checked against the organization: (custodian, the line to receive, problems)."""
    get = lambda col: row.values.get(col, "")  # noqa: E731
    problems = []
    product = lookups.products.get(get("catalog_number").lower())
    if product is None:
        problems.append(f"unknown catalog number '{get('catalog_number')}'")
    expiry = None
    if get("expiration_date"):
        try:
            expiry = datetime.date.fromisoformat(get("expiration_date"))
        except ValueError:
            problems.append(f"expiration_date '{get('expiration_date')}' is not YYYY-MM-DD")
    quantity = 1
    if get("quantity"):
        try:
            quantity = int(get("quantity"))
        except ValueError:
            problems.append(f"quantity '{get('quantity')}' is not a whole number")
    cap = settings.RECEIVE_MAX_QUANTITY
    if not 1 <= quantity <= cap:
        problems.append(f"quantity must be between 1 and {cap:,} per row (limit {cap:,})")
    location = None
    if get("location"):
        location = lookups.locations.get(get("location").lower())
        if location is None:
            problems.append(f"unknown location '{get('location')}'")
    custodian = default_custodian
    if get("custodian"):
        if get("custodian").lower() == "organization":
            custodian = None
        else:
            custodian = lookups.holders.get(get("custodian").lower())
            if custodian is None:
                problems.append(f"unknown holder '{get('custodian')}'")
            elif not custodian.is_active:
                problems.append(f"holder '{get('custodian')}' is deactivated")
    if not problems and not policies.can_receive_into(
        actor=who, custodian_id=custodian.pk if custodian else None
    ):
        problems.append(
            f"you can receive only into your own custody, not {custodian or 'the organization'}'s"
        )
    if problems:
        return custodian, None, problems
    line = ReceiveLine(
        product=product,
        lot_number=get("lot_number"),
        serial_numbers=[get("serial_number")] if get("serial_number") else (),
        quantity=quantity,
        expiration_date=expiry,
        location=location,
        line=row.line,
    )
    return custodian, line, []


def _repeated_serial(line: ReceiveLine, first_line: dict[tuple[int, str], int]) -> str:
    """A problem when the row's serial appeared on an earlier row of the file (rows for
    different holders land in different receive calls, so no single call would see it)."""
    for serial in line.serial_numbers:
        key = (line.product.pk, serial)
        if key in first_line:
            return (
                f"Line {line.line}: serial {serial} appears twice (also on line {first_line[key]})."
            )
        first_line[key] = line.line
    return ""


def _units_planned(lines: Iterable[ReceiveLine]) -> int:
    return sum(len(line.serial_numbers) or line.quantity for line in lines)


@transaction.atomic
def units_import_csv(*, actor: User, data: bytes, default_custodian: User | None) -> list[Unit]:
    """Import units from CSV: all or nothing, every bad row reported with its line number.

    Columns (header row required): catalog_number, serial_number, lot_number,
    expiration_date (YYYY-MM-DD), quantity (lot-tracked, default 1), location (name, optional),
    custodian (username, optional; defaults to `default_custodian`).

    Permission is checked before the file is read. Parsing is strict (see _csv_rows_strict).
    One row creates at most settings.RECEIVE_MAX_QUANTITY units and one file at most
    settings.IMPORT_MAX_UNITS (rows x quantity); the messages name the limits. A larger file
    goes to the background (units_import_begin).
    """
    cap = settings.IMPORT_MAX_UNITS
    plan = _import_plan(
        actor=actor,
        data=data,
        default_custodian=default_custodian,
        cap=cap,
        max_bytes=CSV_MAX_BYTES,
    )
    return _import_insert(actor, plan, cap=cap)


@dataclass
class _ImportPlan:
    """The checked rows of an import, by custodian, and the problems found so far."""

    by_custodian: dict[int | None, tuple[User | None, list[ReceiveLine]]]
    problems: list[str]


def _import_plan(
    *,
    actor: User,
    data: bytes,
    default_custodian: User | None,
    cap: int,
    max_bytes: int,
    progress: Callable[[int, int], None] | None = None,
) -> _ImportPlan:
    """The validation pass of an import: reads only, so a background job runs it outside any
    transaction and commits `progress(rows checked, rows)` as it goes. Raises ValidationError
    when the file cannot be read at all or would create more than `cap` units."""
    who = actor_for(actor)
    if not policies.can_receive(actor=who):
        raise PermissionDenied("Only admins and distributors receive stock.")
    rows, problems = _csv_rows_strict(_csv_text(data, max_bytes), max_units=cap)
    lookups = _ImportLookups.for_organization(actor.organization_id)
    accepted: list[ReceiveLine] = []
    first_line: dict[tuple[int, str], int] = {}
    by_custodian: dict[int | None, tuple[User | None, list[ReceiveLine]]] = {}
    step = max(1, len(rows) // 100)
    for done, row in enumerate(rows, start=1):
        if progress is not None and (done % step == 0 or done == len(rows)):
            progress(done, len(rows))
        custodian, line, row_problems = _csv_receive_line(
            row, who=who, lookups=lookups, default_custodian=default_custodian
        )
        if row_problems:
            problems.append(f"Line {row.line}: " + "; ".join(row_problems) + ".")
            continue
        repeated = _repeated_serial(line, first_line)
        if repeated:
            problems.append(repeated)
            continue
        accepted.append(line)
        key = custodian.pk if custodian else None
        by_custodian.setdefault(key, (custodian, []))[1].append(line)
    planned = _units_planned(accepted)
    if planned > cap:  # refused before any unit is made: the work itself is the harm
        raise ValidationError(
            [
                f"This file would create {planned:,} units; one import creates at most {cap:,}. "
                "Split the file.",
                *problems,
            ]
        )
    return _ImportPlan(by_custodian=by_custodian, problems=problems)


def _import_insert(actor: User, plan: _ImportPlan, *, cap: int) -> list[Unit]:
    """The insert of an import, inside the caller's transaction; raises ValidationError with
    every problem (the caller's rollback then undoes the units made)."""
    problems = list(plan.problems)
    # Rows that passed are still received (and rolled back by the caller) so that their own
    # problems, such as serials already on record, are reported together with the rest.
    received: list[Unit] = []
    for custodian, lines in plan.by_custodian.values():
        try:
            received += _receive(actor, lines, custodian=custodian, note="CSV import", cap=cap)
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ValidationError(problems)
    return received


# --- Background imports and exports (inventory.Job) -------------------------------------------
#
# A job's file and its result are JobChunk rows: any app server shows its progress and serves
# its result, and no server keeps anything on disk. The worker commits progress as it goes,
# outside the transaction that makes the job's effect, so a person watching sees it move.

MAX_JOB_PROBLEMS = 1000  # an import's line errors kept on the job (the rest are counted)


def _rows_units(rows: list[_CsvRow]) -> int:
    """The units a parsed file asks for (rows x quantity), before any row is checked."""
    total = 0
    for row in rows:
        try:
            quantity = int(row.values.get("quantity") or 1)
        except ValueError:
            quantity = 1
        total += max(quantity, 1)
    return total


def _store_chunks(job: Job, part: str, data: bytes) -> None:
    size = settings.JOB_CHUNK_BYTES
    JobChunk.objects.bulk_create(
        JobChunk(job=job, part=part, seq=seq, data=data[start : start + size])
        for seq, start in enumerate(range(0, len(data), size))
    )


@transaction.atomic
def units_import_begin(
    *, actor: User, data: bytes, default_custodian: User | None, filename: str = ""
) -> list[Unit] | Job:
    """Import units from CSV at once (units_import_csv) when the file asks for at most
    settings.IMPORT_MAX_UNITS units, else store the file as a Job and enqueue its import.

    A background import takes up to settings.IMPORT_BACKGROUND_MAX_UNITS units and
    settings.IMPORT_BACKGROUND_MAX_BYTES; a file over those, or one that cannot be read, is
    refused at once with a ValidationError. The job row and its queue entry commit together.
    """
    if not policies.can_receive(actor=actor_for(actor)):
        raise PermissionDenied("Only admins and distributors receive stock.")
    cap = settings.IMPORT_BACKGROUND_MAX_UNITS
    rows, _ = _csv_rows_strict(_csv_text(data, settings.IMPORT_BACKGROUND_MAX_BYTES), max_units=cap)
    asked = _rows_units(rows)
    if asked <= settings.IMPORT_MAX_UNITS and len(data) <= CSV_MAX_BYTES:
        return units_import_csv(actor=actor, data=data, default_custodian=default_custodian)
    if asked > cap:
        raise ValidationError(
            f"This file would create {asked:,} units; one import creates at most {cap:,}. "
            "Split the file."
        )
    job = Job.objects.create(
        organization_id=actor.organization_id,
        owner=actor,
        kind=Job.Kind.IMPORT,
        params={"default_custodian": default_custodian.pk if default_custodian else None},
        filename=filename[:255],
        total=len(rows),
    )
    _store_chunks(job, JobChunk.Part.UPLOAD, data)
    from .tasks import import_units  # the task module imports this one

    import_units.enqueue(organization_id=actor.organization_id, job_id=job.pk)
    return job


def _job_bytes(job: Job, part: str) -> bytes:
    chunks = JobChunk.objects.filter(job=job, part=part).order_by("seq")
    return b"".join(bytes(data) for data in chunks.values_list("data", flat=True))


def job_run_import(*, job_id: int) -> None:
    """Run a background import: a validation pass that commits its progress row by row
    (outside any transaction), then one atomic insert that also marks the job done, so a
    retried job never imports twice. All or nothing: any problem fails the job with every
    numbered line error and creates no unit. The owner is told either way.

    Another run of the same job (the sweeper puts back a slow import) may finish it at any
    moment: every write below touches only an unfinished job, and both endings re-check under
    the job's row lock, so a finished job is never reopened, failed or told again."""
    job = Job.objects.select_related("owner").get(pk=job_id)
    unfinished = Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
    if not unfinished.update(status=Job.Status.RUNNING, stage="Checking rows", processed=0):
        return
    custodian_id = job.params.get("default_custodian")
    default_custodian = (
        User.objects.filter(pk=custodian_id, organization_id=job.organization_id).first()
        if custodian_id
        else None
    )
    cap = settings.IMPORT_BACKGROUND_MAX_UNITS

    def progress(done: int, total: int) -> None:
        unfinished.update(processed=done, total=total)

    try:
        plan = _import_plan(
            actor=job.owner,
            data=_job_bytes(job, JobChunk.Part.UPLOAD),
            default_custodian=default_custodian,
            cap=cap,
            max_bytes=settings.IMPORT_BACKGROUND_MAX_BYTES,
            progress=progress,
        )
        unfinished.update(stage="Saving units")
        with transaction.atomic():
            locked = Job.objects.select_for_update().select_related("owner").get(pk=job.pk)
            if locked.is_finished:
                return
            units = _import_insert(job.owner, plan, cap=cap)
            _job_finish(locked, status=Job.Status.DONE, result_count=len(units))
    except (ValidationError, PermissionDenied) as exc:
        problems = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if locked.is_finished:
                return  # another run finished it, perhaps before this one read the file
            _job_finish(locked, status=Job.Status.FAILED, problems=problems)


@transaction.atomic
def units_export_begin(*, actor: User, params: dict[str, list[str]]) -> Job:
    """Enqueue an export of the unit list as filtered by `params` (the list's GET parameters,
    each a list of values). The worker applies them to what the user may see when it runs."""
    job = Job.objects.create(
        organization_id=actor.organization_id,
        owner=actor,
        kind=Job.Kind.EXPORT,
        params={"filter": params},
    )
    from .tasks import export_units  # the task module imports this one

    export_units.enqueue(organization_id=actor.organization_id, job_id=job.pk)
    return job


class _CommittedProgress:
    """Progress written through a database connection of its own, so it commits while the
    export's read transaction is still open. The row is updated only when nobody holds its
    lock (SKIP LOCKED): progress never waits on, or deadlocks with, the job's own work.
    SQLite (one writer at a time) exports without the read transaction and updates in place."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.own = None
        if connection.vendor == "postgresql":
            self.own = connections.create_connection(DEFAULT_DB_ALIAS)

    # The first key of the export claim's advisory lock (the second is the job's id).
    CLAIM_SPACE = 0x6A6F62  # "job"

    def claim(self) -> bool:
        """Take this job for this run: False when another run holds it. A session lock on the
        progress connection, held until `close` (or until a dead worker's connection drops);
        it blocks no row, so progress and the result keep writing. SQLite runs one writer."""
        if self.own is None:
            return True
        with self.own.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [self.CLAIM_SPACE, self.job_id])
            return bool(cursor.fetchone()[0])

    def set(self, processed: int) -> None:
        if self.own is None:
            Job.objects.filter(pk=self.job_id).update(processed=processed)
            return
        table = Job._meta.db_table
        with self.own.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET processed = %s WHERE id IN "  # noqa: S608 (our own table name)
                f"(SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                [processed, self.job_id],
            )

    def close(self) -> None:
        if self.own is not None:
            self.own.close()


class _ChunkWriter:
    """A file-like target for the CSV writer that saves every settings.JOB_CHUNK_BYTES of text
    as the next result chunk, so memory holds one chunk whatever the export's length."""

    def __init__(self, job: Job):
        self.job = job
        self.buffer = io.StringIO()
        self.seq = 0

    def write(self, text: str) -> None:
        self.buffer.write(text)

    def full(self) -> bool:
        return self.buffer.tell() >= settings.JOB_CHUNK_BYTES

    def save(self) -> None:
        data = self.buffer.getvalue().encode()
        if data:
            JobChunk.objects.create(
                job=self.job, part=JobChunk.Part.RESULT, seq=self.seq, data=data
            )
            self.seq += 1
        self.buffer = io.StringIO()


def job_run_export(*, job_id: int) -> None:
    """Run a background export: every unit the owner may see that the saved filter matches,
    with no row cap, read through a server-side cursor (`iterator`) and written as ~1 MB
    result chunks; memory stays flat however many rows. The chunks and the "done" mark commit
    together (on PostgreSQL one read transaction holds the cursor), so a retried job starts
    over cleanly; progress commits on a connection of its own meanwhile.

    One run at a time: a run first claims the job (a lock held until it ends, released too if
    its worker dies); a second run of the same job, such as a slow export the sweeper put back,
    finds it claimed and does nothing."""
    progress = _CommittedProgress(job_id)
    try:
        if progress.claim():
            _export(job_id, progress)
    finally:
        progress.close()


def _export(job_id: int, progress: _CommittedProgress) -> None:
    job = Job.objects.select_related("owner").get(pk=job_id)
    if job.is_finished:
        return
    user = job.owner
    actor = actor_for(user)
    query = QueryDict(mutable=True)
    for name, values in job.params.get("filter", {}).items():
        query.setlist(name, values)
    _, qs, valid = selectors.filtered_units(
        params=query, actor=actor, queryset=Unit.objects.visible_to(user)
    )
    if not user.is_active or not valid:
        with transaction.atomic():
            _job_finish(job, status=Job.Status.FAILED, problems=["The export could not start."])
        return
    JobChunk.objects.filter(job=job, part=JobChunk.Part.RESULT).delete()  # an earlier try's
    job.total = qs.count()
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, stage="Writing rows", processed=0, total=job.total
    )
    rows = selectors.unit_rows(qs).order_by(*selectors.UNIT_ORDER)
    reading = transaction.atomic() if progress.own is not None else contextlib.nullcontext()
    with reading:
        out = _ChunkWriter(job)
        writer = csvsafe.writer(out)
        writer.writerow(selectors.EXPORT_COLUMNS)
        count = 0
        for unit in rows.iterator(chunk_size=2000):
            writer.writerow(selectors.export_row(unit=unit, actor=actor))
            count += 1
            if out.full():
                out.save()
                progress.set(count)
        out.save()
        with transaction.atomic():
            _job_finish(job, status=Job.Status.DONE, result_count=count)


def job_give_up(*, job_id: int) -> None:
    """Mark a job failed after its last try raised (the error itself is in the worker's log),
    unless another run finished it: the check waits for that run's row lock, so a job that
    run is finishing is not finished (and its owner told) a second time."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if not job.is_finished:
            _job_finish(
                job,
                status=Job.Status.FAILED,
                problems=["The job stopped on an error; try again, or ask an admin."],
            )


def _job_finish(
    job: Job, *, status: str, result_count: int = 0, problems: Sequence[str] = ()
) -> None:
    """Record the outcome (inside the caller's transaction), drop the upload, tell the owner.
    Each caller makes sure a job finishes once: the import's endings and job_give_up re-check
    `is_finished` under the job's row lock; an export checks it once, under its run's claim."""
    kept = list(problems[:MAX_JOB_PROBLEMS])
    if len(problems) > MAX_JOB_PROBLEMS:
        kept.append(f"… and {len(problems) - MAX_JOB_PROBLEMS:,} more problems.")
    job.status, job.stage, job.finished_at = status, "", timezone.now()
    job.result_count, job.problems = result_count, kept
    if status == Job.Status.DONE:
        job.processed = job.total
    job.save(
        update_fields=["status", "stage", "finished_at", "result_count", "problems", "processed"]
    )
    JobChunk.objects.filter(job=job, part=JobChunk.Part.UPLOAD).delete()
    _notify_job_done(job)


def _notify_job_done(job: Job) -> None:
    """The one place a finished job tells its owner, in-app and (unless they turned it off) by
    email; called in the transaction that finishes the job, so a retried job tells once."""
    what = job.get_kind_display().lower()
    outcome = "is done" if job.status == Job.Status.DONE else "failed"
    notify(
        recipients=[job.owner_id],
        kind=NotificationKind.JOB_DONE,
        actor=None,
        organization_id=job.organization_id,
        summary=f"Your {what} #{job.pk} {outcome}",
        url=reverse("inventory:job_detail", args=[job.pk]),
        email_key=f"job-done:{job.pk}",
    )


def jobs_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete jobs finished more than settings.JOB_RESULT_DAYS ago, with their files and
    results. Returns how many jobs went."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.JOB_RESULT_DAYS)
    old = Job.objects.filter(finished_at__lt=cutoff)
    JobChunk.objects.filter(job__in=old).delete()
    deleted, _ = old.delete()
    return deleted


# --- The daily expiry digest ---------------------------------------------------------------------

DIGEST_MAX_LINES = 300  # units listed in one email; the rest are counted, the list links to all


def expiry_digest_enqueue(*, today: datetime.date | None = None) -> int:
    """Enqueue one email per holder listing their units that expired or expire within 30 days,
    grouped by location. Each email's key names the holder and the date, so running this twice
    on one day sends nothing twice. Returns how many emails were enqueued."""
    today = today or timezone.localdate()
    units = selectors.expiry_digest_units(today=today).iterator(chunk_size=2000)
    enqueued = 0
    for _, rows in itertools.groupby(units, key=lambda unit: unit.custodian_id):
        held = list(rows)
        holder = held[0].custodian
        expired, soon, body = _expiry_digest_body(held, today=today)
        with transaction.atomic():
            send_after_commit(
                subject=f"Expiry digest: {expired} expired, {soon} expiring within 30 days",
                body=f"Hello {holder.name},\n\n" + body,
                to=[holder.email],
                organization_id=holder.organization_id,
                key=f"expiry-digest:{holder.pk}:{today.isoformat()}",
            )
        enqueued += 1
    return enqueued


def _expiry_digest_body(units: Iterable[Unit], *, today: datetime.date) -> tuple[int, int, str]:
    """(expired count, expiring count, the text listing them by location)."""
    lines: list[str] = []
    expired = soon = 0
    place = object()
    for unit in units:
        if unit.is_expired(today):
            expired += 1
        else:
            soon += 1
        if expired + soon > DIGEST_MAX_LINES:
            continue
        here = unit.location.name if unit.location else "No location"
        if here != place:
            lines += ["", here]
            place = here
        when = "EXPIRED" if unit.is_expired(today) else "expires"
        which = f"SN {unit.serial_number}" if unit.serial_number else f"lot {unit.lot_number}"
        lines.append(
            f"  {when} {unit.expiration_date}  {unit.product.catalog_number} "
            f"{unit.product.description}  {which}"
        )
    listed = min(expired + soon, DIGEST_MAX_LINES)
    link = settings.SITE_URL + reverse("inventory:unit_list")
    text = (
        f"As of {today}, {expired} unit(s) in your custody have expired and {soon} expire "
        f"within 30 days, by location:\n" + "\n".join(lines) + "\n"
    )
    if listed < expired + soon:
        text += f"\n… and {expired + soon - listed} more.\n"
    text += f"\nSee them: {link}?expiry=expired and {link}?expiry=30\n"
    return expired, soon, text


# --- Catalog and locations ---------------------------------------------------------------------


@transaction.atomic
def product_create(
    *,
    actor: User,
    catalog_number: str,
    description: str,
    manufacturer: str,
    product_line: str = "",
    gtin: str | None = None,
    single_use: bool = True,
    tracking: str = Product.Tracking.SERIAL,
) -> Product:
    """Add a catalog product (admins). Catalog numbers (regardless of case) and GTINs are unique
    per organization: a clash is a ValidationError on that field, and the database's
    constraints catch one that a concurrent request slips in."""
    if not policies.can_manage_catalog(actor=actor_for(actor)):
        raise PermissionDenied("Only admins manage the catalog.")
    product = Product(
        organization_id=actor.organization_id,
        catalog_number=catalog_number,
        description=description,
        manufacturer=manufacturer,
        product_line=product_line,
        gtin=gtin or None,
        single_use=single_use,
        tracking=tracking,
    )
    if clashes := _product_clashes(product):
        raise ValidationError(clashes)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        clashes = _product_clashes(product)
        raise ValidationError(clashes or "That product clashes with one in the catalog.") from exc
    return product


def _product_clashes(product: Product) -> dict[str, str]:
    """Which unique fields of `product` another product of its organization already has."""
    others = Product.objects.filter(organization_id=product.organization_id).exclude(pk=product.pk)
    clashes = {}
    if others.filter(catalog_number__iexact=product.catalog_number).exists():
        clashes["catalog_number"] = "Another product already has this catalog number."
    if product.gtin and others.filter(gtin=product.gtin).exists():
        clashes["gtin"] = "Another product already has this GTIN."
    return clashes


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
        _check_recipient(actor, holder)
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


# --- Moves between one holder's locations ------------------------------------------------------


@transaction.atomic
def units_move(*, actor: User, unit_ids: Sequence[int], to_location: Location) -> list[Unit]:
    """Move units between two locations of the same holder: a "moved" entry per unit; custody
    and state do not change. All or nothing. Whoever the mover acted for is told.

    Whoever may transfer a unit may move it (`policies.can_move_unit`); a quarantined unit
    moves only within organization custody. Refused, naming each unit: not found or out of
    scope, held by someone other than the location's holder (that is a transfer, not a move),
    already there, in transit or allocated or inactive, or quarantined (naming the recall).
    """
    who = actor_for(actor)
    if to_location is None or to_location.organization_id != actor.organization_id:
        raise ValidationError({"to_location": "Choose a location of your organization."})
    if not unit_ids:
        raise ValidationError("Select at least one unit to move.")
    units = lock_units(unit_ids, organization_id=actor.organization_id)
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
                f"{unit.label} is in {_holder_name(unit.custodian)}'s custody and "
                f"{to_location} is {_holder_name(to_location.holder)}'s: transfer it instead."
            )
        elif unit.state == UnitState.QUARANTINED:
            problems.append(
                f"{policies.recall_refusal(unit, recalls.get(unit.pk))} It can only go back to "
                "organization custody for return."
            )
        else:
            problems.append(_state_problem(unit))
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


# --- Recalls: what the transfer and usage services must respect ----------------------------------


def active_recalls_for(*, unit_ids: Iterable[int]) -> dict[int, Recall]:
    """The active recall naming each unit (the earliest recorded, when several do), one query.
    Units no active recall names are left out."""
    ids = set(unit_ids)
    if not ids:
        return {}
    found: dict[int, Recall] = {}
    rows = (
        RecallUnit.objects.filter(unit_id__in=ids, recall__status=Recall.Status.ACTIVE)
        .select_related("recall")
        .order_by("recall_id")
    )
    for row in rows:
        found.setdefault(row.unit_id, row.recall)
    return found


def quarantine_recalled(*, actor: User, units: Sequence[Unit]) -> list[Unit]:
    """Quarantine those of the (locked) units that an active recall names and that are now
    available, on hold or facility stock: a unit freed from a transfer or an event after the
    recall was recorded. Custody and location do not change. Returns the units quarantined."""
    recalls = active_recalls_for(unit_ids=[u.pk for u in units])
    by_recall: dict[int, list[Unit]] = defaultdict(list)
    for unit in units:
        if unit.pk in recalls and unit.state in QUARANTINABLE_STATES:
            by_recall[recalls[unit.pk].pk].append(unit)
    done = []
    for recall_id, group in by_recall.items():
        recall = recalls[group[0].pk]
        record_entries(
            units=group,
            kind=EntryKind.QUARANTINED,
            to_state=UnitState.QUARANTINED,
            actor=actor,
            note=f"Recall {recall.reference}",
            entry_extra={"recall_id": recall_id},
        )
        done += group
    return done
