"""Who hears about a transfer or a hold, and what they read.

The inventory services call one function here per change, inside their transaction; each
sends through `accounts.services.notify` (in-app now, email after commit, per the recipient's
switches). Nobody is told of their own action.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from accounts.models import NotificationKind, User
from accounts.selectors import answerer_ids
from accounts.services import notify

from .models import Location, Transfer, Unit


def _units(n: int) -> str:
    return f"{n} unit{'' if n == 1 else 's'}"


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _holder(user: User | None) -> str:
    return str(user) if user is not None else "organization custody"


def _about(transfer: Transfer) -> dict:
    return {
        "url": reverse("inventory:transfer_detail", args=[transfer.pk]),
        "transfer_id": transfer.pk,
        "detail": transfer.note,
    }


def transfer_started(
    *, actor: User, transfer: Transfer, units: Sequence[Unit], recipient_acted_for: int | None
) -> None:
    """A pending transfer waits on its recipient and, for an assigned rep, their distributor
    (organization custody: the admins). Whoever's stock a distributor or an admin moved for
    them (the sender acted for; the recipient too, when it completed at once) is told so."""
    n, sender, recipient = len(units), _holder(transfer.sender), _holder(transfer.recipient)
    if transfer.status == Transfer.Status.PENDING:
        waiting = answerer_ids(
            organization_id=transfer.organization_id, holder_id=transfer.recipient_id
        )
        notify(
            recipients=[transfer.recipient_id],
            kind=NotificationKind.TRANSFER_WAITING,
            actor=actor,
            summary=f"Transfer #{transfer.pk} from {sender} waits on you: {_units(n)}",
            **_about(transfer),
        )
        notify(
            recipients=waiting - {transfer.recipient_id},
            kind=NotificationKind.TRANSFER_WAITING,
            actor=actor,
            summary=f"Transfer #{transfer.pk} from {sender} waits on {recipient}: {_units(n)}",
            **_about(transfer),
        )
    notify(
        recipients=[transfer.on_behalf_of_id],
        kind=NotificationKind.STOCK_MOVED,
        actor=actor,
        summary=f"{actor.name} sent {_units(n)} of yours to {recipient} (transfer #{transfer.pk})",
        **_about(transfer),
    )
    stock_moved_in(actor=actor, transfer=transfer, n=n, acted_for=recipient_acted_for)


def stock_moved_in(*, actor: User, transfer: Transfer, n: int, acted_for: int | None) -> None:
    """The recipient whose side a distributor or an admin took (accepting for them, or a
    transfer completed at once) hears that the units are now in their custody."""
    notify(
        recipients=[acted_for],
        kind=NotificationKind.STOCK_MOVED,
        actor=actor,
        summary=(
            f"{actor.name} took {_units(n)} from {_holder(transfer.sender)} into your custody "
            f"(transfer #{transfer.pk})"
        ),
        **_about(transfer),
    )


def transfer_accepted(
    *, actor: User, transfer: Transfer, units: Sequence[Unit], recipient_acted_for: int | None
) -> None:
    """The sender and whoever started it for them hear it was accepted."""
    n = len(units)
    notify(
        recipients=[transfer.sender_id, transfer.started_by_id],
        kind=NotificationKind.TRANSFER_ACCEPTED,
        actor=actor,
        summary=(
            f"{actor.name} accepted transfer #{transfer.pk} to {_holder(transfer.recipient)}: "
            f"{_units(n)}"
        ),
        **_about(transfer),
    )
    stock_moved_in(actor=actor, transfer=transfer, n=n, acted_for=recipient_acted_for)


def transfer_declined(*, actor: User, transfer: Transfer, units: Sequence[Unit]) -> None:
    """The sender and whoever started it for them hear it was declined, why, and that the
    units are on hold with the sender until an admin releases them."""
    n, sender = len(units), _holder(transfer.sender)
    about = {**_about(transfer), "detail": f"Reason: {transfer.decline_reason}"}
    notify(
        recipients=[transfer.sender_id],
        kind=NotificationKind.TRANSFER_DECLINED,
        actor=actor,
        summary=(
            f"{actor.name} declined transfer #{transfer.pk}: your {_units(n)} {_are(n)} on hold "
            "until an admin releases them"
        ),
        **about,
    )
    notify(
        recipients=[transfer.started_by_id] if transfer.started_by_id != transfer.sender_id else [],
        kind=NotificationKind.TRANSFER_DECLINED,
        actor=actor,
        summary=(
            f"{actor.name} declined transfer #{transfer.pk}: {sender}'s {_units(n)} {_are(n)} "
            "on hold until an admin releases them"
        ),
        **about,
    )


def transfer_cancelled(*, actor: User, transfer: Transfer, units: Sequence[Unit]) -> None:
    """Whoever it was waiting on, and the sender and starter (when someone else cancelled),
    hear it is off; the units are available with the sender again."""
    waiting = answerer_ids(
        organization_id=transfer.organization_id, holder_id=transfer.recipient_id
    )
    notify(
        recipients=waiting | {transfer.sender_id, transfer.started_by_id},
        kind=NotificationKind.TRANSFER_CANCELLED,
        actor=actor,
        summary=(
            f"{actor.name} cancelled transfer #{transfer.pk} from {_holder(transfer.sender)} "
            f"to {_holder(transfer.recipient)}: {_units(len(units))}"
        ),
        **_about(transfer),
    )


def holds_released(*, actor: User, units: Sequence[Unit], note: str = "") -> None:
    """Each holder of released units hears they are available again."""
    notify(
        recipients={u.custodian_id for u in units},
        kind=NotificationKind.HOLD_RELEASED,
        actor=actor,
        summary=f"{actor.name} released your units on hold: they are available again",
        detail=note,
        url=reverse("inventory:unit_list") + "?custody=mine&state=available",
    )


def units_moved(
    *, actor: User, units: Sequence[Unit], to_location: Location, acted_for: int | None
) -> None:
    """The holder whose stock a distributor or an admin moved between their locations hears
    where it went."""
    notify(
        recipients=[acted_for],
        kind=NotificationKind.STOCK_MOVED,
        actor=actor,
        summary=f"{actor.name} moved {_units(len(units))} of yours to {to_location}",
        url=reverse("inventory:unit_list") + f"?custody=mine&location={to_location.pk}",
    )
