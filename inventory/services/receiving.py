"""Receiving units by form or by scanned UDI: plan the units, check serials, create them with a
received entry each. A scanned label whose product is not in the catalog can be given to a
product (an existing one, or a new one) and received from the same scan."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.selectors import actor_for
from inventory import payloads, policies
from inventory.models import (
    CustodyEntry,
    EntryKind,
    Location,
    Product,
    Unit,
    UnitState,
)
from inventory.services.catalog import hibc_text, product_attach_identity, product_create
from inventory.services.ledger import holder_name
from inventory.services.par import check_after_commit
from inventory.services.recalls import quarantine_on_receipt
from inventory.services.transfers import check_recipient
from inventory.udi import Label, UdiError, check_code_characters, parse_label


@dataclass
class ReceiveLine:
    """One unit (or a lot quantity) to receive; `line` is the CSV line number, when any."""

    product: Product
    lot_number: str = ""
    serial_numbers: Sequence[str] = ()
    quantity: int = 1
    expiration_date: datetime.date | None = None
    location: Location | None = None
    udi: str = ""
    line: int | None = None


def _check_receiver(actor: User, custodian: User | None) -> None:
    who = actor_for(actor)
    if not policies.can_receive(actor=who):
        raise PermissionDenied("Only admins and distributors receive stock.")
    if custodian is not None:
        check_recipient(actor, custodian)
    if not policies.can_receive_into(actor=who, custodian_id=custodian.pk if custodian else None):
        raise ValidationError({"custodian": "Distributors receive stock into their own custody."})


MAX_CODE = 64  # serial and lot numbers (the columns' length)


def _expand(line: ReceiveLine, problems: list[str]) -> list[dict]:
    prefix = f"Line {line.line}: " if line.line else ""
    serials = [s.strip() for s in line.serial_numbers if s and s.strip()]
    too_long = [s for s in [*serials, line.lot_number] if len(s) > MAX_CODE]
    if too_long:
        problems.append(
            f"{prefix}serial and lot numbers have at most {MAX_CODE} characters "
            f"('{too_long[0][:20]}…' has {len(too_long[0])})."
        )
        return []
    # One device, one record: a look-alike character (zero-width, Cyrillic, fullwidth, a
    # typographic hyphen, a control character) would make a second record of the same device.
    codes = [("The lot number", line.lot_number)] if line.lot_number else []
    codes += [(f"Serial number {n}", s) for n, s in enumerate(serials, 1)]
    for what, code in codes:
        try:
            check_code_characters(code, what=what)
        except UdiError as exc:
            problems.append(f"{prefix}{exc}")
            return []
    if line.product.tracking == Product.Tracking.SERIAL:
        if not serials:
            problems.append(
                f"{prefix}{line.product.catalog_number} is tracked by serial number: give one per unit."
            )
            return []
        if line.quantity not in (1, len(serials)) and line.quantity:
            problems.append(
                f"{prefix}quantity {line.quantity} does not match {len(serials)} serial number(s)."
            )
            return []
        return [{"serial_number": s} for s in serials]
    if not line.lot_number:
        problems.append(
            f"{prefix}{line.product.catalog_number} is tracked by lot: give the lot number."
        )
        return []
    if serials:
        return [{"serial_number": s} for s in serials]
    cap = settings.RECEIVE_MAX_QUANTITY
    if not 1 <= line.quantity <= cap:
        problems.append(f"{prefix}quantity must be between 1 and {cap:,} (the limit per line).")
        return []
    return [{"serial_number": ""} for _ in range(line.quantity)]


@transaction.atomic
def units_receive(
    *,
    actor: User,
    lines: Sequence[ReceiveLine],
    custodian: User | None,
    note: str = "",
) -> list[Unit]:
    """Create units (serials, or a lot quantity) in `custodian`'s custody. All or nothing.

    Raises ValidationError listing every problem (with CSV line numbers when given): wrong
    tracking data, serials duplicated in the input or already on record for the product.
    """
    return receive_lines(
        actor, lines, custodian=custodian, note=note, cap=settings.IMPORT_MAX_UNITS
    )


def receive_lines(
    actor: User, lines: Sequence[ReceiveLine], *, custodian: User | None, note: str, cap: int
) -> list[Unit]:
    """units_receive with the limit of units given (a background import's is higher); runs
    inside the caller's transaction."""
    _check_receiver(actor, custodian)
    if units_planned(lines) > cap:
        raise ValidationError(
            f"That would create {units_planned(lines):,} units; one receiving creates at most "
            f"{cap:,}. Split it."
        )
    problems: list[str] = []
    planned = _plan_units(actor, lines, problems, custodian=custodian)
    problems += _serial_problems(planned)
    if not planned and not problems:
        problems.append("Nothing to receive.")
    if problems:
        raise ValidationError(problems)
    return _create_received_units(actor, planned, custodian=custodian, note=note)


def _plan_units(
    actor: User, lines: Sequence[ReceiveLine], problems: list[str], *, custodian: User | None
) -> list[tuple[ReceiveLine, dict]]:
    """One (line, unit fields) pair per unit to create; what cannot be planned goes to
    `problems`. A line's location must be one the custodian holds (a location is its holder's
    shelf; organization custody goes to the organization's own locations)."""
    custodian_id = custodian.pk if custodian else None
    planned: list[tuple[ReceiveLine, dict]] = []
    for line in lines:
        if line.product.organization_id != actor.organization_id:
            problems.append("Unknown product.")
            continue
        if line.location is not None and line.location.organization_id != actor.organization_id:
            problems.append("Unknown location.")
            continue
        if line.location is not None and line.location.holder_id != custodian_id:
            prefix = f"Line {line.line}: " if line.line else ""
            problems.append(
                f"{prefix}{line.location} is held by {holder_name(line.location.holder)}, not "
                f"{holder_name(custodian)}: receive into a location of the custodian, or none."
            )
            continue
        planned.extend((line, fields) for fields in _expand(line, problems))
    return planned


def _serial_problems(planned: list[tuple[ReceiveLine, dict]]) -> list[str]:
    """Serials given twice in the input, and serials already on record for their product, both
    ignoring case (a serial is unique per product ignoring case: D-1002 and d-1002 are one)."""
    problems = []
    seen: dict[tuple[int, str], int | None] = {}
    for line, fields in planned:
        serial = fields["serial_number"]
        if not serial:
            continue
        key = (line.product.pk, serial.lower())
        prefix = f"Line {line.line}: " if line.line else ""
        if key in seen:
            where = f" (also on line {seen[key]})" if seen[key] else ""
            problems.append(f"{prefix}serial {serial} appears twice{where}.")
        seen[key] = line.line
    if seen:
        existing = dict(
            (((product_id, serial.lower()), serial))
            for product_id, serial in Unit.objects.annotate(serial_ci=Lower("serial_number"))
            .filter(product_id__in={p for p, _ in seen}, serial_ci__in={s for _, s in seen})
            .values_list("product_id", "serial_number")
        )
        for line, fields in planned:
            serial = fields["serial_number"]
            recorded = existing.get((line.product.pk, serial.lower()))
            if recorded is not None:
                prefix = f"Line {line.line}: " if line.line else ""
                as_recorded = "" if recorded == serial else f" (as {recorded})"
                problems.append(
                    f"{prefix}{line.product.catalog_number} serial {serial} is already on "
                    f"record{as_recorded}."
                )
    return problems


def _create_received_units(
    actor: User, planned: list[tuple[ReceiveLine, dict]], *, custodian: User | None, note: str
) -> list[Unit]:
    """Insert the planned units and their "received" ledger entries (sequence 1)."""
    now = timezone.now()
    units = [
        Unit(
            organization_id=actor.organization_id,
            product=line.product,
            serial_number=fields["serial_number"],
            lot_number=line.lot_number,
            expiration_date=line.expiration_date,
            udi=line.udi,
            custodian=custodian,
            location=line.location,
            state=UnitState.AVAILABLE,
            ledger_seq=1,
            created_at=now,
        )
        for line, fields in planned
    ]
    try:
        with transaction.atomic():
            Unit.objects.bulk_create(units)
    except IntegrityError as exc:  # a concurrent receive took a serial first
        raise ValidationError(
            "A serial number was just received by someone else; try again."
        ) from exc
    CustodyEntry.objects.bulk_create(
        CustodyEntry(
            organization_id=actor.organization_id,
            unit=unit,
            sequence=1,
            kind=EntryKind.RECEIVED,
            from_custodian=None,
            to_custodian=custodian,
            from_state="",
            to_state=UnitState.AVAILABLE,
            actor=actor,
            at=now,
            note=note[:500],
            to_location_id=unit.location_id,
        )
        for unit in units
    )
    quarantine_on_receipt(actor, units)
    check_after_commit(pairs={(u.location_id, u.product_id) for u in units if u.location_id})
    # Every receipt (form, UDI scan, CSV import, background import) comes through here.
    payloads.emit_units_received(
        organization_id=actor.organization_id,
        actor_id=actor.pk,
        custodian_id=custodian.pk if custodian else None,
        units=units,
    )
    return units


def label_identity(label: Label) -> str:
    """What names the label's product, as messages say it: "GTIN …" or "HIBC labeler … product …"."""
    if label.gtin:
        return f"GTIN {label.gtin}"
    return hibc_text(label.hibc.lic, label.hibc.product)


def identity_fields(label: Label) -> dict:
    """The label's product identity as product fields (`product_create`'s arguments)."""
    if label.gtin:
        return {"gtin": label.gtin}
    return {"hibc_lic": label.hibc.lic, "hibc_product": label.hibc.product}


class UnknownProduct(ValidationError):
    """The label reads, but no product of the catalog has its GTIN or HIBC identity; `label`
    says which (an admin may give it to a product and receive the unit from the same scan)."""

    def __init__(self, label: Label):
        self.label = label
        super().__init__(
            {"udi": f"No product in the catalog has {label_identity(label)}."},
        )


def receivable_label(raw: str) -> Label:
    """Read a scanned GS1, GS1 Digital Link or HIBC label of one unit; a ValidationError on
    "udi" says what is wrong. Units are received one by one, so an HIBC label of a higher
    packaging level (a box of several) is refused."""
    try:
        label = parse_label(raw)
    except UdiError as exc:
        raise ValidationError({"udi": str(exc)}) from exc
    if label.hibc is not None and not label.hibc.is_unit_of_use:
        raise ValidationError(
            {
                "udi": "That is the barcode of a package (HIBC packaging level "
                f"{label.hibc.unit_of_measure}), not of one unit: scan the unit's own label."
            }
        )
    return label


def product_for_label(*, organization_id: int, label: Label) -> Product:
    """The organization's product with the label's GTIN or HIBC identity; UnknownProduct if
    none has it."""
    products = Product.objects.filter(organization_id=organization_id)
    if label.gtin:
        product = products.filter(gtin=label.gtin).first()
    else:
        product = products.filter(hibc_lic=label.hibc.lic, hibc_product=label.hibc.product).first()
    if product is None:
        raise UnknownProduct(label)
    return product


@transaction.atomic
def unit_receive_udi(
    *, actor: User, raw: str, custodian: User | None, location: Location | None = None
) -> Unit:
    """Receive one unit from a scanned or pasted label: GS1 (the GTIN finds the product) or
    HIBC (the labeler code and product number do). The unit keeps the scanned text."""
    label = receivable_label(raw)
    product = product_for_label(organization_id=actor.organization_id, label=label)
    if product.tracking == Product.Tracking.SERIAL and not label.serial:
        where = " (21)" if label.gtin else ""
        raise ValidationError(
            {
                "udi": f"{product.catalog_number} is serial-tracked but the barcode has no "
                f"serial{where}."
            }
        )
    line = ReceiveLine(
        product=product,
        lot_number=label.lot,
        serial_numbers=[label.serial] if label.serial else (),
        quantity=1,
        expiration_date=label.expiry,
        location=location,
        udi=label.raw,
    )
    (unit,) = units_receive(
        actor=actor, lines=[line], custodian=custodian, note="Received by UDI scan"
    )
    return unit


@transaction.atomic
def unit_receive_udi_attaching(
    *,
    actor: User,
    raw: str,
    custodian: User | None,
    location: Location | None = None,
    product: Product,
) -> Unit:
    """An admin's answer to UnknownProduct: give `product` the scanned label's GTIN or HIBC
    identity, then receive the unit from the same scan. One transaction: when the unit cannot
    be received (its serial already on record, say), the product is left as it was."""
    label = receivable_label(raw)
    product_attach_identity(actor=actor, product=product, **identity_fields(label))
    return unit_receive_udi(actor=actor, raw=raw, custodian=custodian, location=location)


@transaction.atomic
def unit_receive_udi_new_product(
    *,
    actor: User,
    raw: str,
    custodian: User | None,
    location: Location | None = None,
    catalog_number: str,
    description: str,
    manufacturer: str,
    product_line: str = "",
    single_use: bool = True,
    tracking: str = Product.Tracking.SERIAL,
) -> Unit:
    """An admin's other answer to UnknownProduct: add a product carrying the scanned label's
    GTIN or HIBC identity, then receive the unit from the same scan. One transaction: nothing
    is added when the unit cannot be received."""
    label = receivable_label(raw)
    product_create(
        actor=actor,
        catalog_number=catalog_number,
        description=description,
        manufacturer=manufacturer,
        product_line=product_line,
        single_use=single_use,
        tracking=tracking,
        **identity_fields(label),
    )
    return unit_receive_udi(actor=actor, raw=raw, custodian=custodian, location=location)


def units_planned(lines: Iterable[ReceiveLine]) -> int:
    return sum(len(line.serial_numbers) or line.quantity for line in lines)
