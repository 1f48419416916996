"""Questions inventory asks of the apps built on it, without importing them.

The custody ledger stores an entry's event as a plain `event_id` (events build on inventory,
never the other way round). To name that event on a unit's history, inventory asks whichever
app registered a resolver here in its AppConfig.ready() (events does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EventRef:
    """How a ledger entry names its event to one viewer."""

    name: str
    url: str


EventResolver = Callable[..., dict[int, EventRef]]

_event_resolvers: list[EventResolver] = []


def register_event_resolver(resolver: EventResolver) -> None:
    """Register `resolver(*, user, event_ids) -> {event_id: EventRef}` (one query, please)."""
    if resolver not in _event_resolvers:
        _event_resolvers.append(resolver)


def ledger_event_refs(*, user, event_ids: Iterable[int]) -> dict[int, EventRef]:
    """Name and link of each event the user may see; events they may not see are left out."""
    ids = {pk for pk in event_ids if pk is not None}
    refs: dict[int, EventRef] = {}
    if ids:
        for resolver in _event_resolvers:
            refs.update(resolver(user=user, event_ids=ids))
    return refs
