"""What happened to units since a page showed them (DESIGN 14, README "Stale pages").

A form that acts on units carries each unit's `ledger_seq` as the page drew it. When a unit's
sequence has moved on, the action is refused and this module says what changed, from the
ledger entries written since, in the words a person reads: "D-1002 went to Sam Rep at 10:42".
It names only what the viewer may still see: a unit that has left their scope "is no longer
available to you", never where it went.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.utils import timezone

from accounts.models import User
from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from inventory import hooks
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState

# A page drawn long ago may have many entries behind it: the message names the latest few.
ENTRIES_SHOWN = 3

# What the services answer for a unit outside the actor's scope: the same as a missing one.
NOT_FOUND = "A selected unit was not found."


def _when(at) -> str:
    local = timezone.localtime(at)
    if local.date() == timezone.localdate():
        return f"at {local:%H:%M}"
    return f"on {local:%Y-%m-%d} at {local:%H:%M}"


def _holder(entry: CustodyEntry) -> str:
    return entry.to_custodian.name if entry.to_custodian_id else "organization custody"


def _recall(entry: CustodyEntry) -> str:
    return f" (recall {entry.recall.reference})" if entry.recall_id else ""


def _what(entry: CustodyEntry, events: Mapping[int, hooks.EventRef]) -> str:
    """One entry as a verb phrase, without the unit and the time. `events`: the names of the
    events the viewer may see; another event stays unnamed."""
    kind = entry.kind
    on_event = f" on “{events[entry.event_id].name}”" if entry.event_id in events else ""
    if kind == EntryKind.TRANSFER_SENT:
        if entry.to_state == UnitState.QUARANTINED:
            return "was sent back to the organization for return"
        recipient = entry.transfer.recipient if entry.transfer_id else None
        return f"was sent to {recipient.name if recipient else 'organization custody'}"
    if kind == EntryKind.TRANSFER_ACCEPTED:
        return f"went to {_holder(entry)}"
    if kind == EntryKind.TRANSFER_DECLINED:
        return "came back on hold (its transfer was declined)"
    if kind == EntryKind.TRANSFER_CANCELLED:
        return "came back from a cancelled transfer"
    if kind == EntryKind.HOLD_RELEASED:
        return "was released from hold"
    if kind == EntryKind.MARKED_USED:
        return f"was marked used{on_event}"
    if kind == EntryKind.UNMARKED:
        return f"was unmarked{on_event}"
    if kind == EntryKind.MOVED:
        return f"was moved to {entry.to_location.name}" if entry.to_location_id else "was moved"
    if kind == EntryKind.QUARANTINED:
        return f"was quarantined{_recall(entry)}"
    if kind == EntryKind.RETURNED:
        return f"was returned to the manufacturer{_recall(entry)}"
    if kind == EntryKind.RECALL_WITHDRAWN:
        return f"came out of quarantine{_recall(entry).replace(')', ' withdrawn)')}"
    if kind == EntryKind.SOLD_TO_FACILITY:
        return "was sold to a facility"
    return f"was {entry.get_kind_display().lower()}"


def _story(entries: list[CustodyEntry]) -> list[CustodyEntry]:
    """The entries worth telling: a transfer completed at once is one change ("went to"), not
    "was sent" and then "went"."""
    told = []
    for i, entry in enumerate(entries):
        following = entries[i + 1] if i + 1 < len(entries) else None
        if (
            entry.kind == EntryKind.TRANSFER_SENT
            and following is not None
            and following.kind == EntryKind.TRANSFER_ACCEPTED
            and following.transfer_id == entry.transfer_id
        ):
            continue
        told.append(entry)
    return told


def changes_since(*, units: Sequence[Unit], seen: Mapping[int, int], viewer: User) -> list[str]:
    """One line per unit whose ledger moved past the sequence the viewer's page showed (`seen`,
    by unit id), oldest change first, in the current time zone. Units whose sequence is the
    one seen are left out. A few queries: the entries since (with their people and places) and
    the names of their events that the viewer may see.

    A unit the viewer can see neither now nor at the sequence claimed (another rep's unit, ids
    tried by hand) makes the answer NOT_FOUND alone, as the action's own scope check would:
    its label and history are never told to someone who could not see it."""
    changed = [u for u in units if u.pk in seen and seen[u.pk] != u.ledger_seq]
    if not changed:
        return []
    scope = holder_ids_in_scope(actor=actor_for(viewer))
    since: dict[int, list[CustodyEntry]] = defaultdict(list)
    held_when_seen: dict[int, int | None] = {}
    entries = (
        CustodyEntry.objects.filter(
            unit_id__in=[u.pk for u in changed],
            sequence__gte=min(seen[u.pk] for u in changed),
        )
        .select_related("to_custodian", "to_location", "recall", "transfer__recipient")
        .order_by("unit_id", "sequence")
    )
    for entry in entries:
        if entry.sequence == seen[entry.unit_id]:
            held_when_seen[entry.unit_id] = entry.to_custodian_id
        elif entry.sequence > seen[entry.unit_id]:
            since[entry.unit_id].append(entry)
    if scope is not None and any(
        unit.custodian_id not in scope
        and (unit.pk not in held_when_seen or held_when_seen[unit.pk] not in scope)
        for unit in changed
    ):
        return [NOT_FOUND]
    events = hooks.ledger_event_refs(
        user=viewer, event_ids={e.event_id for told in since.values() for e in told}
    )
    lines = []
    for unit in changed:
        told = _story(since[unit.pk])
        name = unit.label
        in_scope = scope is None or unit.custodian_id in scope
        if not told:
            # A sequence the page cannot have shown (typed by hand, or from another copy).
            lines.append(f"{name} has changed since this page was drawn.")
        elif not in_scope:
            lines.append(f"{name} is no longer available to you (it changed {_when(told[-1].at)}).")
        else:
            parts = [f"{_what(e, events)} {_when(e.at)}" for e in told[-ENTRIES_SHOWN:]]
            earlier = len(told) - len(parts)
            lead = (
                f"after {earlier} earlier change{'s' if earlier > 1 else ''}, " if earlier else ""
            )
            lines.append(f"{name} {lead}{', then '.join(parts)}.")
    return lines
