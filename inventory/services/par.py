"""Par levels: how many usable units of a product a distributor's location should hold, and the
alert when it drops below.

What counts: available, unexpired units of the product at the location, in the custody of the
location's holder, that no active recall names. Any write that takes units out of (or brings
them into) a location goes through `services.ledger.record_entries` or receiving, which hand the
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

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind
from accounts.selectors import actor_for
from accounts.services import notify
from inventory import payloads, policies
from inventory.models import Location, ParLevel, Product
from inventory.selectors.par import par_stock

logger = logging.getLogger("trunkpool.par")


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
                    payloads.emit_below_par(level, count)
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
