"""Reads of the labels that disagreed with a unit's record (`LabelMismatch`): the admins' list
and the unit page's note. (Scans themselves are read by inventory.selectors.scans.)"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.policies import Actor
from inventory import hooks, policies
from inventory.models import LabelMismatch, Unit
from inventory.selectors.units import people_only_named

# Which rows the list shows: still to deal with, dealt with, or both.
STATUSES = ("open", "resolved", "all")
# Newest first; read from the (organization, -at, -id) indexes a page at a time.
MISMATCH_KEYSET = (("at", "desc"), ("pk", "desc"))


def label_mismatches(*, actor: Actor, status: str = "open") -> QuerySet[LabelMismatch]:
    """The organization's label mismatches for an admin to review (nobody else sees any),
    newest first, with what a row shows (unit, product, holder, who scanned, who resolved).
    `status`: "open" (not yet resolved), "resolved" or "all"."""
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}.")
    if not policies.can_review_label_mismatches(actor=actor):
        return LabelMismatch.objects.none()
    qs = LabelMismatch.objects.filter(organization_id=actor.organization_id)
    if status == "open":
        qs = qs.filter(resolved_at__isnull=True)
    elif status == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    return (
        qs.select_related("unit__product", "unit__custodian", "scanned_by", "resolved_by")
        .defer(*people_only_named("unit__custodian", "scanned_by", "resolved_by"))
        .order_by("-at", "-pk")
    )


def with_event_refs(rows: list[LabelMismatch], *, viewer) -> list[LabelMismatch]:
    """Attach to each row of a page the name and link of its event (`row.event_ref`, None
    without one), through inventory.hooks so inventory never imports events. One query."""
    refs = hooks.ledger_event_refs(user=viewer, event_ids={row.event_id for row in rows})
    for row in rows:
        row.event_ref = refs.get(row.event_id)
    return rows


def open_mismatch_count(*, actor: Actor, unit: Unit) -> int:
    """How many of the unit's label mismatches are still open, for an admin (0 for others)."""
    if not policies.can_review_label_mismatches(actor=actor):
        return 0
    return LabelMismatch.objects.filter(
        organization_id=actor.organization_id, unit=unit, resolved_at__isnull=True
    ).count()
