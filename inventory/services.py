"""Every write to inventory. Each function is one transaction: all of it happens, or none.

Concurrency: units are locked with SELECT ... FOR UPDATE in primary-key order before they are
read for a decision (transfers lock their own row first, then their units), so two requests
for the same unit serialize and the second sees the first one's result. The unique
(unit, sequence) constraint on the ledger is the backstop.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Role, User
from accounts.policies import on_behalf_of as behalf_of
from accounts.selectors import actor_for

from . import policies
from .models import (
    CustodyEntry,
    EntryKind,
    Location,
    Product,
    Transfer,
    TransferLine,
    Unit,
    UnitState,
)
from .udi import Udi, UdiError, parse_udi

KEEP = object()  # "custodian unchanged" for record_entries
NOT_FOUND = "A selected unit was not found."


def lock_units(unit_ids: Iterable[int]) -> list[Unit]:
    """Lock the units in primary-key order (no deadlocks between two multi-unit writers)."""
    ids = sorted(set(unit_ids))
    return list(
        Unit.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=ids)
        .order_by("pk")
    )


def record_entries(
    *,
    units: Sequence[Unit],
    kind: str,
    to_state: str,
    actor: User,
    to_custodian_id=KEEP,
    on_behalf_of_id: int | None = None,
    transfer: Transfer | None = None,
    note: str = "",
    extra: dict | None = None,
    entry_extra: dict | None = None,
) -> list[CustodyEntry]:
    """Append one ledger entry per (locked) unit and move the units to match, in two queries.

    Callers pass units they locked in this transaction; all of them go to the same state (and
    custodian, unless KEEP), so a single UPDATE applies the change.
    """
    if not units:
        return []
    now = timezone.now()
    entries = []
    for unit in units:
        new_custodian = unit.custodian_id if to_custodian_id is KEEP else to_custodian_id
        entries.append(
            CustodyEntry(
                organization_id=unit.organization_id,
                unit=unit,
                sequence=unit.ledger_seq + 1,
                kind=kind,
                from_custodian_id=unit.custodian_id,
                to_custodian_id=new_custodian,
                from_state=unit.state,
                to_state=to_state,
                actor=actor,
                on_behalf_of_id=on_behalf_of_id,
                transfer=transfer,
                at=now,
                note=note[:500],
                **(entry_extra or {}),
            )
        )
        unit.ledger_seq += 1
        unit.custodian_id = new_custodian
        unit.state = to_state
        for field, value in (extra or {}).items():
            setattr(unit, field, value)
    CustodyEntry.objects.bulk_create(entries)
    updates = {"state": to_state, "ledger_seq": F("ledger_seq") + 1, **(extra or {})}
    if to_custodian_id is not KEEP:
        updates["custodian_id"] = to_custodian_id
    Unit.objects.filter(pk__in=[u.pk for u in units]).update(**updates)
    return entries


def _state_problem(unit: Unit) -> str:
    """Why a unit that is not available cannot move, naming what holds it."""
    if unit.state == UnitState.IN_TRANSIT:
        line = (
            TransferLine.objects.filter(unit=unit, transfer__status=Transfer.Status.PENDING)
            .select_related("transfer__recipient")
            .first()
        )
        if line:
            to = line.transfer.recipient or "the organization"
            return f"{unit.label} is already in transit to {to} (transfer #{line.transfer_id})."
        return f"{unit.label} is already in transit."
    return f"{unit.label} is {unit.get_state_display().lower()}, not available."


def _holder_name(user: User | None) -> str:
    return str(user) if user is not None else "the organization"


def _check_recipient(actor_user: User, recipient: User | None) -> None:
    if recipient is None:
        return
    if recipient.organization_id != actor_user.organization_id:
        raise ValidationError({"recipient": "Choose a recipient of your organization."})
    if not recipient.is_active:
        raise ValidationError({"recipient": f"{recipient} is deactivated."})
    if recipient.role not in (Role.DISTRIBUTOR, Role.REP):
        raise ValidationError(
            {"recipient": "Admins hold no stock; send it to organization custody instead."}
        )


@transaction.atomic
def transfer_create(
    *,
    actor: User,
    unit_ids: Sequence[int],
    recipient: User | None,
    note: str = "",
    to_location: Location | None = None,
) -> list[Transfer]:
    """Start moving units to `recipient` (None = organization custody). All or nothing.

    Units of several holders make one transfer per holder. Each transfer is pending (its units
    `in_transit`) until the recipient's side accepts, unless the starter answers for the
    recipient: then it completes at once. A distributor or admin moving a rep's stock is
    recorded as acting on that rep's behalf. Raises ValidationError naming every unit that
    cannot move (not found or out of scope, not available, already with the recipient).
    Once accepted, the units sit at `to_location` (a new holder's trunk or bin), or nowhere
    recorded if none is given: the sender's shelf is no longer where they are.
    """
    who = actor_for(actor)
    if to_location is not None and to_location.organization_id != actor.organization_id:
        raise ValidationError({"to_location": "Choose a location of your organization."})
    if not unit_ids:
        raise ValidationError("Select at least one unit to transfer.")
    _check_recipient(actor, recipient)
    recipient_id = recipient.pk if recipient else None
    units = lock_units(unit_ids)
    problems: list[str] = []
    found = {u.pk for u in units}
    missing = sorted(set(unit_ids) - found)
    if missing:
        problems.append(f"{len(missing)} selected unit(s) were not found.")
    for unit in units:
        if not policies.can_act_on_unit(actor=who, unit=unit):
            # Out of scope answers "missing", naming neither its id nor anything of its holder's.
            problems.append(NOT_FOUND)
        elif unit.state != UnitState.AVAILABLE:
            problems.append(_state_problem(unit))
        elif unit.custodian_id == recipient_id:
            problems.append(f"{unit.label} is already in {_holder_name(recipient)}'s custody.")
    if problems:
        raise ValidationError(problems)

    by_sender: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        by_sender[unit.custodian_id].append(unit)
    at_once = policies.completes_at_once(
        actor=who, recipient_id=recipient_id, organization_id=actor.organization_id
    )
    transfers = []
    now = timezone.now()
    for sender_id, sender_units in by_sender.items():
        behalf = behalf_of(actor=who, holder_id=sender_id)
        transfer = Transfer.objects.create(
            organization_id=actor.organization_id,
            sender_id=sender_id,
            recipient_id=recipient_id,
            started_by=actor,
            on_behalf_of_id=behalf,
            to_location=to_location,
            status=Transfer.Status.COMPLETED if at_once else Transfer.Status.PENDING,
            note=note[:500],
            created_at=now,
            resolved_at=now if at_once else None,
            resolved_by=actor if at_once else None,
        )
        TransferLine.objects.bulk_create(
            [TransferLine(transfer=transfer, unit=u) for u in sender_units]
        )
        record_entries(
            units=sender_units,
            kind=EntryKind.TRANSFER_SENT,
            to_state=UnitState.IN_TRANSIT,
            actor=actor,
            on_behalf_of_id=behalf,
            transfer=transfer,
            note=note,
        )
        if at_once:
            record_entries(
                units=sender_units,
                kind=EntryKind.TRANSFER_ACCEPTED,
                to_state=UnitState.AVAILABLE,
                to_custodian_id=recipient_id,
                actor=actor,
                on_behalf_of_id=behalf_of(actor=who, holder_id=recipient_id),
                transfer=transfer,
                note="Completed at once: the starter speaks for the recipient.",
                extra={"location_id": to_location.pk if to_location else None},
            )
        transfers.append(transfer)
    return transfers


def _locked_pending_transfer(transfer: Transfer) -> tuple[Transfer, list[Unit]]:
    locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status != Transfer.Status.PENDING:
        raise ValidationError(
            f"Transfer #{locked.pk} is already {locked.get_status_display().lower()}."
        )
    units = lock_units(locked.lines.values_list("unit_id", flat=True))
    return locked, units


@transaction.atomic
def transfer_accept(*, actor: User, transfer: Transfer) -> Transfer:
    """The recipient (or their distributor, or an admin) takes custody of the units."""
    who = actor_for(actor)
    transfer, units = _locked_pending_transfer(transfer)
    if not policies.can_answer_transfer(actor=who, transfer=transfer):
        raise PermissionDenied("Only the recipient, their distributor or an admin can accept.")
    record_entries(
        units=units,
        kind=EntryKind.TRANSFER_ACCEPTED,
        to_state=UnitState.AVAILABLE,
        to_custodian_id=transfer.recipient_id,
        actor=actor,
        on_behalf_of_id=behalf_of(actor=who, holder_id=transfer.recipient_id),
        transfer=transfer,
        extra={"location_id": transfer.to_location_id},
    )
    _resolve(transfer, actor, Transfer.Status.COMPLETED)
    return transfer


@transaction.atomic
def transfer_decline(*, actor: User, transfer: Transfer, reason: str) -> Transfer:
    """Refuse the units: they go back to the sender in `hold` until an admin releases them."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you decline: the sender and an admin read it."})
    who = actor_for(actor)
    transfer, units = _locked_pending_transfer(transfer)
    if not policies.can_answer_transfer(actor=who, transfer=transfer):
        raise PermissionDenied("Only the recipient, their distributor or an admin can decline.")
    record_entries(
        units=units,
        kind=EntryKind.TRANSFER_DECLINED,
        to_state=UnitState.HOLD,
        actor=actor,
        on_behalf_of_id=behalf_of(actor=who, holder_id=transfer.recipient_id),
        transfer=transfer,
        note=reason,
    )
    transfer.decline_reason = reason[:500]
    _resolve(transfer, actor, Transfer.Status.DECLINED)
    return transfer


@transaction.atomic
def transfer_cancel(*, actor: User, transfer: Transfer) -> Transfer:
    """The starter (or an admin) takes a pending transfer back; units are available again."""
    who = actor_for(actor)
    transfer, units = _locked_pending_transfer(transfer)
    if not policies.can_cancel_transfer(actor=who, transfer=transfer):
        raise PermissionDenied("Only whoever started the transfer (or an admin) can cancel it.")
    record_entries(
        units=units,
        kind=EntryKind.TRANSFER_CANCELLED,
        to_state=UnitState.AVAILABLE,
        actor=actor,
        on_behalf_of_id=transfer.on_behalf_of_id,
        transfer=transfer,
    )
    _resolve(transfer, actor, Transfer.Status.CANCELLED)
    return transfer


def _resolve(transfer: Transfer, actor: User, status: str) -> None:
    transfer.status = status
    transfer.resolved_at = timezone.now()
    transfer.resolved_by = actor
    transfer.save(update_fields=["status", "resolved_at", "resolved_by", "decline_reason"])


@transaction.atomic
def units_release_hold(*, actor: User, unit_ids: Sequence[int], note: str = "") -> list[Unit]:
    """An admin reviews declined units and makes them available again with their holder."""
    who = actor_for(actor)
    if not who.is_admin:
        raise PermissionDenied("Only an admin releases units on hold.")
    units = lock_units(unit_ids)
    problems = [
        f"{u.label} is not on hold." if u.organization_id == who.organization_id else "Not found."
        for u in units
        if not policies.can_release_hold(actor=who, unit=u)
    ]
    if len(units) != len(set(unit_ids)):
        problems.append("Some selected units were not found.")
    if problems or not units:
        raise ValidationError(problems or ["Select at least one unit on hold."])
    record_entries(
        units=units,
        kind=EntryKind.HOLD_RELEASED,
        to_state=UnitState.AVAILABLE,
        actor=actor,
        note=note,
    )
    return units


# --- Receiving -------------------------------------------------------------------------------


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
        _check_recipient(actor, custodian)
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
    if any("\x00" in s for s in [*serials, line.lot_number]):
        problems.append(f"{prefix}a serial or lot number contains a NUL character.")
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
    if not 1 <= line.quantity <= 1000:
        problems.append(f"{prefix}quantity must be between 1 and 1000.")
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
    _check_receiver(actor, custodian)
    problems: list[str] = []
    planned: list[tuple[ReceiveLine, dict]] = []
    for line in lines:
        if line.product.organization_id != actor.organization_id:
            problems.append("Unknown product.")
            continue
        if line.location is not None and line.location.organization_id != actor.organization_id:
            problems.append("Unknown location.")
            continue
        planned.extend((line, fields) for fields in _expand(line, problems))
    seen: dict[tuple[int, str], int | None] = {}
    for line, fields in planned:
        serial = fields["serial_number"]
        if not serial:
            continue
        key = (line.product.pk, serial)
        prefix = f"Line {line.line}: " if line.line else ""
        if key in seen:
            where = f" (also on line {seen[key]})" if seen[key] else ""
            problems.append(f"{prefix}serial {serial} appears twice{where}.")
        seen[key] = line.line
    if seen:
        existing = set(
            Unit.objects.filter(
                product_id__in={p for p, _ in seen}, serial_number__in={s for _, s in seen}
            ).values_list("product_id", "serial_number")
        )
        for line, fields in planned:
            key = (line.product.pk, fields["serial_number"])
            if key in existing:
                prefix = f"Line {line.line}: " if line.line else ""
                problems.append(
                    f"{prefix}{line.product.catalog_number} serial {key[1]} is already on record."
                )
    if not planned and not problems:
        problems.append("Nothing to receive.")
    if problems:
        raise ValidationError(problems)
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
        )
        for unit in units
    )
    return units


def product_for_udi(*, organization_id: int, udi: Udi) -> Product:
    product = Product.objects.filter(organization_id=organization_id, gtin=udi.gtin).first()
    if product is None:
        raise ValidationError(
            f"No product in the catalog has GTIN {udi.gtin}. Add the GTIN to the product first."
        )
    return product


@transaction.atomic
def unit_receive_udi(
    *, actor: User, raw: str, custodian: User | None, location: Location | None = None
) -> Unit:
    """Receive one unit from a scanned or pasted GS1 UDI (GTIN finds the product)."""
    try:
        udi = parse_udi(raw)
    except UdiError as exc:
        raise ValidationError({"udi": str(exc)}) from exc
    product = product_for_udi(organization_id=actor.organization_id, udi=udi)
    if product.tracking == Product.Tracking.SERIAL and not udi.serial:
        raise ValidationError(
            {
                "udi": f"{product.catalog_number} is serial-tracked but the barcode has no serial (21)."
            }
        )
    line = ReceiveLine(
        product=product,
        lot_number=udi.lot,
        serial_numbers=[udi.serial] if udi.serial else (),
        quantity=1,
        expiration_date=udi.expiry,
        location=location,
        udi=udi.raw,
    )
    (unit,) = units_receive(
        actor=actor, lines=[line], custodian=custodian, note="Received by UDI scan"
    )
    return unit


CSV_COLUMNS = [
    "catalog_number",
    "serial_number",
    "lot_number",
    "expiration_date",
    "quantity",
    "location",
    "custodian",
]
CSV_MAX_BYTES = 5 * 1024 * 1024


class _numbered:
    """Rows of a DictReader with the line number each ends on (for error messages)."""

    def __init__(self, reader):
        self.reader = reader
        self.line_num = 0

    def __iter__(self):
        for row in self.reader:
            self.line_num = self.reader.line_num
            yield self.line_num, row


@transaction.atomic
def units_import_csv(*, actor: User, data: bytes, default_custodian: User | None) -> list[Unit]:
    """Import units from CSV: all or nothing, every bad row reported with its line number.

    Columns (header row required): catalog_number, serial_number, lot_number,
    expiration_date (YYYY-MM-DD), quantity (lot-tracked, default 1), location (name, optional),
    custodian (username, optional; defaults to `default_custodian`).
    """
    if len(data) > CSV_MAX_BYTES:
        raise ValidationError("That file is larger than 5 MB; split it.")
    if b"\x00" in data:
        raise ValidationError("The file contains NUL bytes: it is not a CSV text file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text; save it as CSV (UTF-8).") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "catalog_number" not in header:
        raise ValidationError(
            "The first row must name the columns: " + ", ".join(CSV_COLUMNS) + "."
        )
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown:
        raise ValidationError(f"Unknown column(s): {', '.join(unknown)}.")
    reader.fieldnames = header
    reader = _numbered(reader)
    who = actor_for(actor)
    if not policies.can_receive(actor=who):
        raise PermissionDenied("Only admins and distributors receive stock.")
    org = actor.organization_id
    products = {p.catalog_number.lower(): p for p in Product.objects.filter(organization_id=org)}
    locations = {loc.name.lower(): loc for loc in Location.objects.filter(organization_id=org)}
    holders = {
        u.username.lower(): u
        for u in User.objects.filter(organization_id=org, role__in=[Role.DISTRIBUTOR, Role.REP])
    }
    problems: list[str] = []
    by_custodian: dict[int | None, tuple[User | None, list[ReceiveLine]]] = {}
    serial_lines: dict[tuple[int, str], int] = {}
    rows = 0
    try:
        records = list(reader)
    except csv.Error as exc:  # e.g. a runaway quoted field
        raise ValidationError(
            f"The CSV cannot be read after line {reader.line_num}: {exc}."
        ) from exc
    for line_no, row in records:
        rows += 1
        if None in row:
            problems.append(f"Line {line_no}: more values than columns.")
            continue
        values = {col: (row.get(col) or "").strip() for col in CSV_COLUMNS}
        get = values.get
        row_problems = []
        product = products.get(get("catalog_number").lower())
        if product is None:
            row_problems.append(f"unknown catalog number '{get('catalog_number')}'")
        elif get("serial_number"):
            # Duplicates across holders would land in different receive calls: catch them here.
            key = (product.pk, get("serial_number"))
            if key in serial_lines:
                row_problems.append(
                    f"serial {key[1]} appears twice (also on line {serial_lines[key]})"
                )
            serial_lines.setdefault(key, line_no)
        expiry = None
        if get("expiration_date"):
            try:
                expiry = datetime.date.fromisoformat(get("expiration_date"))
            except ValueError:
                row_problems.append(f"expiration_date '{get('expiration_date')}' is not YYYY-MM-DD")
        quantity = 1
        if get("quantity"):
            try:
                quantity = int(get("quantity"))
            except ValueError:
                row_problems.append(f"quantity '{get('quantity')}' is not a whole number")
        location = None
        if get("location"):
            location = locations.get(get("location").lower())
            if location is None:
                row_problems.append(f"unknown location '{get('location')}'")
        custodian = default_custodian
        if get("custodian"):
            if get("custodian").lower() == "organization":
                custodian = None
            else:
                custodian = holders.get(get("custodian").lower())
                if custodian is None:
                    row_problems.append(f"unknown holder '{get('custodian')}'")
                elif not custodian.is_active:
                    row_problems.append(f"holder '{get('custodian')}' is deactivated")
        if not row_problems and not policies.can_receive_into(
            actor=who, custodian_id=custodian.pk if custodian else None
        ):
            row_problems.append(
                f"you can receive only into your own custody, not {custodian or 'the organization'}'s"
            )
        if row_problems:
            problems.append(f"Line {line_no}: " + "; ".join(row_problems) + ".")
            continue
        key = custodian.pk if custodian else None
        by_custodian.setdefault(key, (custodian, []))[1].append(
            ReceiveLine(
                product=product,
                lot_number=get("lot_number"),
                serial_numbers=[get("serial_number")] if get("serial_number") else (),
                quantity=quantity,
                expiration_date=expiry,
                location=location,
                line=line_no,
            )
        )
    if rows == 0:
        problems.append("The file has a header but no rows.")
    received: list[Unit] = []
    for custodian, lines in by_custodian.values():
        try:
            received += units_receive(
                actor=actor, lines=lines, custodian=custodian, note="CSV import"
            )
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ValidationError(problems)
    return received


# --- Catalog and locations ---------------------------------------------------------------------


@transaction.atomic
def product_create(*, actor: User, **fields) -> Product:
    """Add a catalog product (admins). Catalog numbers (regardless of case) and GTINs are unique
    per organization: a clash is a ValidationError on that field, and the database's
    constraints catch one that a concurrent request slips in."""
    if not policies.can_manage_catalog(actor=actor_for(actor)):
        raise PermissionDenied("Only admins manage the catalog.")
    product = Product(organization_id=actor.organization_id, **fields)
    if clashes := _product_clashes(product):
        raise ValidationError(clashes)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        clashes = _product_clashes(product)
        raise ValidationError(clashes or "That product clashes with one in the catalog.") from exc
    return product


def _product_clashes(product: Product) -> dict[str, str]:
    """Which unique fields of `product` another product of its organization already has."""
    others = Product.objects.filter(organization_id=product.organization_id).exclude(pk=product.pk)
    clashes = {}
    if others.filter(catalog_number__iexact=product.catalog_number).exists():
        clashes["catalog_number"] = "Another product already has this catalog number."
    if product.gtin and others.filter(gtin=product.gtin).exists():
        clashes["gtin"] = "Another product already has this GTIN."
    return clashes


@transaction.atomic
def location_create(*, actor: User, name: str, kind: str) -> Location:
    """Add a location (admins and distributors): a warehouse, a trunk, a hospital bin. Names
    are unique per organization regardless of case (ValidationError on `name`)."""
    who = actor_for(actor)
    if not policies.can_receive(actor=who):
        raise PermissionDenied("Only admins and distributors add locations.")
    taken = {"name": "A location with this name exists already."}
    if Location.objects.filter(organization_id=actor.organization_id, name__iexact=name).exists():
        raise ValidationError(taken)
    try:
        with transaction.atomic():
            return Location.objects.create(
                organization_id=actor.organization_id, name=name, kind=kind
            )
    except IntegrityError as exc:
        raise ValidationError(taken) from exc
