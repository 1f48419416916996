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


@dataclass(frozen=True)
class CaseUse:
    """One event line that used a unit, as a recall shows it: never a patient's name."""

    unit_id: int
    event_id: int
    name: str
    url: str
    status: str  # the event's status, in words
    is_open: bool
    facility: str
    surgeon: str
    date: object  # datetime of the event
    patient_ref: str
    representative_id: int
    representative: str


CaseFinder = Callable[..., list[CaseUse]]

_case_finders: list[CaseFinder] = []


def register_case_finder(finder: CaseFinder) -> None:
    """Register `finder(*, user, unit_ids, limit=None, open_only=False) -> [CaseUse]`: the
    events (not cancelled; only open ones when `open_only`) whose current lines use these
    units, those the user may see (every one when user is None), at most `limit` lines.
    `unit_ids` may be a queryset of ids; a few queries, please."""
    if finder not in _case_finders:
        _case_finders.append(finder)


def cases_using_units(
    *, user, unit_ids, limit: int | None = None, open_only: bool = False
) -> list[CaseUse]:
    """Every event that used one of the units (at most `limit` lines), in the finders' order
    (by event date)."""
    uses: list[CaseUse] = []
    for finder in _case_finders:
        wanted = None if limit is None else limit - len(uses)
        if wanted is not None and wanted <= 0:
            break
        uses += finder(user=user, unit_ids=unit_ids, limit=wanted, open_only=open_only)
    return uses
