"""Reads of par levels: the stock that counts towards a level, and the dashboard's locations below
par with a proposed replenishment transfer each."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from inventory.expiry import unexpired_q
from inventory.models import Location, ParLevel, Recall, RecallUnit, Unit, UnitState

ANY_HOLDER = object()


def usable_stock(
    *, organization_id: int, holder_id: int | None | object = ANY_HOLDER, today=None
) -> QuerySet[Unit]:
    """Units that count as stock (see the module docstring): available, unexpired, named by
    no active recall; the holder's (None: organization custody), or any holder's by default.
    The one definition par levels and proposals share."""
    today = today or timezone.localdate()
    recalled = RecallUnit.objects.filter(
        unit_id=OuterRef("pk"), recall__status=Recall.Status.ACTIVE
    )
    units = Unit.objects.filter(
        unexpired_q(today=today),
        organization_id=organization_id,
        state=UnitState.AVAILABLE,
    ).exclude(Exists(recalled))
    return units if holder_id is ANY_HOLDER else units.filter(custodian_id=holder_id)


def par_stock(*, level: ParLevel, today=None) -> QuerySet[Unit]:
    """The units that count towards a par level: the location holder's stock there."""
    return usable_stock(
        organization_id=level.organization_id, holder_id=level.location.holder_id, today=today
    ).filter(location_id=level.location_id, product_id=level.product_id)


BELOW_PAR_SHOWN = 20  # levels the dashboard lists, each with its proposal (one query each)


class BelowParRows(list):
    """The levels below par that are listed; `more` counts those left out."""

    more: int = 0


@dataclass
class TransferProposal:
    """Units of another holder's warehouse to transfer into the location (prefilled)."""

    source: object  # the holder (a User), or None for organization custody
    units: list[Unit]


@dataclass
class BelowPar:
    level: ParLevel
    count: int
    proposal: list[Unit]  # a move: from the location holder's own warehouses
    short: int  # how many more the warehouses would need to reach reorder-to
    transfers: list[TransferProposal] = field(default_factory=list)  # from other holders


def _replenishment_sources(usable, *, viewer):
    """The units that may refill a par level: usable stock in the warehouses whose stock the
    viewer may move or transfer."""
    scope = holder_ids_in_scope(actor=actor_for(viewer))
    # The few warehouses, by id: a filter the location index serves, where a join on the
    # location's kind read every unit of the product.
    warehouses = Location.objects.filter(
        organization_id=viewer.organization_id, kind=Location.Kind.WAREHOUSE
    )
    if scope is not None:
        warehouses = warehouses.filter(holder_id__any_of=scope)
    sources = usable.filter(location_id__in=list(warehouses.values_list("pk", flat=True)))
    if scope is not None:
        sources = sources.filter(custodian_id__any_of=scope)
    return sources


def below_par(
    *, holder, today=None, viewer=None, propose: bool = True, level_id: int | None = None
) -> BelowParRows:
    """The locations below par now (`holder`'s; every holder's of the viewer's organization
    when `holder` is None), each with a proposed replenishment up to the reorder-to quantity:
    units that count as stock in warehouses, earliest expiry first, the location holder's own
    first (a move); then, when those fall short, warehouses of other holders whose stock
    `viewer` (default: the holder) may transfer, for example organization custody for an admin
    (a transfer to the location's holder, per source holder). The first BELOW_PAR_SHOWN only
    (`more` counts the rest): one grouped count, then one query per level listed.

    `propose=False` lists the levels without their proposals (the dashboard: each level's
    proposal is one click away); `level_id` narrows to one level (that proposal's page)."""
    today = today or timezone.localdate()
    viewer = viewer or holder
    levels = ParLevel.objects.filter(organization_id=viewer.organization_id)
    if holder is not None:
        levels = levels.filter(location__holder=holder)
    if level_id is not None:
        levels = levels.filter(pk=level_id)
    levels = list(
        levels.select_related("location__holder", "product").order_by(
            "location__name", "product__catalog_number"
        )
    )
    if not levels:
        return BelowParRows()
    usable = usable_stock(organization_id=viewer.organization_id, today=today)
    counts = {
        (row["location_id"], row["product_id"], row["custodian_id"]): row["n"]
        for row in usable.filter(
            location_id__in={lv.location_id for lv in levels},
            product_id__in={lv.product_id for lv in levels},
        )
        .values("location_id", "product_id", "custodian_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    sources = _replenishment_sources(usable, viewer=viewer) if propose else None
    rows = BelowParRows()
    for level in levels:
        count = counts.get((level.location_id, level.product_id, level.location.holder_id), 0)
        if count >= level.par:
            continue
        if len(rows) >= BELOW_PAR_SHOWN:
            rows.more += 1
            continue
        need = level.reorder_to - count
        if not propose:
            rows.append(BelowPar(level, count, [], need))
            continue
        candidates = (
            sources.filter(product_id=level.product_id)
            .exclude(location_id=level.location_id)
            .select_related("product", "location", "custodian")
            .order_by(F("expiration_date").asc(nulls_last=True), "pk")
        )
        # The holder's own warehouses first (a move), then others' (transfers): two reads in
        # expiry order that an index serves, rather than one sort of every candidate unit.
        own = Q(custodian_id=level.location.holder_id)
        picked = list(candidates.filter(own)[:need])
        if len(picked) < need:
            picked += list(candidates.exclude(own)[: need - len(picked)])
        moves = [u for u in picked if u.custodian_id == level.location.holder_id]
        by_source: dict[int | None, list[Unit]] = {}
        for unit in picked:
            if unit.custodian_id != level.location.holder_id:
                by_source.setdefault(unit.custodian_id, []).append(unit)
        transfers = [TransferProposal(units[0].custodian, units) for units in by_source.values()]
        rows.append(BelowPar(level, count, moves, need - len(picked), transfers))
    return rows
