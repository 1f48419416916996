"""The outbox's front door: apps that act say what happened; whoever listens records it.

The apps that act (inventory, events, jobs) sit below the api app, which keeps webhook
subscriptions, so they cannot call it. They call `emit` at the point of each action, inside its
transaction; the api app registers a sink at start-up (ApiConfig.ready) that writes the event
and its deliveries in that same transaction. An action rolled back therefore sends nothing, and
one that commits has its event committed with it.

A payload carries ids and the fields the action changed, never free text people typed and never
a patient reference: an integration's receiver is outside the hospital's walls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

TRANSFER_CREATED = "transfer.created"
TRANSFER_ACCEPTED = "transfer.accepted"
TRANSFER_DECLINED = "transfer.declined"
TRANSFER_CANCELLED = "transfer.cancelled"
UNIT_MARKED_USED = "unit.marked_used"
UNIT_UNMARKED = "unit.unmarked"
EVENT_SUBMITTED = "event.submitted"
EVENT_REOPENED = "event.reopened"
EVENT_PO_RECORDED = "event.po_recorded"
EVENT_PAID = "event.paid"
RECALL_RECORDED = "recall.recorded"
RECALL_RETURNED = "recall.returned"
UNIT_BELOW_PAR = "unit.below_par"
UNITS_RECEIVED = "units.received"
JOB_FINISHED = "job.finished"

# Every type, with the words an admin reads when choosing what to subscribe to.
EVENT_TYPES: dict[str, str] = {
    TRANSFER_CREATED: "A transfer was started",
    TRANSFER_ACCEPTED: "A transfer was accepted (custody changed)",
    TRANSFER_DECLINED: "A transfer was declined",
    TRANSFER_CANCELLED: "A transfer was cancelled",
    UNIT_MARKED_USED: "Units were marked used on an event",
    UNIT_UNMARKED: "Units were unmarked from an event",
    EVENT_SUBMITTED: "An event was submitted",
    EVENT_REOPENED: "An event was reopened",
    EVENT_PO_RECORDED: "An event's PO number was recorded",
    EVENT_PAID: "An event was marked paid",
    RECALL_RECORDED: "A recall was recorded",
    RECALL_RETURNED: "Recalled units were returned",
    UNIT_BELOW_PAR: "A location fell below par",
    UNITS_RECEIVED: "Units were received",
    JOB_FINISHED: "A background job finished",
}

# Keys no payload may carry, at any depth: the rule is checked here, once, for every emitter.
FORBIDDEN_KEYS = frozenset({"patient_ref", "patient", "patient_reference"})

Sink = Callable[..., None]
_sinks: list[Sink] = []


def register_sink(fn: Sink) -> None:
    """Have `fn(organization_id=, type=, data=)` called for every event (once per process,
    from an AppConfig.ready; registering the same function twice keeps one)."""
    if fn not in _sinks:
        _sinks.append(fn)


def emit(*, organization_id: int, type: str, data: Mapping) -> None:
    """Tell every sink that `type` happened in the organization, in the caller's transaction.

    Raises ValueError for an unknown type or a payload carrying a forbidden key (a patient
    reference): a programming error, so the action itself fails rather than leak it.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown outbox event type {type!r}")
    _refuse_forbidden_keys(data)
    for sink in _sinks:
        sink(organization_id=organization_id, type=type, data=data)


def _refuse_forbidden_keys(value) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in FORBIDDEN_KEYS:
                raise ValueError(f"an outbox payload may not carry {key!r}")
            _refuse_forbidden_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_forbidden_keys(item)
