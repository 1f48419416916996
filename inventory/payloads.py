"""What inventory's actions tell the outbox (core.outbox): ids and the fields each action
changed, built here once per subject. Free text (notes, reasons) stays out: people type
anything into it, and a payload leaves the organization."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core import outbox
from inventory.models import ParLevel, Recall, RecallReturn, Transfer, Unit

# A receipt of thousands of units goes out as several events of at most this many units each,
# so no single delivery carries megabytes.
RECEIVED_UNITS_PER_EVENT = 1000


def unit_data(unit: Unit) -> dict:
    """A unit as it is after the action: where it is and in what state."""
    return {
        "id": unit.pk,
        "product_id": unit.product_id,
        "state": unit.state,
        "custodian_id": unit.custodian_id,
        "location_id": unit.location_id,
    }


def transfer_data(transfer: Transfer, units: Iterable[Unit]) -> dict:
    return {
        "transfer": {
            "id": transfer.pk,
            "status": transfer.status,
            "sender_id": transfer.sender_id,
            "recipient_id": transfer.recipient_id,
            "started_by_id": transfer.started_by_id,
            "on_behalf_of_id": transfer.on_behalf_of_id,
            "to_location_id": transfer.to_location_id,
            "created_at": transfer.created_at,
            "resolved_at": transfer.resolved_at,
            "resolved_by_id": transfer.resolved_by_id,
        },
        "units": [unit_data(u) for u in units],
    }


def emit_transfer(type: str, transfer: Transfer, units: Iterable[Unit]) -> None:
    outbox.emit(
        organization_id=transfer.organization_id, type=type, data=transfer_data(transfer, units)
    )


def emit_recall_recorded(recall: Recall, units: Sequence[Unit]) -> None:
    outbox.emit(
        organization_id=recall.organization_id,
        type=outbox.RECALL_RECORDED,
        data={
            "recall": {
                "id": recall.pk,
                "reference": recall.reference,
                "recall_class": recall.recall_class,
                "product_id": recall.product_id,
                "lot_numbers": list(recall.lot_numbers),
                "serial_numbers": list(recall.serial_numbers),
                "recall_date": recall.recall_date,
                "status": recall.status,
                "created_by_id": recall.created_by_id,
            },
            # Every unit the recall names, in the state it is left in (quarantined, or still
            # in transit or allocated: those are listed for action).
            "units": [unit_data(u) for u in units],
        },
    )


def emit_recall_returned(shipment: RecallReturn, units: Sequence[Unit]) -> None:
    outbox.emit(
        organization_id=shipment.recall.organization_id,
        type=outbox.RECALL_RETURNED,
        data={
            "recall_id": shipment.recall_id,
            "return": {
                "id": shipment.pk,
                "reference": shipment.reference,
                "returned_on": shipment.returned_on,
                "created_by_id": shipment.created_by_id,
            },
            "units": [unit_data(u) for u in units],
        },
    )


def emit_below_par(level: ParLevel, count: int) -> None:
    outbox.emit(
        organization_id=level.organization_id,
        type=outbox.UNIT_BELOW_PAR,
        data={
            "par_level": {
                "id": level.pk,
                "location_id": level.location_id,
                "product_id": level.product_id,
                "par": level.par,
                "reorder_to": level.reorder_to,
            },
            "holder_id": level.location.holder_id,
            "usable_count": count,
        },
    )


def emit_units_received(
    *, organization_id: int, actor_id: int, custodian_id: int | None, units: Sequence[Unit]
) -> None:
    for start in range(0, len(units), RECEIVED_UNITS_PER_EVENT):
        outbox.emit(
            organization_id=organization_id,
            type=outbox.UNITS_RECEIVED,
            data={
                "received_by_id": actor_id,
                "custodian_id": custodian_id,
                "units": [
                    {
                        **unit_data(u),
                        "serial_number": u.serial_number,
                        "lot_number": u.lot_number,
                        "expiration_date": u.expiration_date,
                    }
                    for u in units[start : start + RECEIVED_UNITS_PER_EVENT]
                ],
            },
        )
