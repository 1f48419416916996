"""Label parsing: one pure function over the scanned or pasted text of any UDI label a rep meets.

`parse_label` reads three formats and never touches the database or the network:

- GS1 element strings (biip does the GS1 work): raw with FNC1 as ASCII 29 (GS) or a literal
  `<GS>`, the human-readable form with parentheses, with or without a symbology identifier such
  as `]d2`, `]C1` or `]Q3` (also `]d2` followed by the parenthesized form).
- GS1 Digital Link URIs on any domain, with or without a path prefix before `/01/` and with
  query attributes such as `?17=281231` (biip parses them; nothing is fetched).
- HIBC (HIBCC Supplier Labeling Standard), written here: primary data, secondary data in its
  own symbol (with the link character) or both concatenated with `/`, and the supplemental
  fields 16D, 14D, S and Q. Every mod-43 check character is computed and compared.

`parse_udi` is the older entry point for callers keyed by GTIN: it is `parse_label` that
requires a GTIN. `check_code_characters` is the reusable guard against look-alike characters.
"""

from __future__ import annotations

import calendar
import datetime
import re
import unicodedata
from dataclasses import dataclass

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message

GROUP_SEPARATOR = "\x1d"
MAX_LENGTH = 255

FORMAT_GS1 = "gs1"
FORMAT_GS1_DIGITAL_LINK = "gs1-digital-link"
FORMAT_HIBCC = "hibcc"


class UdiError(ValueError):
    """The text is not a label we can use; the message says why, for the person scanning."""


@dataclass(frozen=True)
class Udi:
    gtin: str
    lot: str = ""
    serial: str = ""
    expiry: datetime.date | None = None
    raw: str = ""


@dataclass(frozen=True)
class HibcIdentity:
    """The HIBC primary data: who labeled the item, which product, and at which packaging level."""

    lic: str
    product: str
    unit_of_measure: int

    @property
    def is_unit_of_use(self) -> bool:
        return self.unit_of_measure == 0

    def __str__(self) -> str:
        return f"{self.lic}{self.product}{self.unit_of_measure}"


@dataclass(frozen=True)
class Label:
    format: str
    gtin: str = ""
    hibc: HibcIdentity | None = None
    lot: str = ""
    serial: str = ""
    expiry: datetime.date | None = None
    manufactured: datetime.date | None = None
    quantity: int | None = None
    symbology: str = ""
    raw: str = ""


# --- characters -------------------------------------------------------------------------------

_CONTROL_NAMES = {
    0x00: "NULL",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0D: "CARRIAGE RETURN",
    0x1D: "GROUP SEPARATOR",
    0x7F: "DELETE",
}


def describe_character(char: str) -> str:
    """`U+200B ZERO WIDTH SPACE`: the code point and its Unicode name, for messages."""
    code = ord(char)
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(code, "CONTROL CHARACTER")
    return f"U+{code:04X} {name}"


def _first_unusual(value: str, *, allow_space: bool, allow_gs: bool) -> tuple[int, str] | None:
    low = 0x20 if allow_space else 0x21
    for index, char in enumerate(value):
        if low <= ord(char) <= 0x7E or (allow_gs and char == GROUP_SEPARATOR):
            continue
        return index, char
    return None


def check_code_characters(value: str, *, what: str = "That code") -> None:
    """Refuse anything but printable ASCII without spaces, naming the first offending character.

    Serials, lots and product codes are printed and scanned as plain ASCII; a zero-width space,
    a Cyrillic letter that looks Latin, a fullwidth digit or a typographic hyphen means the text
    was pasted from a document or typed by hand, and would never match the physical label.
    """
    found = _first_unusual(value, allow_space=False, allow_gs=False)
    if found is not None:
        index, char = found
        raise UdiError(
            f"{what} contains {describe_character(char)} at position {index + 1}. "
            "Use plain letters, digits and punctuation, without spaces."
        )


def _check_label_characters(text: str) -> None:
    # Labels may carry spaces (HRI text, an HIBC check character) and GS, nothing else unusual.
    found = _first_unusual(text, allow_space=True, allow_gs=True)
    if found is not None:
        index, char = found
        raise UdiError(
            f"That barcode contains {describe_character(char)} at position {index + 1}, "
            "which no label carries. It was probably pasted from a document or typed with a "
            "look-alike character: scan the label again, or retype the code."
        )


# --- entry points ------------------------------------------------------------------------------

_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")


def parse_label(text: str) -> Label:
    """Read a GS1, GS1 Digital Link or HIBC label; raise UdiError saying what is wrong."""
    raw = (text or "").strip()
    if not raw:
        raise UdiError("Scan or paste a barcode.")
    if len(raw) > MAX_LENGTH:
        raise UdiError(f"That barcode is too long to be a UDI ({MAX_LENGTH} characters at most).")
    _check_label_characters(raw)

    symbology = ""
    body = raw
    match = _SYMBOLOGY.match(body)
    if match:
        symbology = match.group()
        body = body[len(symbology) :]

    if body[:8].lower().startswith(("http://", "https://")):
        label = _parse_digital_link(body)
    elif body.startswith("+"):
        label = _parse_hibc_scanned(body, text)
    else:
        label = _parse_gs1(body)
    return Label(
        format=label.format,
        gtin=label.gtin,
        hibc=label.hibc,
        lot=label.lot,
        serial=label.serial,
        expiry=label.expiry,
        manufactured=label.manufactured,
        quantity=label.quantity,
        symbology=symbology,
        raw=raw,
    )


def parse_udi(text: str) -> Udi:
    """`parse_label` for callers keyed by GTIN: an HIBC label is refused with the reason."""
    label = parse_label(text)
    if not label.gtin:
        raise UdiError(
            f"That is an HIBC barcode (labeler {label.hibc.lic}, product {label.hibc.product}), "
            "which has no GTIN (01); scan the GS1 barcode on the label instead."
        )
    return Udi(
        gtin=label.gtin, lot=label.lot, serial=label.serial, expiry=label.expiry, raw=label.raw
    )


# --- GS1 ---------------------------------------------------------------------------------------


def _parse_gs1(body: str) -> Label:
    # Some keyboard-wedge scanners send the group separator as a visible placeholder.
    cleaned = body.replace("<GS>", GROUP_SEPARATOR).replace("\\x1d", GROUP_SEPARATOR)
    cleaned = cleaned.lstrip(GROUP_SEPARATOR)  # a leading FNC1 sent as GS
    try:
        if cleaned.startswith("("):
            message = GS1Message.parse_hri(cleaned.replace(GROUP_SEPARATOR, ""))
        else:
            message = GS1Message.parse(cleaned)
    except ParseError as exc:
        if cleaned.startswith("("):
            raise UdiError(f"That GS1 barcode could not be read: {exc}") from exc
        error = str(exc)
        starts_with_gtin = cleaned[:2] == "01" and cleaned[2:16].isdigit()
        # A real GS1 string with a bad field later: say which field, as for the HRI form.
        if starts_with_gtin or "date" in error:
            raise UdiError(f"That GS1 barcode could not be read: {error}") from exc
        raise UdiError(
            "That is not a GS1 UDI, GS1 Digital Link or HIBC barcode "
            "(no GTIN, lot, serial or expiry found)."
        ) from exc
    return _label_from_elements(FORMAT_GS1, message.element_strings)


def _parse_digital_link(body: str) -> Label:
    try:
        uri = GS1DigitalLinkURI.parse(body)
    except ParseError as exc:
        error = str(exc)
        if "primary identifier" in error:
            raise UdiError(
                "That web address is not a GS1 Digital Link: it has no /01/ followed by a GTIN."
            ) from exc
        raise UdiError(f"That GS1 Digital Link could not be read: {error}") from exc
    except ValueError as exc:
        # Python's URL parser refuses some addresses before biip sees them ("https://[x/…").
        raise UdiError(f"That web address could not be read: {exc}.") from exc
    return _label_from_elements(FORMAT_GS1_DIGITAL_LINK, uri.element_strings)


def _label_from_elements(label_format: str, elements) -> Label:
    values: dict[str, str] = {}
    expiry = manufactured = None
    for element in elements:
        ai = element.ai.ai
        if ai == "01" and element.gtin_error:
            raise UdiError(_gtin_error(element.value, element.gtin_error))
        if ai == "17":
            expiry = _gs1_date(element, "expiry date (17)")
        if ai == "11":
            manufactured = _gs1_date(element, "production date (11)")
        values[ai] = element.value
    gtin = values.get("01", "")
    if not gtin:
        raise UdiError("That barcode has no GTIN (01), so the product cannot be identified.")
    quantity = values.get("30") or values.get("37")
    return Label(
        format=label_format,
        gtin=gtin,
        lot=values.get("10", ""),
        serial=values.get("21", ""),
        expiry=expiry,
        manufactured=manufactured,
        quantity=int(quantity) if quantity else None,
    )


def _gtin_error(gtin: str, error: str) -> str:
    if gtin.isdigit() and len(gtin) == 14:
        expected = gtin_check_digit(gtin[:-1])
        if expected != int(gtin[-1]):
            return (
                f"The GTIN {gtin} has a wrong check digit: it should end in {expected}, "
                f"the label says {gtin[-1]}."
            )
    return f"The GTIN in that barcode is invalid: {error}"


def _gs1_date(element, title: str) -> datetime.date:
    if element.date is None:
        raise UdiError(f"The {title} in that barcode is not a valid date.")
    # biip has checked the date and chosen the century; the day is read here, because a GS1
    # date with day 00 means the last day of that month (GS1 General Specifications 7.12).
    year, month, day = element.date.year, int(element.value[2:4]), int(element.value[4:6])
    if day == 0:
        day = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, day)


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


# --- HIBC --------------------------------------------------------------------------------------

HIBC_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"

_PRIMARY = re.compile(r"\+(?P<lic>[A-Z][A-Z0-9]{3})(?P<product>[A-Z0-9]{1,18})(?P<uom>[0-9])")
_CODE = re.compile(r"[A-Z0-9]{1,18}")

# Date-format flag after `$$` -> (name shown to people, number of digits); 7 means no date.
_HIBC_DATE_FORMATS = {
    "2": ("MMDDYY", 6),
    "3": ("YYMMDD", 6),
    "4": ("YYMMDDHH", 8),
    "5": ("YYJJJ", 5),
    "6": ("YYJJJHH", 7),
    "7": (None, 0),
}
_HIBC_DEFAULT_DATE = ("MMYY", 4)


def hibc_check_character(data: str) -> str:
    """The HIBC mod-43 check character over `data` (everything before it, leading + included)."""
    total = 0
    for char in data:
        value = HIBC_CHARACTERS.find(char)
        if value < 0:
            raise UdiError(
                f"The character {char!r} ({describe_character(char)}) is not allowed in an HIBC "
                "barcode: capital letters, digits and - . space $ / + % only."
            )
        total += value
    return HIBC_CHARACTERS[total % 43]


def _show(char: str) -> str:
    return "a space" if char == " " else char


def _verify_check(symbol: str) -> str:
    """Return the data of an HIBC symbol whose last character is its check character."""
    data, given = symbol[:-1], symbol[-1]
    expected = hibc_check_character(data)
    if expected != given:
        raise UdiError(
            "That HIBC barcode did not scan correctly: "
            f"the HIBC check character is {_show(expected)}, the label says {_show(given)}."
        )
    return data


@dataclass(frozen=True)
class _Secondary:
    lot: str = ""
    serial: str = ""
    expiry: datetime.date | None = None
    quantity: int | None = None


def _parse_hibc_scanned(body: str, original: str) -> Label:
    try:
        return _parse_hibc(body)
    except UdiError:
        # A space can be an HIBC check character; stripping the scan may have removed it.
        trailing = (original or "").rstrip("\r\n\t")
        if trailing.endswith(" ") and not body.endswith(" "):
            try:
                return _parse_hibc(body + " ")
            except UdiError:
                pass
        raise


def _parse_hibc(body: str) -> Label:
    if body.startswith("+$"):
        raise UdiError(
            "That is an HIBC secondary barcode (lot, serial or expiry only). Scan the primary "
            "barcode too, the one with the labeler code and product number."
        )
    secondary_at = body.find("+$", 6)
    if secondary_at > 0:
        return _parse_hibc_two_symbols(body[:secondary_at], body[secondary_at:])
    if "/" in body[:-1]:
        return _parse_hibc_concatenated(body)
    if len(body) < 8:
        raise _primary_too_short()
    identity = _hibc_identity(_verify_check(body))
    return Label(format=FORMAT_HIBCC, hibc=identity)


def _primary_too_short() -> UdiError:
    return UdiError(
        "That HIBC barcode is cut short: after + it needs a 4-character labeler code, a product "
        "number, a unit-of-measure digit and a check character."
    )


def _hibc_identity(data: str) -> HibcIdentity:
    """Primary data without its check character: + LIC product unit-of-measure."""
    match = _PRIMARY.fullmatch(data)
    if match is None:
        lic = data[1:5]
        if len(data) < 7:
            raise _primary_too_short()
        if not re.fullmatch(r"[A-Z][A-Z0-9]{3}", lic):
            raise UdiError(
                f"The HIBC labeler code must be a capital letter and 3 letters or digits; "
                f"the label has {lic!r}."
            )
        if not data[-1].isdigit():
            raise UdiError(
                "The HIBC unit of measure (the digit before the check character) is missing; "
                f"the label has {data[-1]!r}."
            )
        product = data[5:-1]
        if len(product) > 18:
            raise UdiError(f"The HIBC product number {product!r} is longer than 18 characters.")
        raise UdiError(
            f"The HIBC product number {product!r} may hold only capital letters and digits."
        )
    return HibcIdentity(match["lic"], match["product"], int(match["uom"]))


def _parse_hibc_two_symbols(primary: str, secondary: str) -> Label:
    # A scanner that reads both linear symbols may put a space or nothing between them.
    if primary.endswith(" ") and hibc_check_character(primary[:-1]) != " ":
        primary = primary.rstrip(" ")
    if len(primary) < 8:
        raise _primary_too_short()
    primary_check = primary[-1]
    identity = _hibc_identity(_verify_check(primary))
    if len(secondary) < 4:
        raise UdiError(
            "The HIBC secondary barcode is cut short: it needs its data, a link character and "
            "a check character."
        )
    data = _verify_check(secondary)
    link = data[-1]
    if link != primary_check:
        raise UdiError(
            "The HIBC secondary barcode belongs to another label: its link character is "
            f"{_show(link)}, the primary barcode's check character is {_show(primary_check)}."
        )
    fields = _hibc_secondary(data[1:-1])
    return Label(
        format=FORMAT_HIBCC,
        hibc=identity,
        lot=fields.lot,
        serial=fields.serial,
        expiry=fields.expiry,
        quantity=fields.quantity,
    )


def _parse_hibc_concatenated(body: str) -> Label:
    parts = _verify_check(body).split("/")
    identity = _hibc_identity(parts[0])
    fields = _Secondary()
    serial = ""
    quantity = None
    expiry = manufactured = None
    for index, part in enumerate(parts[1:]):
        if index == 0 and part.startswith("$"):
            fields = _hibc_secondary(part)
        elif part.startswith("16D"):
            manufactured = _hibc_long_date(part[3:], "manufacture date (16D)")
        elif part.startswith("14D"):
            expiry = _hibc_long_date(part[3:], "expiry date (14D)")
        elif part.startswith("S"):
            serial = _hibc_code(part[1:], "serial number (S)")
        elif part.startswith("Q"):
            if not re.fullmatch(r"[0-9]{1,5}", part[1:]):
                raise UdiError(f"The HIBC quantity (Q) {part[1:]!r} is not a whole number.")
            quantity = int(part[1:])
        else:
            raise UdiError(
                f"The HIBC field {part!r} is not one we know (expected 16D, 14D, S or Q)."
            )
    return Label(
        format=FORMAT_HIBCC,
        hibc=identity,
        lot=fields.lot,
        serial=serial or fields.serial,
        expiry=expiry or fields.expiry,
        manufactured=manufactured,
        quantity=quantity if quantity is not None else fields.quantity,
    )


def _hibc_secondary(data: str) -> _Secondary:
    """Secondary data after the + and before any link character: `$$...`, `$lot`, `$+serial`."""
    if data.startswith("$+"):
        return _Secondary(serial=_hibc_code(data[2:], "serial number"))
    if not data.startswith("$$"):
        if not data.startswith("$"):
            raise UdiError("The HIBC secondary data must start with $.")
        return _Secondary(lot=_hibc_code(data[1:], "lot number"))

    rest = data[2:]
    is_serial = rest.startswith("+")
    if is_serial:
        rest = rest[1:]
    quantity = None
    if rest[:1] in ("8", "9"):
        width = 2 if rest[0] == "8" else 5
        digits = rest[1 : 1 + width]
        if len(digits) != width or not digits.isdigit():
            raise UdiError(
                f"The HIBC quantity after flag {rest[0]} must be {width} digits; "
                f"the label has {digits!r}."
            )
        quantity = int(digits)
        rest = rest[1 + width :]
    if rest[:1] in _HIBC_DATE_FORMATS:
        date_format, width = _HIBC_DATE_FORMATS[rest[0]]
        rest = rest[1:]
    else:
        date_format, width = _HIBC_DEFAULT_DATE
    expiry = None
    if date_format:
        digits = rest[:width]
        if len(digits) != width or not digits.isdigit():
            raise UdiError(
                f"The HIBC expiry date must be {width} digits ({date_format}); "
                f"the label has {digits!r}."
            )
        expiry = _hibc_date(digits, date_format)
        rest = rest[width:]
    what = "serial number" if is_serial else "lot number"
    code = _hibc_code(rest, what, required=False)
    return _Secondary(
        lot="" if is_serial else code,
        serial=code if is_serial else "",
        expiry=expiry,
        quantity=quantity,
    )


def _hibc_code(value: str, what: str, *, required: bool = True) -> str:
    if not value and not required:
        return ""
    if not _CODE.fullmatch(value):
        if not value:
            raise UdiError(f"The HIBC {what} is missing.")
        raise UdiError(f"The HIBC {what} {value!r} must be 1 to 18 capital letters or digits.")
    return value


def _hibc_date(digits: str, date_format: str) -> datetime.date:
    try:
        if date_format == "MMYY":
            year, month = 2000 + int(digits[2:4]), int(digits[0:2])
            # An expiry given as a month runs to that month's last day.
            return datetime.date(year, month, calendar.monthrange(year, month)[1])
        if date_format == "MMDDYY":
            return datetime.date(2000 + int(digits[4:6]), int(digits[0:2]), int(digits[2:4]))
        if date_format in ("YYMMDD", "YYMMDDHH"):
            if date_format == "YYMMDDHH" and int(digits[6:8]) > 23:
                raise ValueError("hour")
            return datetime.date(2000 + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
        # YYJJJ and YYJJJHH: a day of the year.
        year, day_of_year = 2000 + int(digits[0:2]), int(digits[2:5])
        if date_format == "YYJJJHH" and int(digits[5:7]) > 23:
            raise ValueError("hour")
        if not 1 <= day_of_year <= (366 if calendar.isleap(year) else 365):
            raise ValueError("day of year")
        return datetime.date(year, 1, 1) + datetime.timedelta(days=day_of_year - 1)
    except ValueError as exc:
        raise UdiError(
            f"The HIBC expiry date {digits} ({date_format}) is not a valid date."
        ) from exc


def _hibc_long_date(digits: str, title: str) -> datetime.date:
    try:
        if len(digits) != 8 or not digits.isdigit():
            raise ValueError("format")
        return datetime.date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise UdiError(f"The HIBC {title} {digits!r} is not a valid date (YYYYMMDD).") from exc
