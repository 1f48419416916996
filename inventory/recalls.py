"""Recalls: record one, quarantine what it names, return or withdraw it; and the recall lookup.

A recall names one product and some of its lots or serials. Recording it finds every unit of
the organization that matches and remembers each (`RecallUnit`, with the state it was found
in). Available, on-hold and facility-stock units become `quarantined` (custody and location do
not change). Units in transit stay with their transfer, which can no longer be accepted;
cancelling or declining it quarantines them (`services.quarantine_recalled`). Units allocated
on open events are left where they are and listed for action: the surgery happened.

Lock order: the recall row, then units in primary-key order (`services.lock_units`).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, User
from accounts.selectors import actor_for
from accounts.services import notify

from . import hooks, policies
from .models import (
    CustodyEntry,
    EntryKind,
    Product,
    Recall,
    RecallReturn,
    RecallUnit,
    Unit,
    UnitState,
)
from .services import lock_units, record_entries
from .udi import UdiError, parse_udi

QUARANTINABLE = (UnitState.AVAILABLE, UnitState.HOLD, UnitState.FACILITY_STOCK)
MAX_CODES = 500  # lots or serials one recall (or one lookup) may list


def split_codes(text: str) -> list[str]:
    """Lots or serials as a person pastes them: separated by commas, spaces or line breaks;
    blanks and repeats dropped, order kept."""
    seen: dict[str, None] = {}
    for part in (text or "").replace(",", " ").split():
        seen.setdefault(part.strip(), None)
    return [code for code in seen if code]


# --- Recording ---------------------------------------------------------------------------------


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
    units = lock_units(matching.values_list("pk", flat=True))
    RecallUnit.objects.bulk_create(
        RecallUnit(recall=recall, unit=u, found_state=u.state) for u in units
    )
    record_entries(
        units=[u for u in units if u.state in QUARANTINABLE],
        kind=EntryKind.QUARANTINED,
        to_state=UnitState.QUARANTINED,
        actor=actor,
        note=f"Recall {recall.reference} ({recall.get_recall_class_display()})",
        entry_extra={"recall_id": recall.pk},
    )
    _notify_recall(recall=recall, units=units, actor=actor)
    return recall


def recall_recipients(*, recall: Recall, units: Iterable[Unit]) -> list[User]:
    """Whom a recall notice goes to: every active holder of an affected unit that is still in
    stock (not inactive), and the representative of every open event that uses one."""
    units = list(units)
    ids = {u.custodian_id for u in units if u.custodian_id and u.state != UnitState.INACTIVE}
    ids |= {
        use.representative_id
        for use in hooks.cases_using_units(user=None, unit_ids=[u.pk for u in units])
        if use.is_open
    }
    return list(
        User.objects.filter(
            pk__in=ids, organization_id=recall.organization_id, is_active=True
        ).order_by("pk")
    )


def _notify_recall(*, recall: Recall, units: Sequence[Unit], actor: User) -> None:
    """Tell the people a recall touches (holders of affected stock, representatives of open
    events using an affected unit), in-app and by email, through the one accounts service."""
    notify(
        recipients=recall_recipients(recall=recall, units=units),
        kind=NotificationKind.RECALL,
        actor=actor,
        summary=(
            f"Recall {recall.reference} ({recall.get_recall_class_display()}): {recall.product}"
        ),
        detail=(
            f"Reason: {recall.reason}\n"
            "Affected units in your stock are quarantined: they cannot be used, sold or "
            "transferred. Units already marked used on your open cases are listed for action."
        ),
        url=reverse("inventory:recall_detail", args=[recall.pk]),
        recall_id=recall.pk,
    )


# --- Return and withdrawal ----------------------------------------------------------------------


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
) -> RecallReturn:
    """Return quarantined units of the recall to the manufacturer (admins), in one action:
    each becomes inactive with a "returned" entry naming the recall; custody is unchanged.
    `unit_ids` None returns every unit the recall holds quarantined. Raises ValidationError
    naming each unit that is not quarantined under this recall, or when there is none."""
    recall = _locked_active_recall(actor, recall)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": "Give the return's reference (RMA or shipment)."})
    if returned_on is None:
        raise ValidationError({"returned_on": "Give the date of the return."})
    rows = {
        r.unit_id: r
        for r in RecallUnit.objects.filter(recall=recall, returned_in__isnull=True).select_related(
            "unit"
        )
    }
    if unit_ids is None:
        unit_ids = [pk for pk, r in rows.items() if r.unit.state == UnitState.QUARANTINED]
    units = lock_units(unit_ids)
    problems = []
    if len(units) != len(set(unit_ids)):
        problems.append("Some selected units were not found.")
    for unit in units:
        if unit.pk not in rows or unit.state != UnitState.QUARANTINED:
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
    return shipment


@transaction.atomic
def recall_withdraw(*, actor: User, recall: Recall, reason: str) -> Recall:
    """Withdraw a recall entered in error (admins): each quarantined unit it names goes back to
    the state it had before that quarantine, with a "recall withdrawn" entry. A unit another
    active recall also names stays quarantined. Returned units stay returned (they left the
    building)."""
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
    units = [u for u in lock_units(unit_ids) if u.state == UnitState.QUARANTINED]
    still_recalled = set(
        RecallUnit.objects.filter(
            unit_id__in=[u.pk for u in units], recall__status=Recall.Status.ACTIVE
        ).values_list("unit_id", flat=True)
    )
    # The state each unit had before its current quarantine: its latest "quarantined" entry,
    # whichever recall that one named (another recall, since withdrawn, may have quarantined a
    # unit this one also names).
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


# --- Reads ---------------------------------------------------------------------------------------


@dataclass
class RecallProgress:
    found: int
    quarantined: int
    returned: int
    in_transit: int
    cases: list  # hooks.CaseUse, by event date
    open_cases: list
    surgeons: list[str]
    returns: list[RecallReturn]
    units: list[RecallUnit] = field(default_factory=list)


def recall_progress(*, recall: Recall, user: User) -> RecallProgress:
    """What the recall page tracks: found, quarantined, returned, used in cases (with the
    surgeons to tell), and units allocated on open events (listed for action). A few queries."""
    rows = list(
        RecallUnit.objects.filter(recall=recall)
        .select_related("unit__product", "unit__custodian", "unit__location", "unit__facility")
        .order_by("unit_id")
    )
    states = Counter(r.unit.state for r in rows)
    cases = hooks.cases_using_units(user=user, unit_ids=[r.unit_id for r in rows])
    return RecallProgress(
        found=len(rows),
        quarantined=states[UnitState.QUARANTINED],
        returned=sum(1 for r in rows if r.returned_in_id),
        in_transit=states[UnitState.IN_TRANSIT],
        cases=cases,
        open_cases=[c for c in cases if c.is_open],
        surgeons=sorted({c.surgeon for c in cases if c.surgeon}),
        returns=list(recall.returns.annotate(unit_count=Count("units")).order_by("-pk")),
        units=rows,
    )


@dataclass(frozen=True)
class Lookup:
    """What the recall lookup searches for, already checked."""

    description: str
    q: Q


def lookup_query(
    *, organization_id: int, code: str = "", product: str = "", lots: str = ""
) -> Lookup:
    """Turn the lookup form into a filter on units. `code` is a lot, a serial or a scanned
    GS1 UDI; `product` a catalog number or a GTIN, with `lots` (or `code`) naming its lots.
    Raises ValidationError (by field) on an unknown product, a UDI that cannot be read, or
    nothing to look for."""
    code, product = (code or "").strip(), (product or "").strip()
    lot_list = split_codes(lots)
    if len(lot_list) > MAX_CODES:
        raise ValidationError({"lots": f"Look up at most {MAX_CODES} lots at once."})
    if code.startswith(("(", "]")) or (code[:2] == "01" and len(code) >= 16 and not product):
        try:
            udi = parse_udi(code)
        except UdiError as exc:
            raise ValidationError({"code": f"That UDI cannot be read: {exc}"}) from exc
        q = Q(product__gtin=udi.gtin)
        if udi.serial:
            return Lookup(f"GTIN {udi.gtin} serial {udi.serial}", q & Q(serial_number=udi.serial))
        if udi.lot:
            return Lookup(f"GTIN {udi.gtin} lot {udi.lot}", q & Q(lot_number=udi.lot))
        raise ValidationError({"code": "That UDI names neither a lot (10) nor a serial (21)."})
    if product:
        found = Product.objects.filter(
            Q(catalog_number__iexact=product) | Q(gtin=product), organization_id=organization_id
        ).first()
        if found is None:
            raise ValidationError({"product": f"No product has catalog number or GTIN {product}."})
        lot_list = lot_list or split_codes(code)
        if not lot_list:
            raise ValidationError({"lots": f"Which lots of {found.catalog_number}?"})
        return Lookup(
            f"{found.catalog_number} lots {', '.join(lot_list)}",
            Q(product=found, lot_number__in=lot_list),
        )
    if not code:
        raise ValidationError({"code": "Enter a lot, a serial number or a scanned UDI."})
    return Lookup(f"lot or serial {code}", Q(lot_number=code) | Q(serial_number=code))


def lookup_units(*, user: User, lookup: Lookup) -> QuerySet[Unit]:
    """Matching units the user may see (admins: the organization; distributors: theirs and
    their reps'), with what a row shows."""
    return (
        Unit.objects.visible_to(user)
        .filter(lookup.q)
        .select_related("product", "custodian", "location", "facility")
    )


def lookup_counts(*, units: QuerySet[Unit]) -> dict:
    """Counts per state and per holder over every match (two grouped queries)."""
    by_state = {
        row["state"]: row["n"] for row in units.order_by().values("state").annotate(n=Count("pk"))
    }
    holders = list(
        units.order_by()
        .values("custodian_id", "custodian__display_name", "custodian__username")
        .annotate(n=Count("pk"))
        .order_by("custodian__display_name", "custodian__username")
    )
    return {
        "total": sum(by_state.values()),
        "by_state": [(UnitState(s).label, n) for s, n in sorted(by_state.items())],
        "by_holder": [
            (
                h["custodian__display_name"] or h["custodian__username"] or "Organization",
                h["n"],
            )
            for h in holders
        ],
    }
