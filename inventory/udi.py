"""GS1 UDI parsing: a pure function over the scanned or pasted text (biip does the GS1 work).

Accepts what scanners and people produce: raw element strings with FNC1 as ASCII 29 (GS), a
symbology identifier such as `]d2`, or the human-readable form with parentheses.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from biip import ParseError, parse
from biip.gs1_messages import GS1Message

GROUP_SEPARATOR = "\x1d"


class UdiError(ValueError):
    """The text is not a GS1 UDI we can use; the message says why, for the person scanning."""


@dataclass(frozen=True)
class Udi:
    gtin: str
    lot: str = ""
    serial: str = ""
    expiry: datetime.date | None = None
    raw: str = ""


def parse_udi(text: str) -> Udi:
    raw = (text or "").strip()
    if not raw:
        raise UdiError("Scan or paste a GS1 barcode.")
    if len(raw) > 255:
        raise UdiError("That barcode is too long to be a GS1 UDI (255 characters at most).")
    # Some keyboard-wedge scanners send the group separator as a visible placeholder.
    cleaned = raw.replace("<GS>", GROUP_SEPARATOR).replace("\\x1d", GROUP_SEPARATOR)
    try:
        if cleaned.startswith("("):
            message = GS1Message.parse_hri(cleaned)
        else:
            result = parse(cleaned)
            message = result.gs1_message
            if message is None:
                error = result.gs1_message_error or ""
                body = cleaned.removeprefix("]d2").removeprefix("]C1").removeprefix("]Q3")
                starts_with_gtin = body[:2] == "01" and body[2:16].isdigit()
                # A real GS1 string with a bad field later: say which field, as for the HRI form.
                if error and (starts_with_gtin or "date" in error):
                    raise UdiError(f"That GS1 barcode could not be read: {error}")
                raise UdiError(
                    "That is not a GS1 UDI barcode (no GTIN, lot, serial or expiry found)."
                )
    except ParseError as exc:
        raise UdiError(f"That GS1 barcode could not be read: {exc}") from exc

    values: dict[str, str] = {}
    expiry = None
    for element in message.element_strings:
        ai = element.ai.ai
        if ai == "01" and element.gtin_error:
            raise UdiError(f"The GTIN in that barcode is invalid: {element.gtin_error}")
        if ai == "17":
            if element.date is None:
                raise UdiError("The expiry date (17) in that barcode is not a valid date.")
            expiry = element.date
        values[ai] = element.value
    gtin = values.get("01", "")
    if not gtin:
        raise UdiError("That barcode has no GTIN (01), so the product cannot be identified.")
    return Udi(
        gtin=gtin,
        lot=values.get("10", ""),
        serial=values.get("21", ""),
        expiry=expiry,
        raw=raw,
    )


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit for the digits before it (weights 3,1,3... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(gtin: str) -> bool:
    return (
        gtin.isdigit()
        and len(gtin) in (8, 12, 13, 14)
        and gtin_check_digit(gtin[:-1]) == int(gtin[-1])
    )
