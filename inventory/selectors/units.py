"""Reads of units: list rows and filters, custody labels, history, scans, holds, expiry counts and
the pool's levels."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Role, User
from accounts.policies import Actor
from inventory import hooks, policies
from inventory.expiry import WITHIN_90, expiry_q, unexpired_q
from inventory.filters import UnitFilter, product_lines
from inventory.models import (
    CustodyEntry,
    EntryKind,
    Location,
    Product,
    Unit,
    UnitState,
)


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


def list_partitions(filterset: UnitFilter, holder_ids) -> list[Q]:
    """`holder_partitions` for a filtered unit list, or none when a search already names few
    units. Each partition repeats a holder of the scope's "custodian IN" list, and PostgreSQL
    multiplies the two as if independent: at full scale it expected 5 of a distributor's
    28,000 units, so it walked all of them in expiry order testing the search on each
    (35-170 ms), where the search's trigram index finds the few matches of the whole scope in
    3-11 ms, sorted in memory."""
    return [] if filterset.selective_search else holder_partitions(holder_ids)


# A list row names people (name and role) and reads nothing else of them: the rest of a user
# row (password hash, login times) was most of the timestamps psycopg parsed for a list.
USER_UNUSED = (
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
    return [f"{relation}__{name}" for relation in relations for name in USER_UNUSED]


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
        .defer(*people_only_named("custodian"))
        .annotate(decline_entry_id=Subquery(declined.values("pk")[:1]))
    )


def with_declines(units: list[Unit]) -> list[Unit]:
    """Attach to each unit of a page its decline (`unit.decline`: the ledger entry, with the
    reason as its note, who declined it, for whom, when and which transfer id). One query, of
    only the people's names: full user rows of three people per row were most of its time."""
    entries = (
        CustodyEntry.objects.filter(
            pk__in=[u.decline_entry_id for u in units if u.decline_entry_id]
        )
        .select_related("actor", "on_behalf_of")
        .defer(*people_only_named("actor", "on_behalf_of"))
    )
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
