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

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from config.mail import send_after_commit

from .expiry import unexpired_q
from .models import ParLevel, Recall, RecallUnit, Unit, UnitState

logger = logging.getLogger("trunkpool.par")


def par_stock(*, level: ParLevel, today=None) -> QuerySet[Unit]:
    """The units that count towards a par level (see the module docstring)."""
    today = today or timezone.localdate()
    recalled = RecallUnit.objects.filter(
        unit_id=OuterRef("pk"), recall__status=Recall.Status.ACTIVE
    )
    return Unit.objects.filter(
        unexpired_q(today=today),
        organization_id=level.organization_id,
        location_id=level.location_id,
        product_id=level.product_id,
        custodian_id=level.location.holder_id,
        state=UnitState.AVAILABLE,
    ).exclude(Exists(recalled))


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
    """Tell the distributor. (In-app notices arrive with `accounts.notify`; until it is merged
    this sends the email only.)"""
    url = settings.SITE_URL + reverse("home")
    subject = f"{level.location} is below par for {level.product.catalog_number}"
    body = (
        f"{level.location} holds {count} usable {level.product} (par {level.par}, reorder to "
        f"{level.reorder_to}).\n\nYour dashboard proposes a replenishment: {url}\n"
    )
    for user in below_par_recipients(level=level):
        if user.email:
            send_after_commit(subject=subject, body=body, to=[user.email])
