"""Transfers: start, accept, decline and cancel (README, Transfers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.policies import Actor
from accounts.policies import on_behalf_of as behalf_of
from accounts.selectors import actor_for
from core import outbox
from inventory import notices, payloads, policies
from inventory.models import (
    EntryKind,
    Location,
    Transfer,
    TransferLine,
    Unit,
    UnitState,
)
from inventory.selectors.recalls import active_recalls_for
from inventory.services.ledger import (
    NOT_FOUND,
    check_seen,
    holder_name,
    lock_units,
    record_entries,
    state_problem,
)
from inventory.services.recalls import quarantine_recalled


def check_recipient(actor_user: User, recipient: User | None) -> None:
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
    seen: Mapping[int, int] | None = None,
) -> list[Transfer]:
    """Start moving units to `recipient` (None = organization custody). All or nothing.

    Units of several holders make one transfer per holder. Each transfer is pending (its units
    `in_transit`) until the recipient's side accepts, unless the starter answers for the
    recipient: then it completes at once. A distributor or admin moving a rep's stock is
    recorded as acting on that rep's behalf. Raises ValidationError naming every unit that
    cannot move (not found or out of scope, not available, already with the recipient).
    Once accepted, the units sit at `to_location` (a new holder's trunk or bin), or nowhere
    recorded if none is given: the sender's shelf is no longer where they are.
    `seen` (unit id: ledger sequence the page showed) refuses it all with StaleUnits when a
    unit changed since (`ledger.check_seen`).
    """
    who = actor_for(actor)
    _check_transfer_request(actor, unit_ids=unit_ids, recipient=recipient, to_location=to_location)
    units = lock_units(unit_ids, organization_id=actor.organization_id)
    check_seen(units=units, seen=seen, viewer=actor)
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
    check_recipient(actor, recipient)
    # A location is its holder's shelf: units go to one the recipient holds, or to none.
    if to_location is not None and to_location.holder_id != (recipient.pk if recipient else None):
        raise ValidationError(
            {
                "to_location": f"{to_location} is held by {holder_name(to_location.holder)}: "
                f"choose a location of {holder_name(recipient)}, or none."
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
            problems.append(state_problem(unit))
        elif unit.custodian_id == recipient_id:
            problems.append(f"{unit.label} is already in {holder_name(recipient)}'s custody.")
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
    payloads.emit_transfer(outbox.TRANSFER_CREATED, transfer, units)
    if at_once:
        # Custody changed without anyone's acceptance: a receiver that mirrors custody from
        # "accepted" must hear of it too.
        payloads.emit_transfer(outbox.TRANSFER_ACCEPTED, transfer, units)
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
    payloads.emit_transfer(outbox.TRANSFER_ACCEPTED, transfer, units)
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
    payloads.emit_transfer(outbox.TRANSFER_DECLINED, transfer, units)
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
    payloads.emit_transfer(outbox.TRANSFER_CANCELLED, transfer, units)
    notices.transfer_cancelled(actor=actor, transfer=transfer, units=units)
    return transfer


def _resolve(transfer: Transfer, actor: User, status: str) -> None:
    transfer.status = status
    transfer.resolved_at = timezone.now()
    transfer.resolved_by = actor
    transfer.save(update_fields=["status", "resolved_at", "resolved_by", "decline_reason"])
