"""Reads behind every scan box: which units a scanned, pasted or typed line names, and what a
label says that the unit's record does not."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from inventory.identification import Identified
from inventory.models import Product, Unit
from inventory.selectors.units import unit_rows
from inventory.udi import Label, UdiError, parse_label

NO_UNIT = "no unit you can use matches this."


@dataclass
class Mismatch:
    """A label that named a unit by serial while another of its fields disagreed."""

    line: str
    label: Label
    unit: Unit
    message: str


@dataclass
class ScanResult:
    found: list[Unit]
    problems: list[str]  # one per line that matched nothing, several, or a disagreeing record
    notes: list[str]  # what a person should know about a line that did match
    identified: dict[int, str]  # unit id -> how it was named (Identified: scanned or typed)
    mismatches: list[Mismatch] = field(default_factory=list)  # also among `problems`


def looks_like_label(line: str) -> bool:
    """Whether a line is a barcode's content (GS1, Digital Link, HIBC) rather than typed text.
    A symbology identifier (`]d2`) or a leading `(`, `+` or URL scheme says so; so does the
    raw GS1 form, a GTIN (01) and its 14 digits first."""
    return line.startswith(("(", "]", "+", "http://", "https://")) or (
        line[:2] == "01" and len(line) >= 16 and line[2:16].isdigit()
    )


def units_from_scan(
    *,
    qs: QuerySet[Unit],
    text: str,
    prefer_holder_id: int | None = None,
    units_of_use_only: bool = False,
) -> ScanResult:
    """Resolve scanned or pasted lines (GS1 element strings or Digital Link URIs, HIBC labels,
    typed serial numbers, or a bare lot) to units in `qs`.

    - A label that names a unit by serial is checked against that unit's record: when its
      product (GTIN or HIBC), lot or expiry disagrees, the line is refused with both values
      (`label_mismatch`) and listed in `mismatches`; a field the record lacks is not a
      disagreement.
    - `units_of_use_only` (Mark Used) refuses an HIBC label of a higher packaging level (a box
      of several), saying so.
    - A typed serial matches whatever its case; the note says the serial as recorded.
    - A lot alone (a label without serial, or typed text that is no serial) takes the unit of
      `prefer_holder_id`'s own custody first, then the rest, earliest expiry first; when the
      lot's units are serial-tracked it asks which serial instead of guessing.
    Two queries at most, whatever the number of lines.
    """
    wanted: list[tuple[str, Label | None, str, str]] = []  # (line, label, serial, lot)
    problems: list[str] = []
    notes: list[str] = []
    identified: dict[int, str] = {}
    mismatches: list[Mismatch] = []
    # Only real line breaks separate scans: str.splitlines() would also split at the GS
    # character (\x1d) that sits between the fields of one raw GS1 barcode.
    for raw in re.split(r"\r\n|\r|\n", text):
        line = raw.strip()
        if not line:
            continue
        if looks_like_label(line):
            try:
                label = parse_label(raw.strip("\r\n\t"))
            except UdiError as exc:
                problems.append(f"{line}: {exc}")
                continue
            if units_of_use_only and label.hibc and not label.hibc.is_unit_of_use:
                problems.append(
                    f"{line}: that is the barcode of a package (HIBC packaging level "
                    f"{label.hibc.unit_of_measure}), not of one unit. Scan the label of the unit "
                    "you used."
                )
                continue
            if not label.serial and not label.lot:
                problems.append(
                    f"{line}: that barcode names only the product, not which unit (no serial or "
                    "lot). Scan the barcode with the serial or lot too."
                )
                continue
            wanted.append((line, label, label.serial, label.lot))
        else:
            wanted.append((line, None, line, line))  # a serial, or else a lot
    if not wanted:
        return ScanResult([], problems, notes, {}, [])
    # Serials are unique per product ignoring case; LOWER(serial_number) is indexed (0018).
    serials = {serial.lower() for _, _, serial, _ in wanted if serial}
    lots = {lot for _, _, _, lot in wanted if lot}
    candidates = list(
        unit_rows(qs.annotate(serial_ci=Lower("serial_number"))).filter(
            Q(serial_ci__in=serials) | Q(lot_number__in=lots)
        )
    )
    found: list[Unit] = []
    for line, label, serial, lot in wanted:
        unit, problem = None, ""
        if serial:
            same = [u for u in candidates if u.serial_number.lower() == serial.lower()]
            same = [u for u in same if u not in found]
            exact = [u for u in same if u.serial_number == serial]
            by_serial = exact or same
            matches = [u for u in by_serial if same_product(label, u.product)]
            if label and len(by_serial) == 1 and not matches:
                matches = by_serial  # one unit has that serial: say what disagrees
            if len(matches) == 1:
                unit = matches[0]
                if label and (mismatch := label_mismatch(label=label, unit=unit)):
                    problem = mismatch
                    mismatches.append(Mismatch(line, label, unit, mismatch))
                elif unit.serial_number != serial:
                    notes.append(f"{line}: found {unit.label} (the serial as recorded).")
            elif len(matches) > 1:
                problem = "several units match; scan the full UDI barcode."
            elif label:
                problem = NO_UNIT
        if unit is None and not problem:
            unit, problem = _unit_of_lot(
                candidates, lot=lot, label=label, found=found, holder_id=prefer_holder_id
            )
            if unit is not None:
                notes.append(
                    f"{line}: took {unit.label} of lot {lot}, {_lot_choice(unit, prefer_holder_id)}."
                )
        if problem:
            problems.append(f"{line}: {problem}")
        elif unit is not None:
            found.append(unit)
            identified[unit.pk] = f"scan:{label.format}" if label else Identified.TYPED
    return ScanResult(found, problems, notes, identified, mismatches)


def without_line(message: str, code: str) -> str:
    """A `ScanResult` problem or note without the line it starts with, for the camera scanner,
    which lists the code beside its answer already."""
    prefix = f"{code.strip()}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def same_product(label: Label | None, product: Product, *, strict: bool = False) -> bool:
    """Whether a label may be of `product`: its GTIN or HIBC identity is the product's, or
    (unless `strict`) the product has none of that kind recorded. Typed text names no product.
    A serial names one unit, so a record lacking the identity is no disagreement; a lot is
    shared by products, so a lot-only label must name the product (`strict`)."""
    if label is None:
        return True
    if label.gtin:
        return product.gtin == label.gtin or (not strict and not product.gtin)
    if label.hibc:
        if not product.hibc_lic:
            return not strict
        return product.hibc_lic == label.hibc.lic and product.hibc_product == label.hibc.product
    return True


def _unit_of_lot(candidates, *, lot, label, found, holder_id):
    """The unit a lot-only scan takes, or the reason it takes none."""
    matches = [
        u
        for u in candidates
        if lot
        and u.lot_number == lot
        and same_product(label, u.product, strict=True)
        and u not in found
    ]
    if not matches:
        return None, NO_UNIT
    serial_tracked = [u for u in matches if u.product.tracking == Product.Tracking.SERIAL]
    if len(serial_tracked) > 1:
        serials = ", ".join(sorted(u.serial_number for u in serial_tracked)[:5])
        return None, (
            f"lot {lot} holds {len(serial_tracked)} units tracked by serial ({serials}"
            f"{', …' if len(serial_tracked) > 5 else ''}): scan or type the serial of the one "
            "you have."
        )
    far = datetime.date.max
    matches.sort(key=lambda u: (u.custodian_id != holder_id, u.expiration_date or far, u.pk))
    return matches[0], ""


def _lot_choice(unit: Unit, holder_id: int | None) -> str:
    whose = "your own custody" if unit.custodian_id == holder_id else "not your own custody"
    expiry = f"expiring {unit.expiration_date.isoformat()}" if unit.expiration_date else "no expiry"
    return f"{whose}, {expiry}, the first of its lot to use"


def label_mismatch(*, label: Label, unit: Unit) -> str:
    """What a scanned label says that the unit's record does not, as "label: ..., record: ..."
    for each field both carry ("" when they agree). A field the record lacks is no mismatch."""
    pairs = []
    product = unit.product
    if label.gtin and product.gtin and label.gtin != product.gtin:
        pairs.append(("GTIN", label.gtin, product.gtin))
    if label.hibc and product.hibc_lic and not same_product(label, product):
        pairs.append(("HIBC product", f"{label.hibc.lic}{label.hibc.product}", product.hibc))
    if label.lot and unit.lot_number and label.lot != unit.lot_number:
        pairs.append(("lot", label.lot, unit.lot_number))
    if label.expiry and unit.expiration_date and label.expiry != unit.expiration_date:
        pairs.append(("expiry", label.expiry.isoformat(), unit.expiration_date.isoformat()))
    if not pairs:
        return ""
    said = ", ".join(f"{what} {value}" for what, value, _ in pairs)
    kept = ", ".join(f"{what} {value}" for what, _, value in pairs)
    return (
        f"the label and the record of {unit.label} disagree (label: {said}; record: {kept}). "
        "Nothing changed: check the box, and tell an admin if the record is wrong."
    )
