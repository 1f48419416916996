"""Reads of transfers: what waits on whom, list rows and unit counts."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from accounts.policies import Actor, holder_ids_in_scope, spoken_for_ids
from inventory.models import (
    Transfer,
    TransferLine,
)
from inventory.selectors.units import USER_UNUSED

# Newest first: the transfers page's "Recent" list pages through it with a cursor.
TRANSFER_KEYSET = (("created_at", "desc"), ("pk", "desc"))


def transfers_waiting_on(*, user: User, actor: Actor) -> QuerySet[Transfer]:
    """Pending transfers the user may accept or decline: those sent to someone they answer for
    (`accounts.policies.answers_for`: themselves, their reps, or, for an admin, anyone of the
    organization and organization custody)."""
    qs = Transfer.objects.filter(
        organization_id=actor.organization_id, status=Transfer.Status.PENDING
    )
    scope = spoken_for_ids(actor=actor)
    return qs if scope is None else qs.filter(recipient_id__any_of=scope)


def waits_on_me(*, transfer: Transfer, actor: Actor) -> bool:
    """Sent to this person, or, for an admin, to organization custody (only admins take it)."""
    if transfer.recipient_id is None:
        return actor.is_admin
    return transfer.recipient_id == actor.id


def waiting_on_me_q(*, actor: Actor) -> Q:
    return Q(recipient__isnull=True) if actor.is_admin else Q(recipient_id=actor.id)


ROW_PEOPLE = ("sender", "recipient", "started_by", "on_behalf_of")


def with_row_details(transfers: list[Transfer]) -> list[Transfer]:
    """What a transfer list row shows beyond its own columns, for the rows kept only: their
    people in one query and `unit_count` in another.

    Joining the four people in the list's query made PostgreSQL join them to every candidate
    before the sort kept a page (a distributor's 511 pending transfers, four lookups each), and
    Python build four users per row where a page names a few dozen people."""
    ids = {getattr(t, f"{name}_id") for t in transfers for name in ROW_PEOPLE} - {None}
    people = User.objects.defer(*USER_UNUSED).in_bulk(ids) if ids else {}
    for transfer in transfers:
        for name in ROW_PEOPLE:
            person_id = getattr(transfer, f"{name}_id")
            setattr(transfer, name, None if person_id is None else people[person_id])
    return count_units(transfers)


def count_units(transfers: list[Transfer]) -> list[Transfer]:
    """Set `unit_count` on the transfers shown, in one query over their lines only (counting
    in the list's own query would group every transfer before keeping a page of them)."""
    counts = dict(
        TransferLine.objects.filter(transfer_id__in={t.pk for t in transfers})
        .values("transfer_id")
        .annotate(n=Count("*"))
        .values_list("transfer_id", "n")
    )
    for transfer in transfers:
        transfer.unit_count = counts.get(transfer.pk, 0)
    return transfers


def transfers_sent_pending(*, actor: Actor) -> QuerySet[Transfer]:
    """Pending transfers the user started, or sent from stock they act for."""
    scope = holder_ids_in_scope(actor=actor)
    qs = Transfer.objects.filter(
        organization_id=actor.organization_id, status=Transfer.Status.PENDING
    )
    if scope is None:
        return qs.filter(started_by_id=actor.id)
    return qs.filter(Q(started_by_id=actor.id) | Q(sender_id__any_of=scope))
