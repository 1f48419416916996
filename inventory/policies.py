"""Yes/no rules for inventory actions; services enforce them, templates use them for buttons.

Pure: they read fields of the objects given and the `Actor` snapshot, never the database.
"""

from __future__ import annotations

from accounts.policies import Actor, acts_for, answers_for, own_holder_ids

from .models import Transfer, Unit, UnitState


def can_act_on_unit(*, actor: Actor, unit: Unit) -> bool:
    return acts_for(actor=actor, holder_id=unit.custodian_id, holder_org_id=unit.organization_id)


def can_transfer_unit(*, actor: Actor, unit: Unit) -> bool:
    return unit.state == UnitState.AVAILABLE and can_act_on_unit(actor=actor, unit=unit)


def can_answer_transfer(*, actor: Actor, transfer: Transfer) -> bool:
    """Accept or decline: the recipient, the recipient's distributor, or an admin."""
    return transfer.status == Transfer.Status.PENDING and answers_for(
        actor=actor, holder_id=transfer.recipient_id, holder_org_id=transfer.organization_id
    )


def can_cancel_transfer(*, actor: Actor, transfer: Transfer) -> bool:
    """The starter may take a pending transfer back; so may an admin."""
    if transfer.status != Transfer.Status.PENDING or not actor.is_active:
        return False
    if transfer.organization_id != actor.organization_id:
        return False
    return transfer.started_by_id == actor.id or actor.is_admin


def completes_at_once(*, actor: Actor, recipient_id: int | None, organization_id: int) -> bool:
    """No second step when the starter already speaks for the recipient (README, "Transfers")."""
    return answers_for(actor=actor, holder_id=recipient_id, holder_org_id=organization_id)


def can_review_holds(*, actor: Actor) -> bool:
    """The hold queue (units back from declined transfers) is the admins' to review and release."""
    return actor.is_active and actor.is_admin


def can_release_hold(*, actor: Actor, unit: Unit) -> bool:
    return (
        can_review_holds(actor=actor)
        and unit.state == UnitState.HOLD
        and unit.organization_id == actor.organization_id
    )


def can_receive(*, actor: Actor) -> bool:
    return actor.is_active and (actor.is_admin or actor.is_distributor)


def receivable_holder_ids(*, actor: Actor) -> frozenset[int] | None:
    """Whose custody the actor may receive stock into. None: any holder of the organization,
    organization custody included (admins); a distributor: their own; anyone else: nobody."""
    if not can_receive(actor=actor):
        return frozenset()
    if actor.is_admin:
        return None
    return own_holder_ids(actor=actor)


def can_receive_into(*, actor: Actor, custodian_id: int | None) -> bool:
    """Admins receive into any holder's custody (or the organization's); distributors into
    their own."""
    scope = receivable_holder_ids(actor=actor)
    return scope is None or custodian_id in scope


def can_manage_catalog(*, actor: Actor) -> bool:
    return actor.is_active and actor.is_admin


def can_move_unit(*, actor: Actor, unit: Unit, to_location=None) -> bool:
    """Whoever may transfer a unit may move it to another location of its holder; a unit on
    hold may move too (custody and state stay as they are). A quarantined unit is usable by
    nobody and moves only within organization custody, where it waits for its return.
    Without `to_location`: may the unit be moved anywhere at all (the unit page's Move link)."""
    if unit.state == UnitState.QUARANTINED:
        holder_id = unit.custodian_id if to_location is None else to_location.holder_id
        movable = holder_id is None
    else:
        movable = unit.state in (UnitState.AVAILABLE, UnitState.HOLD)
    same_holder = to_location is None or unit.custodian_id == to_location.holder_id
    return movable and same_holder and can_act_on_unit(actor=actor, unit=unit)


def can_manage_recalls(*, actor: Actor) -> bool:
    """Record, return and withdraw recalls: admins."""
    return actor.is_active and actor.is_admin


def can_look_up_recalls(*, actor: Actor) -> bool:
    """The recall lookup: admins (the organization) and distributors (within their scope)."""
    return actor.is_active and (actor.is_admin or actor.is_distributor)


def can_manage_par_levels(*, actor: Actor) -> bool:
    """Open the par-level page: admins (every distributor's locations) and distributors (their
    own); which location a person may set is `can_set_par_level`."""
    return actor.is_active and (actor.is_admin or actor.is_distributor)


def can_set_par_level(*, actor: Actor, location) -> bool:
    """Par levels belong to a distributor's locations: set by an admin or that distributor."""
    if not can_manage_par_levels(actor=actor) or location.organization_id != actor.organization_id:
        return False
    holder = location.holder
    if holder is None or holder.role != "distributor":
        return False
    return actor.is_admin or holder.pk == actor.id


def recall_refusal(unit: Unit, recall) -> str:
    """Why a quarantined unit cannot be used or moved on, naming the recall."""
    if recall is None:
        return f"{unit.label} is quarantined."
    return (
        f"{unit.label} is quarantined under recall {recall.reference} "
        f"({recall.get_recall_class_display()})."
    )


def can_review_label_mismatches(*, actor: Actor) -> bool:
    """Labels that disagreed with a unit's record: the admins' to check, correct and resolve
    (they alone change the catalog and the records)."""
    return actor.is_active and actor.is_admin
