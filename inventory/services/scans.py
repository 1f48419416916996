"""What a scan writes besides custody: the labels that disagreed with a unit's record
(`LabelMismatch`), kept for an admin to correct the data, and marking one resolved. (The scan
itself is read by inventory.selectors.scans; the admins' list by inventory.selectors.mismatches.)
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import actor_for
from inventory import policies
from inventory.models import LabelMismatch
from inventory.selectors.scans import Mismatch


def record_label_mismatches(
    *,
    actor: User,
    mismatches: list[Mismatch],
    where: str,
    event_id: int | None = None,
) -> list[LabelMismatch]:
    """Keep each refused label of a scan `actor` made (`ScanResult.mismatches`): what the label
    said, what the unit's record said then, who scanned, in which box (`where`, a
    `LabelMismatch.Where`) and on which event (Mark Used: the caller's event, of the actor's
    organization). Anyone who scans records; nothing about the unit changes. A unit of another
    organization is never recorded. No mismatches: no query."""
    if where not in LabelMismatch.Where.values:
        raise ValueError(f"Unknown scan box {where!r}.")
    if not mismatches:
        return []
    organization_id = actor.organization_id
    now = timezone.now()
    rows = [
        _row(m, actor=actor, where=where, event_id=event_id, at=now)
        for m in mismatches
        if organization_id is not None and m.unit.organization_id == organization_id
    ]
    if not rows:
        return []
    # One open row per label, unit and person: the scanner asks about a code when it reads it
    # and again at the tap, and a rep may scan the same box twice.
    already = set(
        LabelMismatch.objects.filter(
            organization_id=organization_id,
            scanned_by=actor,
            resolved_at__isnull=True,
            unit_id__in=[r.unit_id for r in rows],
            label_text__in=[r.label_text for r in rows],
        ).values_list("unit_id", "label_text")
    )
    rows = [r for r in rows if (r.unit_id, r.label_text) not in already]
    if not rows:
        return []
    # All of a scan's rows or none (the empty case above opens no transaction: no query).
    with transaction.atomic():
        return LabelMismatch.objects.bulk_create(rows)


def _row(mismatch: Mismatch, *, actor: User, where: str, event_id, at) -> LabelMismatch:
    label, unit = mismatch.label, mismatch.unit
    product = unit.product
    return LabelMismatch(
        organization_id=unit.organization_id,
        unit=unit,
        scanned_by=actor,
        at=at,
        where=where,
        event_id=event_id,
        label_text=mismatch.line[:500],
        label_format=label.format,
        label_gtin=label.gtin,
        label_hibc=f"{label.hibc.lic}{label.hibc.product}" if label.hibc else "",
        label_lot=label.lot,
        label_serial=label.serial,
        label_expiry=label.expiry,
        record_gtin=product.gtin or "",
        record_hibc=product.hibc,
        record_lot=unit.lot_number,
        record_expiry=unit.expiration_date,
        message=mismatch.message[:1000],
    )


def label_mismatch_resolve(*, actor: User, mismatch: LabelMismatch) -> LabelMismatch:
    """An admin marks a mismatch dealt with (the record or the box corrected). Resolving one
    already resolved changes nothing: the first admin and time stay."""
    who = actor_for(actor)
    if not policies.can_review_label_mismatches(actor=who):
        raise PermissionDenied("Only an admin resolves label mismatches.")
    if mismatch.organization_id != who.organization_id:
        raise PermissionDenied("That label mismatch is not of your organization.")
    # One UPDATE that only an open row matches: two admins clicking at once resolve it once.
    LabelMismatch.objects.filter(pk=mismatch.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor
    )
    mismatch.refresh_from_db(fields=["resolved_at", "resolved_by"])
    return mismatch
