"""The daily expiry digest: each holder's units that expired or expire within 30 days, by email."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.mail import send_after_commit
from inventory.models import Unit
from inventory.selectors.units import expiry_digest_units

DIGEST_MAX_LINES = 300  # units listed in one email; the rest are counted, the list links to all


def expiry_digest_enqueue(*, today: datetime.date | None = None) -> int:
    """Enqueue one email per holder listing their units that expired or expire within 30 days,
    grouped by location. Each email's key names the holder and the date, so running this twice
    on one day sends nothing twice. Returns how many emails were enqueued."""
    today = today or timezone.localdate()
    units = expiry_digest_units(today=today).iterator(chunk_size=2000)
    enqueued = 0
    for _, rows in itertools.groupby(units, key=lambda unit: unit.custodian_id):
        held = list(rows)
        holder = held[0].custodian
        expired, soon, body = _expiry_digest_body(held, today=today)
        with transaction.atomic():
            send_after_commit(
                subject=f"Expiry digest: {expired} expired, {soon} expiring within 30 days",
                body=f"Hello {holder.name},\n\n" + body,
                to=[holder.email],
                organization_id=holder.organization_id,
                key=f"expiry-digest:{holder.pk}:{today.isoformat()}",
            )
        enqueued += 1
    return enqueued


def _expiry_digest_body(units: Iterable[Unit], *, today: datetime.date) -> tuple[int, int, str]:
    """(expired count, expiring count, the text listing them by location)."""
    lines: list[str] = []
    expired = soon = 0
    place = object()
    for unit in units:
        if unit.is_expired(today):
            expired += 1
        else:
            soon += 1
        if expired + soon > DIGEST_MAX_LINES:
            continue
        here = unit.location.name if unit.location else "No location"
        if here != place:
            lines += ["", here]
            place = here
        when = "EXPIRED" if unit.is_expired(today) else "expires"
        which = f"SN {unit.serial_number}" if unit.serial_number else f"lot {unit.lot_number}"
        lines.append(
            f"  {when} {unit.expiration_date}  {unit.product.catalog_number} "
            f"{unit.product.description}  {which}"
        )
    listed = min(expired + soon, DIGEST_MAX_LINES)
    link = settings.SITE_URL + reverse("inventory:unit_list")
    text = (
        f"As of {today}, {expired} unit(s) in your custody have expired and {soon} expire "
        f"within 30 days, by location:\n" + "\n".join(lines) + "\n"
    )
    if listed < expired + soon:
        text += f"\n… and {expired + soon - listed} more.\n"
    text += f"\nSee them: {link}?expiry=expired and {link}?expiry=30\n"
    return expired, soon, text
