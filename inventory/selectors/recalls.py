"""Reads of recalls: each recall's progress and units, and the recall lookup (lot, serial, catalog
number, GTIN or a scanned UDI)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet

from accounts.models import User
from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from inventory import hooks
from inventory.models import (
    Product,
    Recall,
    RecallReturn,
    RecallUnit,
    Unit,
    UnitState,
)
from inventory.udi import UdiError, parse_label

CASES_SHOWN = 200  # case lines the recall page lists; the lookup's export has them all


MAX_CODES = 500  # lots or serials one recall (or one lookup) may list


def split_codes(text: str) -> list[str]:
    """Lots or serials as a person pastes them: separated by commas, spaces or line breaks;
    blanks and repeats dropped, order kept."""
    seen: dict[str, None] = {}
    for part in (text or "").replace(",", " ").split():
        seen.setdefault(part.strip(), None)
    return [code for code in seen if code]


def active_recalls_for(*, unit_ids: Iterable[int]) -> dict[int, Recall]:
    """The active recall naming each unit (the earliest recorded, when several do), one query.
    Units no active recall names are left out."""
    ids = set(unit_ids)
    if not ids:
        return {}
    found: dict[int, Recall] = {}
    rows = (
        RecallUnit.objects.filter(unit_id__in=ids, recall__status=Recall.Status.ACTIVE)
        .select_related("recall")
        .order_by("recall_id")
    )
    for row in rows:
        found.setdefault(row.unit_id, row.recall)
    return found


@dataclass
class RecallProgress:
    found: int
    quarantined: int
    returned: int
    in_transit: int
    returnable: int  # quarantined and not yet returned under this recall: what a return takes
    cases: list  # hooks.CaseUse, by event date, at most CASES_SHOWN
    more_cases: bool  # more cases used a unit than `cases` lists
    open_cases: list  # at most CASES_SHOWN
    surgeons: list[str]
    returns: list[RecallReturn]

    @property
    def cases_shown(self) -> str:
        return f"{len(self.cases)}+" if self.more_cases else str(len(self.cases))


def recall_unit_rows(*, recall: Recall, user: User) -> QuerySet[RecallUnit]:
    """The recall's units that the user may see (admins: all of them; a distributor: her own
    stock and her reps'), with what a row shows. Page it: a recall may name thousands."""
    return _visible_recall_units(recall=recall, user=user).select_related(
        "unit__product", "unit__custodian", "unit__location", "unit__facility"
    )


def _visible_recall_units(*, recall: Recall, user: User) -> QuerySet[RecallUnit]:
    """Unit.visible_to's rule (`holder_ids_in_scope`) applied to the recall's units through
    their own join, not as `unit__in=<visible units>`: that subquery looked every unit up a
    second time and gave PostgreSQL one more relation to plan in each of the page's queries
    (7-9 ms of planning each at ten organizations). A recall's units are its organization's,
    so an admin of that organization sees them all without reading a unit."""
    if not user.is_authenticated:
        return RecallUnit.objects.none()
    actor = actor_for(user)
    if recall.organization_id != actor.organization_id:
        return RecallUnit.objects.none()
    qs = RecallUnit.objects.filter(recall=recall)
    scope = holder_ids_in_scope(actor=actor)
    return qs if scope is None else qs.filter(unit__custodian_id__any_of=scope)


def returnable_sequences(*, recall: Recall) -> list[tuple[int, int]]:
    """(unit id, ledger sequence) of every unit the recall's return form would return (still
    quarantined, not returned): what the page shows the admin, for its `seen` field."""
    return list(
        RecallUnit.objects.filter(
            recall=recall, returned_in__isnull=True, unit__state=UnitState.QUARANTINED
        )
        .order_by("unit_id")
        .values_list("unit_id", "unit__ledger_seq")
    )


def recall_progress(*, recall: Recall, user: User) -> RecallProgress:
    """What the recall page tracks, over the units the user may see: found, quarantined,
    returned, used in cases (with the surgeons to tell), and units allocated on open events
    (listed for action). Case lists stop at CASES_SHOWN. A fixed number of queries."""
    rows = recall_unit_rows(recall=recall, user=user)
    totals = rows.aggregate(
        found=Count("pk"),
        quarantined=Count("pk", filter=Q(unit__state=UnitState.QUARANTINED)),
        returned=Count("pk", filter=Q(returned_in__isnull=False)),
        in_transit=Count("pk", filter=Q(unit__state=UnitState.IN_TRANSIT)),
        returnable=Count(
            "pk", filter=Q(unit__state=UnitState.QUARANTINED, returned_in__isnull=True)
        ),
    )
    unit_ids = _visible_recall_units(recall=recall, user=user).values("unit_id")
    cases = hooks.cases_using_units(user=user, unit_ids=unit_ids, limit=CASES_SHOWN + 1)
    open_cases = hooks.cases_using_units(
        user=user, unit_ids=unit_ids, limit=CASES_SHOWN, open_only=True
    )
    cases, more = cases[:CASES_SHOWN], len(cases) > CASES_SHOWN
    returned = Count("units", filter=Q(units__in=rows))
    return RecallProgress(
        **totals,
        cases=cases,
        more_cases=more,
        open_cases=open_cases,
        surgeons=sorted({c.surgeon for c in cases if c.surgeon}),
        returns=list(recall.returns.annotate(unit_count=returned).order_by("-pk")),
    )


@dataclass(frozen=True)
class Lookup:
    """What the recall lookup searches for, already checked."""

    description: str
    q: Q
    scanned_serial: str = ""  # the unit a scanned label named, marked among its lot


def lookup_query(
    *, organization_id: int, code: str = "", product: str = "", lots: str = ""
) -> Lookup:
    """Turn the lookup form into a filter on units. `code` is a lot, a serial or a scanned
    GS1 UDI; `product` a catalog number or a GTIN, with `lots` (or `code`) naming its lots.
    Raises ValidationError (by field) on an unknown product, a UDI that cannot be read, or
    nothing to look for."""
    # A label keeps a trailing space (an HIBC check character); a typed code loses it.
    raw = (code or "").strip("\r\n\t")
    code, product = raw.strip(), (product or "").strip()
    lot_list = split_codes(lots)
    if len(lot_list) > MAX_CODES:
        raise ValidationError({"lots": f"Look up at most {MAX_CODES} lots at once."})
    literal = Lookup(f"lot or serial {code}", Q(lot_number=code) | Q(serial_number=code))
    if code.startswith(("(", "]", "+", "http://", "https://")) or (
        code[:2] == "01" and len(code) >= 16 and not product
    ):
        # A long all-digit lot or serial may start with "01" too: when it is not a readable
        # UDI naming a lot or serial, it is looked up as itself; when it is, as either.
        try:
            label = parse_label(raw)
        except UdiError as exc:
            if code.isdigit():
                return literal
            raise ValidationError({"code": f"That UDI cannot be read: {exc}"}) from exc
        if label.gtin:
            named, q = f"GTIN {label.gtin}", Q(product__gtin=label.gtin)
        else:
            named = f"HIBC {label.hibc.lic}{label.hibc.product}"
            q = Q(product__hibc_lic=label.hibc.lic, product__hibc_product=label.hibc.product)
        # A scanned unit shows its whole lot (every unit, holder and case), the unit marked:
        # the lot is what a recall names. Its lot comes from the label, else from its record.
        lot = label.lot or _recorded_lot(organization_id, product_q=q, serial=label.serial)
        if label.serial and lot:
            found = Lookup(
                f"{named} lot {lot} (scanned: serial {label.serial})",
                q & (Q(lot_number=lot) | Q(serial_number=label.serial)),
                scanned_serial=label.serial,
            )
        elif label.serial:
            found = Lookup(f"{named} serial {label.serial}", q & Q(serial_number=label.serial))
        elif label.lot:
            found = Lookup(f"{named} lot {label.lot}", q & Q(lot_number=label.lot))
        elif code.isdigit():
            return literal
        else:
            fields = "a lot (10) nor a serial (21)" if label.gtin else "a lot nor a serial"
            raise ValidationError({"code": f"That UDI names neither {fields}."})
        if code.isdigit():
            return Lookup(f"{found.description}, or {literal.description}", found.q | literal.q)
        return found
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
    return literal


def _recorded_lot(organization_id: int, *, product_q: Q, serial: str) -> str:
    if not serial:
        return ""
    return (
        Unit.objects.filter(product_q, organization_id=organization_id, serial_number=serial)
        .exclude(lot_number="")
        .values_list("lot_number", flat=True)
        .first()
        or ""
    )


def lookup_units(*, user: User, lookup: Lookup) -> QuerySet[Unit]:
    """Matching units the user may see (admins: the organization; distributors: theirs and
    their reps'), with what a row shows."""
    return (
        Unit.objects.visible_to(user)
        .filter(lookup.q)
        .select_related("product", "custodian", "location", "facility")
    )


def cases_by_unit(*, user: User, units: QuerySet[Unit]) -> dict[int, list[hooks.CaseUse]]:
    """Every case line that used one of the units, those the user may see, grouped by unit id
    (each unit's in event-date order). A case the user may not see is left out: its patient
    reference and details never reach them."""
    found: dict[int, list[hooks.CaseUse]] = {}
    for case in hooks.cases_using_units(user=user, unit_ids=units.values_list("pk", flat=True)):
        found.setdefault(case.unit_id, []).append(case)
    return found


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
