"""Reads of units: list rows and filters, custody labels, history, scans, holds, expiry counts and
the pool's levels."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Role, User
from accounts.policies import Actor
from inventory import hooks, policies
from inventory.expiry import WITHIN_90, expiry_q, unexpired_q
from inventory.filters import UnitFilter, product_lines
from inventory.identification import Identified
from inventory.models import (
    CustodyEntry,
    EntryKind,
    Location,
    Product,
    Unit,
    UnitState,
)
from inventory.udi import Label, UdiError, parse_label


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


# The same order as a keyset (core.keyset): the list pages through it with a cursor.
UNIT_KEYSET = (("expiration_date", "asc"), ("pk", "asc"))


def holder_partitions(holder_ids, *, most: int = 4) -> list[Q]:
    """One condition per holder, for a unit list whose scope is a few holders (a pooled rep:
    their own custody and the distributor's): `core.keyset` reads each in expiry order from
    the (custodian, expiry) index and merges them, instead of sorting every unit of every
    holder. None for a scope of one holder, the whole organization, or too many to read apart.
    """
    if holder_ids is None or not 1 < len(holder_ids) <= most:
        return []
    return [Q(custodian_id=holder_id) for holder_id in sorted(holder_ids)]


# A list row names people (name and role) and reads nothing else of them: the rest of a user
# row (password hash, login times) was most of the timestamps psycopg parsed for a list.
_USER_UNUSED = (
    "password",
    "last_login",
    "date_joined",
    "email",
    "first_name",
    "last_name",
    "is_superuser",
    "is_staff",
)


def people_only_named(*relations: str) -> list[str]:
    """`defer()` arguments that leave out what a list row never reads of these users."""
    return [f"{relation}__{name}" for relation in relations for name in _USER_UNUSED]


def unit_rows(qs: QuerySet[Unit]) -> QuerySet[Unit]:
    """What a unit list row shows, in one query."""
    return qs.select_related("product", "custodian", "location", "facility").defer(
        *people_only_named("custodian")
    )


# The columns of the unit export, immediate or in the background.
EXPORT_COLUMNS = [
    "catalog_number",
    "description",
    "product_line",
    "lot_number",
    "serial_number",
    "expiration_date",
    "state",
    "custody",
    "location",
]


def export_row(*, unit: Unit, actor: Actor) -> list[str]:
    """One unit as a row of EXPORT_COLUMNS (needs unit_rows' select_related)."""
    return [
        unit.product.catalog_number,
        unit.product.description,
        unit.product.product_line,
        unit.lot_number,
        unit.serial_number,
        unit.expiration_date.isoformat() if unit.expiration_date else "",
        unit.state,
        custody_label(unit=unit, actor=actor).text,
        unit.location.name if unit.location else "",
    ]


def more_rows_than(qs: QuerySet, limit: int) -> bool:
    """Whether `qs` has more than `limit` rows, counting at most limit + 1 of them."""
    return qs[: limit + 1].count() > limit


def filtered_units(
    *,
    params,
    actor: Actor,
    queryset: QuerySet[Unit],
    for_use: bool = False,
    own_label: str = "",
) -> tuple[UnitFilter, QuerySet[Unit], bool]:
    """The shared unit filters (custody, search, state, expiry...) applied to an already scoped
    queryset: `Unit.objects.visible_to(user)` for the inventory list, what an event's
    representative may use for Mark Used (`for_use`, with `actor` the representative).

    Returns the filterset, the filtered queryset and whether the filters were valid; invalid
    filters show nothing rather than everything.
    """
    # Always bound (an empty query string is valid), so default narrowing applies too.
    filterset = UnitFilter(
        params,
        queryset=queryset,
        actor=actor,
        product_lines=product_lines(actor.organization_id),
        for_use=for_use,
        own_label=own_label,
    )
    if not filterset.is_valid():
        return filterset, queryset.none(), False
    return filterset, filterset.qs, True


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


def receive_custodians(*, actor: Actor) -> QuerySet[User] | None:
    """Whom the receiving forms offer as custodian. None: any holder of the organization or
    organization custody (an admin picks through the type-ahead); otherwise the few holders
    `can_receive_into` allows (a distributor: herself), never a list of every holder."""
    scope = policies.receivable_holder_ids(actor=actor)
    if scope is None:
        return None
    allowed = [pk for pk in scope if policies.can_receive_into(actor=actor, custodian_id=pk)]
    return User.objects.filter(
        organization_id=actor.organization_id, is_active=True, pk__in=allowed
    ).order_by("display_name", "username")


def expiry_counts(*, qs: QuerySet[Unit], today: datetime.date | None = None) -> dict[str, int]:
    """Units still in stock that expired, or expire within 30 and 90 days, in one query.

    Reads only units expiring within 90 days (or already expired) through the partial index
    on live units' (custodian, expiration_date) (migration 0010), an index-only range scan per
    holder; it never aggregates a holder's whole stock. Dates are compared on every view, so a
    unit crossing a window at midnight is counted right without any write.
    """
    today = today or timezone.localdate()
    # Every window lies at or before the 90-day edge: read only that range of the index.
    in_90 = today + datetime.timedelta(days=WITHIN_90)
    return (
        qs.exclude(state=UnitState.INACTIVE)
        .filter(expiration_date__lte=in_90)
        .aggregate(
            expired=Count("expiration_date", filter=expiry_q("expired", today=today)),
            within_30=Count("expiration_date", filter=expiry_q("30", today=today)),
            within_90=Count("expiration_date", filter=expiry_q("90", today=today)),
        )
    )


def pool_levels(*, actor: Actor, today: datetime.date | None = None) -> list[dict]:
    """The distributor's usable units per location, by location name: available and not
    expired (an expired unit cannot be used, so it does not stock the pool).

    Counted on the partial index of available units by (custodian, location) (inventory
    migration 0010) with no join, so PostgreSQL streams index entries instead of joining
    and hashing every unit; the few location names come in a second query.
    """
    today = today or timezone.localdate()
    counts = list(
        Unit.objects.filter(
            unexpired_q(today=today),
            organization_id=actor.organization_id,
            custodian_id=actor.id,
            state=UnitState.AVAILABLE,
        )
        .values("location_id")
        .annotate(units=Count("*"))
        .order_by("location_id")
    )
    names = dict(
        Location.objects.filter(
            organization_id=actor.organization_id,
            pk__in=[row["location_id"] for row in counts if row["location_id"]],
        ).values_list("pk", "name")
    )
    rows = [{**row, "location__name": names.get(row["location_id"])} for row in counts]
    # By name; units with no location recorded last.
    return sorted(rows, key=lambda r: (r["location__name"] is None, r["location__name"] or ""))


@dataclass
class ScanResult:
    found: list[Unit]
    problems: list[str]  # one per line that matched nothing, several, or a disagreeing record
    notes: list[str]  # what a person should know about a line that did match
    identified: dict[int, str]  # unit id -> how it was named (Identified: scanned or typed)


def units_from_scan(
    *, qs: QuerySet[Unit], text: str, prefer_holder_id: int | None = None
) -> ScanResult:
    """Resolve scanned or pasted lines (GS1 element strings or Digital Link URIs, typed serial
    numbers, or a bare lot) to units in `qs`.

    - A label that names a unit by serial is checked against that unit's record: when its GTIN,
      lot or expiry disagrees, the line is refused with both values (`label_mismatch`); a field
      the record lacks is not a disagreement.
    - A typed serial matches whatever its case; the note says the serial as recorded.
    - A lot alone (a label without serial, or typed text that is no serial) takes the unit of
      `prefer_holder_id`'s own custody first, then the rest, earliest expiry first; when the
      lot's units are serial-tracked it asks which serial instead of guessing.
    Two queries at most, whatever the number of lines.
    """
    wanted: list[tuple[str, Label | None, str, str]] = []  # (line, label, serial, lot)
    problems: list[str] = []
    notes: list[str] = []
    identified: dict[int, str] = {}
    # Only real line breaks separate scans: str.splitlines() would also split at the GS
    # character (\x1d) that sits between the fields of one raw GS1 barcode.
    for raw in re.split(r"\r\n|\r|\n", text):
        line = raw.strip()
        if not line:
            continue
        looks_gs1 = line.startswith(("(", "]", "http://", "https://")) or (
            line[:2] == "01" and len(line) >= 16
        )
        if looks_gs1:
            try:
                label = parse_label(line)
                if not label.gtin:
                    raise UdiError("That label has no GTIN (01), so the product cannot be found.")
            except UdiError as exc:
                problems.append(f"{line}: {exc}")
                continue
            wanted.append((line, label, label.serial, label.lot))
        else:
            wanted.append((line, None, line, line))  # a serial, or else a lot
    if not wanted:
        return ScanResult([], problems, notes, {})
    # Serials are unique per product ignoring case; LOWER(serial_number) is indexed (0018).
    serials = {serial.lower() for _, _, serial, _ in wanted if serial}
    lots = {lot for _, _, _, lot in wanted if lot}
    candidates = list(
        unit_rows(qs.annotate(serial_ci=Lower("serial_number"))).filter(
            Q(serial_ci__in=serials) | Q(lot_number__in=lots)
        )
    )
    found: list[Unit] = []
    for line, label, serial, lot in wanted:
        gtin = label.gtin if label else ""
        unit, problem = None, ""
        if serial:
            same = [u for u in candidates if u.serial_number.lower() == serial.lower()]
            same = [u for u in same if u not in found]
            exact = [u for u in same if u.serial_number == serial]
            by_serial = exact or same
            matches = [u for u in by_serial if not gtin or u.product.gtin in ("", gtin)]
            if label and len(by_serial) == 1 and not matches:
                matches = by_serial  # one unit has that serial: say what disagrees
            if len(matches) == 1:
                unit = matches[0]
                if label and (mismatch := label_mismatch(label=label, unit=unit)):
                    problem = mismatch
                elif unit.serial_number != serial:
                    notes.append(f"{line}: found {unit.label} (the serial as recorded).")
            elif len(matches) > 1:
                problem = "several units match; scan the full UDI barcode."
            elif label:
                problem = "no unit you can use matches this."
        if unit is None and not problem:
            unit, problem = _unit_of_lot(
                candidates, line=line, lot=lot, gtin=gtin, found=found, holder_id=prefer_holder_id
            )
            if unit is not None:
                notes.append(
                    f"{line}: took {unit.label} of lot {lot}, {_lot_choice(unit, prefer_holder_id)}."
                )
        if problem:
            problems.append(f"{line}: {problem}")
        elif unit is not None:
            found.append(unit)
            identified[unit.pk] = f"scan:{label.format}" if label else Identified.TYPED
    return ScanResult(found, problems, notes, identified)


def _unit_of_lot(candidates, *, line, lot, gtin, found, holder_id):
    """The unit a lot-only scan takes, or the reason it takes none."""
    matches = [
        u
        for u in candidates
        if lot
        and u.lot_number == lot
        and (not gtin or u.product.gtin in ("", gtin))
        and u not in found
    ]
    if not matches:
        return None, "no unit you can use matches this."
    serial_tracked = [u for u in matches if u.product.tracking == Product.Tracking.SERIAL]
    if len(serial_tracked) > 1:
        serials = ", ".join(sorted(u.serial_number for u in serial_tracked)[:5])
        return None, (
            f"lot {lot} holds {len(serial_tracked)} units tracked by serial ({serials}"
            f"{', …' if len(serial_tracked) > 5 else ''}): scan or type the serial of the one "
            "you have."
        )
    far = datetime.date.max
    matches.sort(key=lambda u: (u.custodian_id != holder_id, u.expiration_date or far, u.pk))
    return matches[0], ""


def _lot_choice(unit: Unit, holder_id: int | None) -> str:
    whose = "your own custody" if unit.custodian_id == holder_id else "not your own custody"
    expiry = f"expiring {unit.expiration_date.isoformat()}" if unit.expiration_date else "no expiry"
    return f"{whose}, {expiry}, the first of its lot to use"


def label_mismatch(*, label: Label, unit: Unit) -> str:
    """What a scanned label says that the unit's record does not, as "label: ..., record: ..."
    for each field both carry ("" when they agree). A field the record lacks is no mismatch."""
    pairs = []
    if label.gtin and unit.product.gtin and label.gtin != unit.product.gtin:
        pairs.append(("GTIN", label.gtin, unit.product.gtin))
    if label.lot and unit.lot_number and label.lot != unit.lot_number:
        pairs.append(("lot", label.lot, unit.lot_number))
    if label.expiry and unit.expiration_date and label.expiry != unit.expiration_date:
        pairs.append(("expiry", label.expiry.isoformat(), unit.expiration_date.isoformat()))
    if not pairs:
        return ""
    said = ", ".join(f"{what} {value}" for what, value, _ in pairs)
    kept = ", ".join(f"{what} {value}" for what, _, value in pairs)
    return (
        f"the label and the record of {unit.label} disagree (label: {said}; record: {kept}). "
        "Nothing changed: check the box, and tell an admin if the record is wrong."
    )


def units_on_hold(*, actor: Actor) -> QuerySet[Unit]:
    """The organization's units on hold, for an admin to review (nobody else's queue), each
    with the id of the ledger entry that put it there (`decline_entry_id`; annotated per row
    shown, read through the unit's (unit, sequence) index)."""
    if not policies.can_review_holds(actor=actor):
        return Unit.objects.none()
    declined = CustodyEntry.objects.filter(
        unit_id=OuterRef("pk"), kind=EntryKind.TRANSFER_DECLINED
    ).order_by("-sequence")
    return (
        Unit.objects.filter(organization_id=actor.organization_id, state=UnitState.HOLD)
        .select_related("product", "custodian")
        .annotate(decline_entry_id=Subquery(declined.values("pk")[:1]))
    )


def with_declines(units: list[Unit]) -> list[Unit]:
    """Attach to each unit of a page its decline (`unit.decline`: the ledger entry, with the
    reason as its note, who declined it, for whom, when and which transfer). One query."""
    entries = CustodyEntry.objects.filter(
        pk__in=[u.decline_entry_id for u in units if u.decline_entry_id]
    ).select_related("actor", "on_behalf_of", "transfer__recipient")
    by_id = {e.pk: e for e in entries}
    for unit in units:
        unit.decline = by_id.get(unit.decline_entry_id)
    return units


def expiry_digest_units(*, today: datetime.date) -> QuerySet[Unit]:
    """Live units held by an active user with an email that expired or expire within 30 days
    (inventory.expiry's windows), in digest order: by holder, location, earliest expiry."""
    return (
        Unit.objects.filter(custodian__isnull=False, custodian__is_active=True)
        .exclude(custodian__email="")
        .exclude(state=UnitState.INACTIVE)
        .filter(expiry_q("expired", today=today) | expiry_q("30", today=today))
        .select_related("product", "location", "custodian")
        .order_by("custodian_id", F("location__name").asc(nulls_last=True), "expiration_date", "pk")
    )


def product_by_code(*, organization_id: int, code: str) -> Product | None:
    """The organization's product with this catalog number (any case) or GTIN, or None."""
    code = (code or "").strip()
    if not code:
        return None
    return Product.objects.filter(
        Q(catalog_number__iexact=code) | Q(gtin=code), organization_id=organization_id
    ).first()
