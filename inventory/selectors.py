"""Reads of inventory that need more than one queryset call, and the custody labels."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from accounts.policies import Actor, holder_ids_in_scope

from . import hooks
from .models import CustodyEntry, Transfer, Unit, UnitState


@dataclass(frozen=True)
class CustodyLabel:
    text: str
    css: str  # custody-distributor (red), custody-own (black), custody-org (grey)
    kind: str  # "own", "distributor", "rep", "org"


def custody_label(*, unit: Unit, actor: Actor, viewer_id: int | None = None) -> CustodyLabel:
    """Red for stock in a distributor's custody, black for the viewer's own (and a rep's).

    The text always names the holder, so colour is never the only cue. Needs
    `unit.custodian` loaded (select_related), so a list page pays no query per row.
    """
    holder = unit.custodian
    if holder is None:
        return CustodyLabel("Organization", "custody-org", "org")
    if holder.pk == actor.id:
        # Seen by someone else (a distributor or admin on a rep's event), "Mine" would lie.
        mine = "Mine" if viewer_id in (None, actor.id) else "Rep"
        return CustodyLabel(f"{mine} · {holder.name}", "custody-own", "own")
    if holder.role == Role.DISTRIBUTOR:
        return CustodyLabel(f"Distributor · {holder.name}", "custody-distributor", "distributor")
    return CustodyLabel(f"Rep · {holder.name}", "custody-own", "rep")


# Earliest expiry first (units without an expiry last, on every database), then oldest first.
UNIT_ORDER = (F("expiration_date").asc(nulls_last=True), "pk")


def unit_rows(qs: QuerySet[Unit]) -> QuerySet[Unit]:
    """What a unit list row shows, in one query."""
    return qs.select_related("product", "custodian", "location", "facility")


def unit_history(*, unit: Unit, viewer: User) -> list[CustodyEntry]:
    """A unit's ledger in order; each entry's `event_ref` names its event (None when the entry
    has no event or the viewer may not see it). Two queries, however long the history."""
    entries = list(
        unit.ledger.select_related(
            "from_custodian", "to_custodian", "actor", "on_behalf_of", "transfer__recipient"
        ).order_by("sequence")
    )
    refs = hooks.ledger_event_refs(user=viewer, event_ids={e.event_id for e in entries})
    for entry in entries:
        entry.event_ref = refs.get(entry.event_id)
        entry.from_state_label = state_label(entry.from_state)
        entry.to_state_label = state_label(entry.to_state)
    return entries


def state_label(state: str) -> str:
    """A unit state in words ("In transit"); a unit's first entry starts from "New"."""
    return UnitState(state).label if state in UnitState.values else (state or "New")


def holds_stock(*, holder: User) -> bool:
    """Does this user hold any unit that is not inactive?"""
    return Unit.objects.filter(custodian=holder).exclude(state=UnitState.INACTIVE).exists()


def transfers_waiting_on(*, user: User, actor: Actor) -> QuerySet[Transfer]:
    """Pending transfers the user may accept or decline (for themselves, their reps, or, for an
    admin, anyone of the organization)."""
    qs = Transfer.objects.filter(
        organization_id=actor.organization_id, status=Transfer.Status.PENDING
    )
    if actor.is_admin:
        return qs
    if actor.is_distributor:
        return qs.filter(recipient_id__in={actor.id, *actor.rep_ids})
    return qs.filter(recipient_id=actor.id)


def waits_on_me(*, transfer: Transfer, actor: Actor) -> bool:
    """Sent to this person, or, for an admin, to organization custody (only admins take it)."""
    if transfer.recipient_id is None:
        return actor.is_admin
    return transfer.recipient_id == actor.id


def waiting_on_me_q(*, actor: Actor) -> Q:
    return Q(recipient__isnull=True) if actor.is_admin else Q(recipient_id=actor.id)


def transfer_rows(qs: QuerySet[Transfer]) -> QuerySet[Transfer]:
    return qs.select_related("sender", "recipient", "started_by", "on_behalf_of").annotate(
        unit_count=Count("lines")
    )


def transfers_sent_pending(*, actor: Actor) -> QuerySet[Transfer]:
    """Pending transfers the user started, or sent from stock they act for."""
    scope = holder_ids_in_scope(actor=actor)
    qs = Transfer.objects.filter(
        organization_id=actor.organization_id, status=Transfer.Status.PENDING
    )
    if scope is None:
        return qs.filter(started_by_id=actor.id)
    return qs.filter(Q(started_by_id=actor.id) | Q(sender_id__in=scope))


def recipient_choices(*, actor: Actor) -> QuerySet[User]:
    """Every holder of the organization a unit can be sent to: active distributors and reps."""
    return User.objects.filter(
        organization_id=actor.organization_id,
        is_active=True,
        role__in=[Role.DISTRIBUTOR, Role.REP],
    ).order_by("display_name", "username")


def expiry_counts(*, qs: QuerySet[Unit], today: datetime.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    live = qs.exclude(state=UnitState.INACTIVE)
    return {
        "expired": live.filter(expiration_date__lt=today).count(),
        "within_30": live.filter(
            expiration_date__gte=today, expiration_date__lte=today + datetime.timedelta(days=30)
        ).count(),
        "within_90": live.filter(
            expiration_date__gte=today, expiration_date__lte=today + datetime.timedelta(days=90)
        ).count(),
    }


def units_from_scan(*, qs: QuerySet[Unit], text: str) -> tuple[list[Unit], list[str]]:
    """Resolve scanned or pasted lines (GS1 UDIs or serial numbers) to units in `qs`.

    Returns the units found and one problem per line that matched nothing (or several), so a
    person can fix exactly those lines. Two queries at most, whatever the number of lines.
    """
    from .udi import UdiError, parse_udi

    wanted: list[tuple[str, str, str, str]] = []  # (line, gtin, serial, lot)
    problems: list[str] = []
    # Only real line breaks separate scans: str.splitlines() would also split at the GS
    # character (\x1d) that sits between the fields of one raw GS1 barcode.
    for raw in re.split(r"\r\n|\r|\n", text):
        line = raw.strip()
        if not line:
            continue
        looks_gs1 = line.startswith(("(", "]")) or (line[:2] == "01" and len(line) >= 16)
        if looks_gs1:
            try:
                udi = parse_udi(line)
            except UdiError as exc:
                problems.append(f"{line}: {exc}")
                continue
            wanted.append((line, udi.gtin, udi.serial, udi.lot))
        else:
            wanted.append((line, "", line, ""))
    if not wanted:
        return [], problems
    serials = {serial for _, _, serial, _ in wanted if serial}
    lots = {lot for _, _, serial, lot in wanted if lot and not serial}
    candidates = list(unit_rows(qs).filter(Q(serial_number__in=serials) | Q(lot_number__in=lots)))
    found: list[Unit] = []
    for line, gtin, serial, lot in wanted:
        matches = [
            u
            for u in candidates
            if (not gtin or u.product.gtin == gtin)
            and (u.serial_number == serial if serial else u.lot_number == lot)
            and u not in found
        ]
        if serial and len(matches) == 1 or not serial and matches:
            found.append(matches[0])
        elif not matches:
            problems.append(f"{line}: no unit you can use matches this.")
        else:
            problems.append(f"{line}: several units match; scan the full UDI barcode.")
    return found, problems
