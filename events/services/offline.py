"""Operations a phone queued without signal (marks and unmarks, each with an id made on the
phone), applied when it syncs: each once, judged on the state at sync by the online services,
and answered the same on every replay."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import NotificationKind, User
from accounts.selectors import actor_for
from accounts.services import notify
from events import policies
from events.models import PHONE_HOWS, PHONE_KINDS, ClientOperation, Event
from events.services.usage import event_mark_used, event_unmark
from inventory.identification import Identified
from inventory.models import LabelMismatch, Unit
from inventory.selectors.scans import NO_UNIT, units_from_scan, without_line
from inventory.services.ledger import NOT_FOUND
from inventory.services.scans import record_label_mismatches

logger = logging.getLogger(__name__)

NOT_YOURS = "This mark was made by another user: it is synced only when they sign in."
EVENT_NOT_FOUND = "That event was not found."
# Offline, "not found" means the unit left what the rep may use since the phone's copy: it
# moved to another holder, or the distributor's pool was closed. Said without naming anyone.
NO_LONGER_USABLE = (
    "That unit is no longer among those you may use here: it moved to another holder, or the "
    "distributor's pool was closed to you."
)
FAILED = (
    "The server could not apply this mark (an error on our side): it stays waiting on the "
    "phone and is sent again."
)

Kind, How, Status = ClientOperation.Kind, ClientOperation.How, ClientOperation.Status


@dataclass(frozen=True)
class ClientOp:
    """One queued operation as the phone sent it (its shape checked by events.forms)."""

    id: uuid.UUID
    kind: str
    event_id: int
    unit_id: int
    label: str = ""
    how: str = How.LIST
    reported_at: datetime | None = None


@dataclass(frozen=True)
class _Refused:
    message: str
    # The distributor hears of a conflict with her pool, not of an id that named nothing.
    tell_distributor: bool = True


def _client_op(op: ClientOp | Mapping[str, Any]) -> ClientOp:
    if not isinstance(op, ClientOp):
        op = ClientOp(**op)
    if op.kind not in PHONE_KINDS or op.how not in PHONE_HOWS:
        raise ValueError(f"Unknown operation kind {op.kind!r} or way of picking {op.how!r}.")
    return ClientOp(
        id=op.id if isinstance(op.id, uuid.UUID) else uuid.UUID(str(op.id)),
        kind=op.kind,
        event_id=op.event_id,
        unit_id=op.unit_id,
        label=op.label or "",
        how=op.how,
        reported_at=op.reported_at,
    )


@dataclass(frozen=True)
class _Conflict:
    op: ClientOp
    event: Event
    reason: str


def client_operation_apply(*, actor: User, op: ClientOp | Mapping[str, Any]) -> dict:
    """One operation, as `client_operations_apply` applies each (and tells the distributor
    of a conflict the same way)."""
    (answer,) = client_operations_apply(actor=actor, ops=[op])
    return answer


def client_operations_apply(
    *, actor: User, ops: Sequence[ClientOp | Mapping[str, Any]]
) -> list[dict]:
    """Apply a phone's queued operations in order, each in its own transaction (one refusal,
    or one failure, never undoes or blocks another), and return their answers in order.

    An operation that fails unexpectedly is logged and answered "error", storing nothing: the
    phone keeps it waiting and sends it again. The representative's distributor hears of the
    conflicts once per event for the whole batch, not once per mark (a batch of 50 on an event
    submitted meanwhile is one notification). ValueError for an unknown kind.
    """
    answers: list[dict] = []
    conflicts: dict[int, list[_Conflict]] = {}
    for raw in ops:
        op = _client_op(raw)
        try:
            answer, conflict = _apply(actor=actor, op=op)
        except Exception:  # noqa: BLE001 - one op's failure must not strand the ones after it
            logger.exception("Offline operation %s failed", op.id)
            answer, conflict = (
                {
                    "id": str(op.id),
                    "kind": op.kind,
                    "unit": op.unit_id,
                    "status": "error",
                    "message": FAILED,
                },
                None,
            )
        answers.append(answer)
        if conflict is not None:
            conflicts.setdefault(conflict.event.pk, []).append(conflict)
    for group in conflicts.values():
        # The marks are committed and answered; a failure to tell must not turn them into a
        # 500 the phone would resend (its replays return the stored answers, telling nobody).
        try:
            with transaction.atomic():
                _tell_distributor(actor=actor, conflicts=group)
        except Exception:  # noqa: BLE001
            logger.exception("Telling the distributor of offline conflicts failed")
    return answers


@transaction.atomic
def _apply(*, actor: User, op: ClientOp) -> tuple[dict, _Conflict | None]:
    """Apply one operation a phone queued offline, once, and return its answer.

    The phone's id is the primary key of a ClientOperation row inserted first: a replay (even
    one racing the first: its insert waits for that transaction, then conflicts) changes
    nothing and returns the stored answer unchanged. An id another user already sent is
    refused and changes nothing: an operation is never applied under another's session.

    Judged on the state at sync by `event_mark_used` / `event_unmark` (custody and pooling,
    recall quarantine, expiry against the event's date, the event's status), never on what the
    phone saw. A label (scanned or typed) is checked against the unit as the online scanner
    does; a label that disagrees with the unit's record is kept (LabelMismatch) although the
    mark is refused. The ledger's `at` is the sync, its `reported_at` the phone's clock.

    Answer: {"id", "status": "applied" | "refused", "kind", "unit", "message"}, plus "warning"
    ("" or the expiry warning) when applied. An event the actor cannot see is "not found",
    whether it exists or not. Any other refusal is also returned as a conflict, for the
    distributor. A refusal raises nothing.
    """
    try:
        with transaction.atomic():
            row = ClientOperation.objects.create(
                id=op.id,
                organization_id=actor.organization_id,
                user=actor,
                kind=op.kind,
                unit_id=op.unit_id,
                label=op.label,
                how=op.how,
                reported_at=op.reported_at,
                status=Status.REFUSED,  # judged below, in this same transaction
            )
    except IntegrityError:
        first = ClientOperation.objects.filter(pk=op.id).first()
        if first is None:
            raise
        if first.user_id != actor.pk:
            return _answer(op, _Refused(NOT_YOURS)), None
        return first.answer, None
    event = (
        Event.objects.visible_to(actor)
        .select_related("representative")
        .filter(pk=op.event_id)
        .first()
    )
    if event is None:
        outcome = _Refused(EVENT_NOT_FOUND, tell_distributor=False)
    elif op.kind == Kind.MARK_USED:
        outcome = _mark_used(actor=actor, op=op, event=event)
    elif op.kind == Kind.UNMARK:
        outcome = _unmark(actor=actor, op=op, event=event)
    else:  # _client_op refuses any other kind before a row is written
        raise ValueError(f"Unknown operation kind {op.kind!r}.")
    answer = _answer(op, outcome)
    row.event = event
    row.status = answer["status"]
    row.message = answer["message"][:500]
    row.answer = answer
    row.save(update_fields=["event", "status", "message", "answer"])
    if isinstance(outcome, _Refused) and outcome.tell_distributor:
        return answer, _Conflict(op=op, event=event, reason=outcome.message)
    return answer, None


def _mark_used(*, actor: User, op: ClientOp, event: Event) -> dict | _Refused:
    identified = Identified.LIST
    if op.label.strip():
        scanned = units_from_scan(
            qs=Unit.objects.visible_to(actor).filter(
                pk=op.unit_id, organization_id=event.organization_id
            ),
            text=op.label,
            prefer_holder_id=event.representative_id,
            units_of_use_only=True,
        )
        # Kept for the admins although the mark is refused: before the savepoint below, which
        # a refusal rolls back.
        record_label_mismatches(
            actor=actor,
            mismatches=scanned.mismatches,
            where=LabelMismatch.Where.MARK_USED,
            event_id=event.pk,
        )
        if scanned.problems:
            return _Refused(without_line(scanned.problems[0], op.label))
        if op.unit_id not in scanned.identified:
            return _Refused(NO_UNIT)
        identified = scanned.identified[op.unit_id]
    try:
        with transaction.atomic():
            (line,) = event_mark_used(
                actor=actor,
                event=event,
                unit_ids=[op.unit_id],
                identified_by={op.unit_id: identified},
                reported_at=op.reported_at,
            )
    except ValidationError as exc:
        return _Refused(" ".join(_offline_wording(m) for m in exc.messages))
    except PermissionDenied:
        return _Refused(EVENT_NOT_FOUND, tell_distributor=False)
    return {
        "message": f"{line.unit.label} marked used on {event.name}.",
        "warning": policies.unit_use_warning(event=event, unit=line.unit) or "",
    }


def _offline_wording(message: str) -> str:
    return NO_LONGER_USABLE if message == NOT_FOUND else message


def _unmark(*, actor: User, op: ClientOp, event: Event) -> dict | _Refused:
    try:
        with transaction.atomic():
            event_unmark(
                actor=actor, event=event, unit_ids=[op.unit_id], reported_at=op.reported_at
            )
    except ValidationError as exc:
        return _Refused(" ".join(exc.messages))
    except PermissionDenied:
        return _Refused(EVENT_NOT_FOUND, tell_distributor=False)
    # It was on the event's line, so it is of the event's organization.
    unit = Unit.objects.get(pk=op.unit_id)
    return {"message": f"{unit.label} unmarked on {event.name}.", "warning": ""}


def _answer(op: ClientOp, outcome: dict | _Refused) -> dict:
    answer = {"id": str(op.id), "kind": op.kind, "unit": op.unit_id}
    if isinstance(outcome, _Refused):
        return {**answer, "status": Status.REFUSED.value, "message": outcome.message}
    return {**answer, "status": Status.APPLIED.value, **outcome}


def _tell_distributor(*, actor: User, conflicts: Sequence[_Conflict]) -> None:
    """The representative's distributor keeps the pool an offline mark may have counted on:
    one notification for a batch's conflicts on one event, naming each unit as she may see it.
    A representative with no distributor leaves nobody to tell; a unit id that names nothing
    of hers (a phone may send any id) is nothing to tell her about."""
    event = conflicts[0].event
    distributor_id = actor_for(event.representative).distributor_id
    if distributor_id is None:
        return
    distributor = User.objects.get(pk=distributor_id)
    visible = {
        u.pk: u
        for u in Unit.objects.visible_to(distributor).filter(
            pk__in=[c.op.unit_id for c in conflicts]
        )
    }
    lines = []
    for conflict in conflicts:
        unit = visible.get(conflict.op.unit_id)
        if unit is None:
            continue
        did = "mark used" if conflict.op.kind == Kind.MARK_USED else "unmark"
        lines.append(f"{unit.label} ({did}): {conflict.reason}")
    if not lines:
        return
    # The notification keeps 1,000 characters: the rest is counted, not cut mid-line.
    shown, size = [], 0
    for line in lines:
        if size + len(line) > 900:
            break
        shown.append(line)
        size += len(line) + 1
    if len(shown) < len(lines):
        shown.append(f"…and {len(lines) - len(shown)} more (see the event's Mark Used page).")
    what = "A mark" if len(lines) == 1 else f"{len(lines)} marks"
    notify(
        recipients=[distributor],
        kind=NotificationKind.OFFLINE_CONFLICT,
        actor=actor,
        summary=f"{what} {actor.name} made offline on {event.name} refused at sync",
        detail="\n".join(shown),
        url=reverse("events:mark_used", args=[event.pk]),
        event_id=event.pk,
    )
