"""Par levels: how many usable units of a product a distributor's location should hold, and the
alert when it drops below.

What counts: available, unexpired units of the product at the location, in the custody of the
location's holder, that no active recall names. Any write that takes units out of (or brings
them into) a location goes through `services.record_entries` or receiving, which hand the
(location, product) pairs they touched to `check_after_commit`; the daily expiry run
(`manage.py par_levels_check`) re-checks every level, since units expire without any write.

The check runs after the write commits, in its own transaction: it locks the par-level row,
counts the committed stock, and flips `alerted_at` with a conditional UPDATE (set only while it
is NULL, cleared only while it is set). So two requests that drop the same location at the same
moment notify once, and neither can miss the drop the other one completed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind
from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from accounts.services import notify

from . import policies
from .expiry import unexpired_q
from .models import Location, ParLevel, Product, Recall, RecallUnit, Unit, UnitState

logger = logging.getLogger("trunkpool.par")


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


def check_after_commit(*, pairs: Iterable[tuple[int, int]]) -> None:
    """Re-check the par levels of these (location id, product id) pairs once the current
    transaction commits. Costs one query now when no pair has a par level."""
    pairs = {(loc, product) for loc, product in pairs if loc}
    if not pairs:
        return
    level_ids = [
        pk
        for pk, loc, product in ParLevel.objects.filter(
            location_id__in={loc for loc, _ in pairs}, product_id__in={p for _, p in pairs}
        ).values_list("pk", "location_id", "product_id")
        if (loc, product) in pairs
    ]
    if level_ids:
        transaction.on_commit(lambda: par_levels_check(level_ids=level_ids), robust=True)


def par_levels_check(*, level_ids: Iterable[int], today=None) -> list[ParLevel]:
    """Compare each par level with its stock; alert the holder of each location that just
    crossed below par, re-arm each one back at or above par. Returns the levels that alerted.

    Each level in its own short transaction, its row locked before its stock is counted.
    """
    alerted = []
    for pk in sorted(set(level_ids)):
        with transaction.atomic():
            level = (
                ParLevel.objects.select_for_update(of=("self",))
                .select_related("location__holder", "product")
                .filter(pk=pk)
                .first()
            )
            if level is None:
                continue
            count = par_stock(level=level, today=today).count()
            if count < level.par:
                # Conditional: only the request that finds the alert armed sends it.
                crossed = ParLevel.objects.filter(pk=pk, alerted_at__isnull=True).update(
                    alerted_at=timezone.now()
                )
                if crossed:
                    _notify_below_par(level=level, count=count)
                    alerted.append(level)
            else:
                ParLevel.objects.filter(pk=pk, alerted_at__isnull=False).update(alerted_at=None)
    return alerted


def below_par_recipients(*, level: ParLevel) -> list:
    """Who hears that a location fell below par: its holder (the distributor)."""
    holder = level.location.holder
    return [holder] if holder is not None and holder.is_active else []


def _notify_below_par(*, level: ParLevel, count: int) -> None:
    """Tell the distributor, in-app and by email (nobody acted: the drop is the news)."""
    notify(
        recipients=below_par_recipients(level=level),
        kind=NotificationKind.BELOW_PAR,
        actor=None,
        organization_id=level.organization_id,
        summary=f"{level.location} is below par for {level.product.catalog_number}",
        detail=(
            f"{level.location} holds {count} usable {level.product} (par {level.par}, reorder "
            f"to {level.reorder_to}). Your dashboard proposes a replenishment."
        ),
        url=reverse("home"),
    )


@transaction.atomic
def par_level_set(
    *, actor, location: Location, product: Product, par: int, reorder_to: int
) -> ParLevel:
    """Set (or change) the par and reorder-to quantity of a product at a distributor's
    location: an admin or that distributor. Raises PermissionDenied otherwise, ValidationError
    for a product of another organization, a par below 1 or a reorder-to below par. The new
    level is checked against the stock at once (after commit), so setting a par above what the
    location holds alerts."""
    who = actor_for(actor)
    if location is None or not policies.can_set_par_level(actor=who, location=location):
        raise PermissionDenied("Only an admin or the distributor who holds it sets its par levels.")
    errors = {}
    if product is None or product.organization_id != actor.organization_id:
        errors["product"] = "Choose a product of your catalog."
    if par is None or par < 1:
        errors["par"] = "Par is at least 1."
    elif reorder_to is None or reorder_to < par:
        errors["reorder_to"] = "Reorder to at least the par."
    if errors:
        raise ValidationError(errors)
    level, _ = ParLevel.objects.update_or_create(
        location=location,
        product=product,
        defaults={
            "organization_id": actor.organization_id,
            "par": par,
            "reorder_to": reorder_to,
            "updated_at": timezone.now(),
        },
    )
    check_after_commit(pairs={(location.pk, product.pk)})
    return level


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
    scope = holder_ids_in_scope(actor=actor_for(viewer))
    # The few warehouses whose stock the viewer may move or transfer, by id: a filter the
    # location index serves, where a join on the location's kind read every unit of the product.
    warehouses = Location.objects.filter(
        organization_id=viewer.organization_id, kind=Location.Kind.WAREHOUSE
    )
    if scope is not None:
        warehouses = warehouses.filter(holder_id__in=scope)
    sources = usable.filter(location_id__in=list(warehouses.values_list("pk", flat=True)))
    if scope is not None:
        sources = sources.filter(custodian_id__in=scope)
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
