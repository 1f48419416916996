"""Recalls: record one, quarantine what it names, return or withdraw it. (Their reads and the
recall lookup are in inventory.selectors.recalls.)

A recall names one product and some of its lots or serials. Recording it finds every unit of
the organization that matches and remembers each (`RecallUnit`, with the state it was found
in). Available, on-hold and facility-stock units become `quarantined` (custody and location do
not change). Units in transit stay with their transfer, which can no longer be accepted;
cancelling or declining it quarantines them (`quarantine_recalled`, below). Units allocated
on open events are left where they are and listed for action: the surgery happened.

Lock order: the recalled product's row (`lock_product_for_recall` / `lock_products_received`),
then the recall row, then units in primary-key order (`inventory.services.ledger.lock_units`).

Recording a recall and receiving its product serialize on the product's row: otherwise each
transaction misses the other's uncommitted rows (the recall finds no new unit, the receipt no
new recall) and a received unit of a recalled lot stays available. Recording takes the row FOR
UPDATE before it looks for units; every receipt takes it FOR KEY SHARE before it looks for
recalls (`quarantine_on_receipt`), so receipts never wait for each other or for catalog edits.
A foreign key's own check does not do this: Django's are deferred to commit, after the look.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, User
from accounts.policies import Actor
from accounts.selectors import actor_for
from accounts.services import notify
from inventory import hooks, payloads, policies
from inventory.models import (
    CustodyEntry,
    EntryKind,
    Product,
    Recall,
    RecallReturn,
    RecallUnit,
    Unit,
    UnitState,
)
from inventory.selectors.recalls import MAX_CODES, active_recalls_for
from inventory.services.ledger import NOT_FOUND, check_seen, lock_units, record_entries


@transaction.atomic
def recall_record(
    *,
    actor: User,
    reference: str,
    reason: str,
    recall_class: str,
    product: Product,
    lot_numbers: Sequence[str] = (),
    serial_numbers: Sequence[str] = (),
    recall_date: datetime.date,
) -> Recall:
    """Record a manufacturer's recall (admins) and quarantine every affected unit that is
    available, on hold or facility stock, with a "quarantined" ledger entry naming it.

    Raises PermissionDenied for anyone but an admin, ValidationError (by field) for a missing
    reference or reason, a reference already used, a class other than I/II/III, a product of
    another organization, or no lots and no serials. The holders of affected units and the
    representatives of open events using one are told (after commit).
    """
    who = actor_for(actor)
    if not policies.can_manage_recalls(actor=who):
        raise PermissionDenied("Only an admin records a recall.")
    reference, reason = (reference or "").strip(), (reason or "").strip()
    lots = list(dict.fromkeys(c.strip() for c in lot_numbers if c and c.strip()))
    serials = list(dict.fromkeys(c.strip() for c in serial_numbers if c and c.strip()))
    errors = {}
    if not reference:
        errors["reference"] = "Give the manufacturer's recall reference."
    elif Recall.objects.filter(
        organization_id=actor.organization_id, reference__iexact=reference
    ).exists():
        errors["reference"] = "A recall with this reference is already recorded."
    if not reason:
        errors["reason"] = "Say why the product is recalled (the notice's reason)."
    if recall_class not in Recall.RecallClass.values:
        errors["recall_class"] = "Choose class I, II or III."
    if product is None or product.organization_id != actor.organization_id:
        errors["product"] = "Choose a product of your catalog."
    if not lots and not serials:
        errors["lot_numbers"] = "List the affected lots or serial numbers."
    if len(lots) + len(serials) > MAX_CODES:
        errors["lot_numbers"] = f"One recall lists at most {MAX_CODES} lots and serials."
    if recall_date is None:
        errors["recall_date"] = "Give the recall's date."
    if errors:
        raise ValidationError(errors)
    lock_product_for_recall(product)
    try:
        with transaction.atomic():
            recall = Recall.objects.create(
                organization_id=actor.organization_id,
                reference=reference[:80],
                reason=reason[:1000],
                recall_class=recall_class,
                product=product,
                lot_numbers=lots,
                serial_numbers=serials,
                recall_date=recall_date,
                created_by=actor,
            )
    except IntegrityError as exc:
        raise ValidationError(
            {"reference": "A recall with this reference is already recorded."}
        ) from exc
    matching = Unit.objects.filter(
        Q(lot_number__in=lots) | Q(serial_number__in=serials),
        organization_id=actor.organization_id,
        product=product,
    )
    units = lock_units(
        matching.values_list("pk", flat=True), organization_id=recall.organization_id
    )
    RecallUnit.objects.bulk_create(
        RecallUnit(recall=recall, unit=u, found_state=u.state) for u in units
    )
    record_entries(
        units=[u for u in units if u.state in QUARANTINABLE_STATES],
        kind=EntryKind.QUARANTINED,
        to_state=UnitState.QUARANTINED,
        actor=actor,
        note=f"Recall {recall.reference} ({recall.get_recall_class_display()})",
        entry_extra={"recall_id": recall.pk},
    )
    payloads.emit_recall_recorded(recall, units)
    _notify_recall(recall=recall, units=units, actor=actor)
    return recall


def _recipients(*, recall: Recall, units: Iterable[Unit]) -> dict[User, str]:
    """Each person a recall notice goes to, with the page their notice opens: the recall page
    for those who may open it (admins, distributors: it touches their scope); for a rep, the
    open case of theirs that uses an affected unit, else their own quarantined stock."""
    units = list(units)
    holders = {u.custodian_id for u in units if u.custodian_id and u.state != UnitState.INACTIVE}
    open_case_url: dict[int, str] = {}
    for use in hooks.cases_using_units(user=None, unit_ids=[u.pk for u in units], open_only=True):
        open_case_url.setdefault(use.representative_id, use.url)
    people = User.objects.filter(
        pk__in=holders | open_case_url.keys(),
        organization_id=recall.organization_id,
        is_active=True,
    ).order_by("pk")
    recall_page = reverse("inventory:recall_detail", args=[recall.pk])
    quarantined = reverse("inventory:unit_list") + "?custody=mine&state=quarantined"
    return {
        person: recall_page
        # The lookup policy reads only role and activity: a bare snapshot, no query per person.
        if policies.can_look_up_recalls(
            actor=Actor(
                id=person.pk,
                organization_id=person.organization_id,
                role=person.role,
                is_active=person.is_active,
            )
        )
        else open_case_url.get(person.pk, quarantined)
        for person in people
    }


def recall_recipients(*, recall: Recall, units: Iterable[Unit]) -> list[User]:
    """Whom a recall notice goes to: every active holder of an affected unit that is still in
    stock (not inactive), and the representative of every open event that uses one."""
    return list(_recipients(recall=recall, units=units))


def _notify_recall(*, recall: Recall, units: Sequence[Unit], actor: User) -> None:
    """Tell the people a recall touches (holders of affected stock, representatives of open
    events using an affected unit), in-app and by email, through the one accounts service;
    each notice opens a page its recipient may see."""
    by_url: dict[str, list[User]] = defaultdict(list)
    for person, url in _recipients(recall=recall, units=units).items():
        by_url[url].append(person)
    for url, people in by_url.items():
        notify(
            recipients=people,
            kind=NotificationKind.RECALL,
            actor=actor,
            summary=(
                f"Recall {recall.reference} ({recall.get_recall_class_display()}): {recall.product}"
            ),
            detail=(
                f"Reason: {recall.reason}\n"
                "Affected units in your stock are quarantined: they cannot be used, sold or "
                "transferred. Units already marked used on your open cases are listed for "
                "action."
            ),
            url=url,
            recall_id=recall.pk,
        )


def _locked_active_recall(actor: User, recall: Recall) -> Recall:
    who = actor_for(actor)
    if not policies.can_manage_recalls(actor=who) or recall.organization_id != who.organization_id:
        raise PermissionDenied("Only an admin returns or withdraws a recall.")
    recall = Recall.objects.select_for_update().get(pk=recall.pk)
    if not recall.is_active:
        raise ValidationError(f"Recall {recall.reference} was withdrawn.")
    return recall


@transaction.atomic
def recall_return(
    *,
    actor: User,
    recall: Recall,
    reference: str,
    returned_on: datetime.date,
    unit_ids: Sequence[int] | None = None,
    seen: Mapping[int, int] | None = None,
) -> RecallReturn:
    """Return quarantined units of the recall to the manufacturer (admins), in one action:
    each becomes inactive with a "returned" entry naming the recall; custody is unchanged.
    `unit_ids` None returns every unit the recall holds quarantined (and those `seen` names, so
    that one returned or withdrawn since the page was drawn is told, not silently skipped).
    Raises ValidationError naming each unit that is not quarantined under this recall, or when
    there is none; StaleUnits when a unit changed since the sequence `seen` gives for it."""
    recall = _locked_active_recall(actor, recall)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": "Give the return's reference (RMA or shipment)."})
    if returned_on is None:
        raise ValidationError({"returned_on": "Give the date of the return."})
    # Every unit of the recall, returned ones too: a unit returned since the page was drawn is
    # locked and told as changed (or as not quarantined), never "not found".
    rows = {r.unit_id: r for r in RecallUnit.objects.filter(recall=recall).select_related("unit")}
    if unit_ids is None:
        unit_ids = [
            pk
            for pk, r in rows.items()
            if r.returned_in_id is None and r.unit.state == UnitState.QUARANTINED
        ]
        unit_ids += [pk for pk in (seen or {}) if pk not in unit_ids]
    elif not unit_ids:
        raise ValidationError("Select at least one quarantined unit to return.")
    asked = set(unit_ids)
    # Only the recall's own units are locked or named: any other id (another recall's unit,
    # another organization's) answers the same "not found", naming nothing.
    units = lock_units(asked & rows.keys(), organization_id=recall.organization_id)
    check_seen(units=units, seen=seen, viewer=actor)
    problems = []
    if len(units) != len(asked):
        problems.append(NOT_FOUND)
    for unit in units:
        if unit.state != UnitState.QUARANTINED:
            problems.append(f"{unit.label} is not quarantined under recall {recall.reference}.")
    if problems or not units:
        raise ValidationError(problems or [f"Recall {recall.reference} has no quarantined units."])
    shipment = RecallReturn.objects.create(
        recall=recall, reference=reference[:80], returned_on=returned_on, created_by=actor
    )
    record_entries(
        units=units,
        kind=EntryKind.RETURNED,
        to_state=UnitState.INACTIVE,
        actor=actor,
        note=f"Returned to the manufacturer under recall {recall.reference} ({reference})",
        entry_extra={"recall_id": recall.pk},
    )
    RecallUnit.objects.filter(recall=recall, unit_id__in=[u.pk for u in units]).update(
        returned_in=shipment
    )
    payloads.emit_recall_returned(shipment, units)
    return shipment


@transaction.atomic
def recall_withdraw(*, actor: User, recall: Recall, reason: str) -> Recall:
    """Withdraw a recall entered in error (admins): each quarantined unit it names goes back to
    the state it had before its latest quarantine (whichever recall wrote it), with a "recall
    withdrawn" entry. A unit another active recall also names stays quarantined until the last
    of them is withdrawn. Returned units stay returned (they left the building)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the recall is withdrawn."})
    recall = _locked_active_recall(actor, recall)
    recall.status = Recall.Status.WITHDRAWN
    recall.withdrawn_at = timezone.now()
    recall.withdrawn_by = actor
    recall.withdraw_reason = reason[:500]
    recall.save(update_fields=["status", "withdrawn_at", "withdrawn_by", "withdraw_reason"])
    unit_ids = RecallUnit.objects.filter(recall=recall).values_list("unit_id", flat=True)
    units = [
        u
        for u in lock_units(unit_ids, organization_id=recall.organization_id)
        if u.state == UnitState.QUARANTINED
    ]
    still_recalled = set(
        RecallUnit.objects.filter(
            unit_id__in=[u.pk for u in units], recall__status=Recall.Status.ACTIVE
        ).values_list("unit_id", flat=True)
    )
    # The state each unit had before its latest quarantine, whichever recall wrote that entry:
    # with two overlapping recalls only the first one quarantines, and the unit must still come
    # back when the last active recall naming it is withdrawn.
    before = {
        unit_id: from_state
        for unit_id, from_state in CustodyEntry.objects.filter(
            kind=EntryKind.QUARANTINED, unit_id__in=[u.pk for u in units]
        )
        .order_by("unit_id", "sequence")
        .values_list("unit_id", "from_state")
    }
    by_state: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        if unit.pk in before and unit.pk not in still_recalled:
            by_state[before[unit.pk]].append(unit)
    for state, group in by_state.items():
        record_entries(
            units=group,
            kind=EntryKind.RECALL_WITHDRAWN,
            to_state=state,
            actor=actor,
            note=f"Recall {recall.reference} withdrawn: {reason}",
            entry_extra={"recall_id": recall.pk},
        )
    return recall


# What a recall quarantines, when it is recorded or when a unit comes back from a transfer or
# an event later: stock that sits on a shelf. In transit and allocated units are left alone.
QUARANTINABLE_STATES = (UnitState.AVAILABLE, UnitState.HOLD, UnitState.FACILITY_STOCK)


def lock_product_for_recall(product: Product) -> None:
    """Hold `product` against receipts until the transaction ends: a receipt that has not yet
    looked for recalls waits, and one that has (holding its KEY SHARE lock) is waited for, so
    the recall's search for units then sees its units."""
    list(Product.objects.select_for_update().filter(pk=product.pk).values_list("pk", flat=True))


def lock_products_received(product_ids: Iterable[int]) -> None:
    """Hold the products against recalls being recorded until the transaction ends (FOR KEY
    SHARE: conflicts only with FOR UPDATE, as lock_product_for_recall's or a catalog edit's).
    In key order, like every multi-row lock here. SQLite has one writer at a time anyway."""
    ids = sorted(set(product_ids))
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Product._meta.db_table} WHERE id = ANY(%s) "  # noqa: S608
            "ORDER BY id FOR KEY SHARE",
            [ids],
        )
        cursor.fetchall()


def quarantine_on_receipt(actor: User, units: Sequence[Unit]) -> None:
    """Units received into a lot or serial that an active recall names join that recall and
    are quarantined at once: a "quarantined" entry naming the recall follows the "received"
    one; custody and location stay as received. Quarantine rather than refusal, because the
    units are physically here and must be accounted for and returned like the rest. When
    several active recalls name a unit, it joins each and the earliest recorded is named.
    One query for the recalls of the products received (a handful), then the inserts.

    The products are locked first (lock_products_received): a recall being recorded for one
    of them now is waited for, and then seen."""
    lock_products_received(u.product_id for u in units)
    active = list(
        Recall.objects.filter(
            organization_id=actor.organization_id,
            status=Recall.Status.ACTIVE,
            product_id__in={u.product_id for u in units},
        ).order_by("pk")
    )
    if not active:
        return
    joined: list[RecallUnit] = []
    by_recall: dict[int, list[Unit]] = defaultdict(list)
    for unit in units:
        named = [
            r
            for r in active
            if r.product_id == unit.product_id
            and (
                (unit.lot_number and unit.lot_number in r.lot_numbers)
                or (unit.serial_number and unit.serial_number in r.serial_numbers)
            )
        ]
        joined += [
            RecallUnit(recall=r, unit=unit, found_state=unit.state, on_receipt=True) for r in named
        ]
        if named:
            by_recall[named[0].pk].append(unit)
    RecallUnit.objects.bulk_create(joined)
    recalls = {r.pk: r for r in active}
    for recall_id, group in by_recall.items():
        recall = recalls[recall_id]
        record_entries(
            units=group,
            kind=EntryKind.QUARANTINED,
            to_state=UnitState.QUARANTINED,
            actor=actor,
            note=f"Received into recall {recall.reference} ({recall.get_recall_class_display()})",
            entry_extra={"recall_id": recall_id},
        )


def quarantine_recalled(*, actor: User, units: Sequence[Unit]) -> list[Unit]:
    """Quarantine those of the (locked) units that an active recall names and that are now
    available, on hold or facility stock: a unit freed from a transfer or an event after the
    recall was recorded. Custody and location do not change. Returns the units quarantined."""
    recalls = active_recalls_for(unit_ids=[u.pk for u in units])
    by_recall: dict[int, list[Unit]] = defaultdict(list)
    for unit in units:
        if unit.pk in recalls and unit.state in QUARANTINABLE_STATES:
            by_recall[recalls[unit.pk].pk].append(unit)
    done = []
    for recall_id, group in by_recall.items():
        recall = recalls[group[0].pk]
        record_entries(
            units=group,
            kind=EntryKind.QUARANTINED,
            to_state=UnitState.QUARANTINED,
            actor=actor,
            note=f"Recall {recall.reference}",
            entry_extra={"recall_id": recall_id},
        )
        done += group
    return done
