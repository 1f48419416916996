"""One pure parser for every label a rep meets: GS1, GS1 Digital Link and HIBC, as scanned.

HIBC check characters are computed here by a helper written independently of the parser, from
the HIBC Supplier Labeling Standard's definition (mod 43 over 0-9 A-Z - . space $ / + %,
leading + included); the standard's published examples are also spelled out in full.
"""

import datetime
import string

import pytest

from inventory.udi import (
    HibcIdentity,
    Label,
    UdiError,
    check_code_characters,
    parse_label,
    parse_udi,
)

GS = "\x1d"
GTIN = "09506000134352"  # valid GTIN-14 (check digit 2)
GTIN_B = "00850001230025"  # valid GTIN-14 (check digit 5)
D = datetime.date

_MOD43 = string.digits + string.ascii_uppercase + "-. $/+%"


def m43(data: str) -> str:
    return _MOD43[sum(_MOD43.index(c) for c in data) % 43]


def hibc(data: str) -> str:
    """data followed by its check character."""
    return data + m43(data)


PRIMARY = hibc("+A99912345")  # "+A999123457": LIC A999, product 1234, unit of measure 5
LINK = PRIMARY[-1]


def secondary(data: str, link: str = LINK) -> str:
    """A separate-symbol secondary: data, the primary's check as link character, own check."""
    return hibc(data + link)


def gs1(gtin=GTIN, lot="", serial="", expiry=None, quantity=None, manufactured=None):
    return Label(
        "gs1",
        gtin=gtin,
        lot=lot,
        serial=serial,
        expiry=expiry,
        quantity=quantity,
        manufactured=manufactured,
    )


def link(gtin=GTIN_B, lot="", serial="", expiry=None, quantity=None):
    return Label(
        "gs1-digital-link", gtin=gtin, lot=lot, serial=serial, expiry=expiry, quantity=quantity
    )


def hib(
    lic="A999",
    product="1234",
    uom=5,
    lot="",
    serial="",
    expiry=None,
    quantity=None,
    manufactured=None,
):
    return Label(
        "hibcc",
        hibc=HibcIdentity(lic, product, uom),
        lot=lot,
        serial=serial,
        expiry=expiry,
        quantity=quantity,
        manufactured=manufactured,
    )


LABELS = [
    # --- GS1 element strings ----------------------------------------------------------------
    (
        f"(01){GTIN}(17)270131(10)LOT1(21)SER1",
        gs1(lot="LOT1", serial="SER1", expiry=D(2027, 1, 31)),
        "",
        "HRI",
    ),
    (f"(01) {GTIN} (10) LOT1", gs1(lot="LOT1"), "", "HRI with spaces"),
    (f"(01){GTIN}(17)270200", gs1(expiry=D(2027, 2, 28)), "", "HRI day 00 is the month's end"),
    (f"(01){GTIN}(17)280200", gs1(expiry=D(2028, 2, 29)), "", "HRI day 00 in a leap February"),
    (
        f"(01){GTIN}(17)261100(10)A",
        gs1(lot="A", expiry=D(2026, 11, 30)),
        "",
        "HRI day 00 in a 30-day month",
    ),
    (
        f"01{GTIN}17270131" + f"10LOT1{GS}21SER1",
        gs1(lot="LOT1", serial="SER1", expiry=D(2027, 1, 31)),
        "",
        "raw with GS",
    ),
    (
        f"01{GTIN}" + f"21SER-9{GS}10LOT.2",
        gs1(lot="LOT.2", serial="SER-9"),
        "",
        "raw serial before lot",
    ),
    (
        f"01{GTIN}17270131" + "10LOT1<GS>21SER1",
        gs1(lot="LOT1", serial="SER1", expiry=D(2027, 1, 31)),
        "",
        "literal <GS>",
    ),
    (
        f"01{GTIN}17270131" + "10LOT1\\x1d21SER1",
        gs1(lot="LOT1", serial="SER1", expiry=D(2027, 1, 31)),
        "",
        "literal \\x1d",
    ),
    (
        f"]d201{GTIN}17270131" + f"10LOT1{GS}21SER1",
        gs1(lot="LOT1", serial="SER1", expiry=D(2027, 1, 31)),
        "]d2",
        "]d2 raw",
    ),
    (
        f"]C101{GTIN}17270100" + "10LOT1",
        gs1(lot="LOT1", expiry=D(2027, 1, 31)),
        "]C1",
        "]C1 GS1-128 with day 00",
    ),
    (f"]Q301{GTIN}" + "21S1", gs1(serial="S1"), "]Q3", "]Q3 GS1 QR"),
    (
        f"]d2(01){GTIN}(17)270131(10)LOT1",
        gs1(lot="LOT1", expiry=D(2027, 1, 31)),
        "]d2",
        "]d2 followed by HRI",
    ),
    (f"]d2{GS}01{GTIN}" + "10LOT1", gs1(lot="LOT1"), "]d2", "leading FNC1 sent as GS"),
    (
        f"(01){GTIN}(11)250115(17)300115(10)L7",
        gs1(lot="L7", expiry=D(2030, 1, 15), manufactured=D(2025, 1, 15)),
        "",
        "production date",
    ),
    (f"(01){GTIN}(30)12(10)L7", gs1(lot="L7", quantity=12), "", "quantity (30)"),
    (
        f"(01){GTIN_B}(10)RC-2417(21)R-RC1",
        gs1(gtin=GTIN_B, lot="RC-2417", serial="R-RC1"),
        "",
        "recall sample HRI",
    ),
    # --- GS1 Digital Link ------------------------------------------------------------------
    (
        "https://id.gs1.org/01/00850001230025/10/RC-2417/21/R-RC1",
        link(lot="RC-2417", serial="R-RC1"),
        "",
        "Digital Link",
    ),
    (
        "https://id.gs1.org/01/00850001230025/10/RC-2417/21/R-RC1?17=281231",
        link(lot="RC-2417", serial="R-RC1", expiry=D(2028, 12, 31)),
        "",
        "Digital Link with expiry query",
    ),
    (
        "https://id.gs1.org/01/00850001230025?17=281200",
        link(expiry=D(2028, 12, 31)),
        "",
        "Digital Link day 00",
    ),
    (
        "https://example-brand.com/01/00850001230025/21/SN42",
        link(serial="SN42"),
        "",
        "brand domain",
    ),
    (
        "https://example-brand.com/products/en/01/00850001230025/10/L1?17=270630&utm=x",
        link(lot="L1", expiry=D(2027, 6, 30)),
        "",
        "brand domain with path prefix",
    ),
    ("http://id.gs1.org/01/00850001230025", link(), "", "http scheme, GTIN only"),
    (
        "https://id.gs1.org/01/850001230025/10/L%2F1",
        link(lot="L/1"),
        "",
        "GTIN-12 zero-filled, encoded slash",
    ),
    ("]Q1https://id.gs1.org/01/00850001230025/10/L1", link(lot="L1"), "]Q1", "plain QR prefix"),
    (
        "]d1https://id.gs1.org/01/00850001230025/21/S9",
        link(serial="S9"),
        "]d1",
        "plain DataMatrix prefix",
    ),
    # --- HIBC: published examples ----------------------------------------------------------
    ("+A999123457", hib(), "", "HIBC primary (published example)"),
    (
        "+A99912345/$$52025010X3/16D20111212/S77DEFG458",
        hib(lot="10X3", serial="77DEFG45", expiry=D(2020, 9, 6), manufactured=D(2011, 12, 12)),
        "",
        "HIBC concatenated with supplemental (published)",
    ),
    (
        "+A123BJC5D6E71/$$52001510X3C",
        hib("A123", "BJC5D6E7", 1, lot="10X3", expiry=D(2020, 1, 15)),
        "",
        "HIBC concatenated YYJJJ (published)",
    ),
    # --- HIBC: primary ---------------------------------------------------------------------
    (hibc("+H123ABC01234560"), hib("H123", "ABC0123456", 0), "", "unit of use"),
    (hibc("+B2C3" + "X" * 18 + "9"), hib("B2C3", "X" * 18, 9), "", "18-character product number"),
    ("]A0" + PRIMARY, hib(), "]A0", "Code 39 prefix"),
    # --- HIBC: separate secondary symbol ---------------------------------------------------
    (
        PRIMARY + secondary("+$$0527LOT17X"),
        hib(lot="LOT17X", expiry=D(2027, 5, 31)),
        "",
        "$$ MMYY default",
    ),
    (
        PRIMARY + " " + secondary("+$$0527LOT17X"),
        hib(lot="LOT17X", expiry=D(2027, 5, 31)),
        "",
        "two symbols with a space",
    ),
    (PRIMARY + secondary("+$$2053127L1"), hib(lot="L1", expiry=D(2027, 5, 31)), "", "$$2 MMDDYY"),
    (PRIMARY + secondary("+$$3270531L1"), hib(lot="L1", expiry=D(2027, 5, 31)), "", "$$3 YYMMDD"),
    (
        PRIMARY + secondary("+$$427053114L1"),
        hib(lot="L1", expiry=D(2027, 5, 31)),
        "",
        "$$4 YYMMDDHH",
    ),
    (PRIMARY + secondary("+$$527151L1"), hib(lot="L1", expiry=D(2027, 5, 31)), "", "$$5 YYJJJ"),
    (PRIMARY + secondary("+$$62715123L1"), hib(lot="L1", expiry=D(2027, 5, 31)), "", "$$6 YYJJJHH"),
    (PRIMARY + secondary("+$$7L1"), hib(lot="L1"), "", "$$7 lot only"),
    (
        PRIMARY + secondary("+$$8050527L1"),
        hib(lot="L1", quantity=5, expiry=D(2027, 5, 31)),
        "",
        "$$8 two-digit quantity",
    ),
    (
        PRIMARY + secondary("+$$9001203270531L1"),
        hib(lot="L1", quantity=120, expiry=D(2027, 5, 31)),
        "",
        "$$9 five-digit quantity, YYMMDD",
    ),
    (
        PRIMARY + secondary("+$$+0527SN77"),
        hib(serial="SN77", expiry=D(2027, 5, 31)),
        "",
        "$$+ serial with MMYY",
    ),
    (
        PRIMARY + secondary("+$$+527151SN77"),
        hib(serial="SN77", expiry=D(2027, 5, 31)),
        "",
        "$$+ serial with YYJJJ",
    ),
    (PRIMARY + secondary("+$LOT42"), hib(lot="LOT42"), "", "$ lot only"),
    (PRIMARY + secondary("+$+SN42"), hib(serial="SN42"), "", "$+ serial only"),
    # --- HIBC: concatenated ----------------------------------------------------------------
    (
        hibc("+A99912345/$$3270531L1"),
        hib(lot="L1", expiry=D(2027, 5, 31)),
        "",
        "concatenated YYMMDD",
    ),
    (
        hibc("+A99912345/$LOT9/14D20270531/Q24"),
        hib(lot="LOT9", expiry=D(2027, 5, 31), quantity=24),
        "",
        "concatenated 14D and Q",
    ),
    (hibc("+A99912345/$+SN1"), hib(serial="SN1"), "", "concatenated serial only"),
    (
        "]d1" + hibc("+A99912340/$$0527L1"),
        hib(uom=0, lot="L1", expiry=D(2027, 5, 31)),
        "]d1",
        "DataMatrix prefix, unit of use",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected", "symbology"),
    [pytest.param(text, label, sym, id=name) for text, label, sym, name in LABELS],
)
def test_parse_label_reads_every_format(text, expected, symbology):
    label = parse_label(text)

    assert label == Label(
        format=expected.format,
        gtin=expected.gtin,
        hibc=expected.hibc,
        lot=expected.lot,
        serial=expected.serial,
        expiry=expected.expiry,
        manufactured=expected.manufactured,
        quantity=expected.quantity,
        symbology=symbology,
        raw=text.strip(),
    )


def _swap_check(symbol: str) -> str:
    wrong = "0" if symbol[-1] != "0" else "1"
    return symbol[:-1] + wrong


REFUSED = [
    # GS1 check digits and dates
    (
        f"(01){GTIN[:-1]}3(10)L1",
        "The GTIN 09506000134353 has a wrong check digit: it should end in 2, the label says 3.",
        "bad GTIN check digit (HRI)",
    ),
    (
        f"]d201{GTIN[:-1]}7" + "21S1",
        "it should end in 2, the label says 7",
        "bad GTIN check digit (]d2 raw)",
    ),
    (
        "https://id.gs1.org/01/00850001230026/10/L1",
        "it should end in 5, the label says 6",
        "bad GTIN check digit (Digital Link)",
    ),
    (f"(01){GTIN}(17)270231", "date", "GS1 February 31"),
    (f"(01){GTIN}(17)271340", "could not be read", "GS1 month 13"),
    (
        "https://id.gs1.org/01/00850001230025?17=271340",
        "could not be read",
        "Digital Link month 13",
    ),
    # truncated GS1
    ("(01)0950600013435", "could not be read", "GTIN one digit short (HRI)"),
    (f"01{GTIN[:-2]}", "could not be read", "GTIN cut short (raw)"),
    (f"01{GTIN}1727", "could not be read", "expiry cut short (raw)"),
    (
        "https://id.gs1.org/01/00850001230025/10",
        "could not be read",
        "Digital Link with a dangling key",
    ),
    (
        "https://example.com/shop/item/42",
        "not a GS1 Digital Link: it has no /01/",
        "web address without a GTIN",
    ),
    ("https://id.gs1.org/00/106141412345678908", "no GTIN (01)", "Digital Link for an SSCC"),
    (
        f"https://[x/01/{GTIN}/21/S1",
        "That web address could not be read",
        "web address Python's URL parser refuses",
    ),
    # HIBC check characters
    (
        _swap_check(PRIMARY),
        f"the HIBC check character is {LINK}, the label says 0",
        "bad HIBC primary check",
    ),
    (
        "+A99912345/$$52025010X3/16D20111212/S77DEFG459",
        "the HIBC check character is 8, the label says 9",
        "bad HIBC concatenated check",
    ),
    (
        "+A99912345/$$52025010X3/16D20111212/S77DEFG468",
        "the HIBC check character is 9, the label says 8",
        "altered serial, old check",
    ),
    (
        PRIMARY + _swap_check(secondary("+$$0527LOT17X")),
        "HIBC check character is",
        "bad HIBC secondary check",
    ),
    (
        PRIMARY + secondary("+$$0527LOT17X", link="Q"),
        "its link character is Q, the primary barcode's check character is 7",
        "secondary of another label",
    ),
    ("+a999123457", "'a'", "lower-case HIBC"),
    # HIBC bad dates (check characters recomputed so the date is what fails)
    (
        PRIMARY + secondary("+$$1327L1"),
        "The HIBC expiry date 1327 (MMYY) is not a valid date.",
        "MMYY month 13",
    ),
    (
        PRIMARY + secondary("+$$2023027L1"),
        "The HIBC expiry date 023027 (MMDDYY) is not a valid date.",
        "MMDDYY February 30",
    ),
    (
        PRIMARY + secondary("+$$527366L1"),
        "The HIBC expiry date 27366 (YYJJJ) is not a valid date.",
        "YYJJJ day 366 of 2027",
    ),
    (PRIMARY + secondary("+$$427053125L1"), "27053125 (YYMMDDHH) is not a valid date", "hour 25"),
    (
        hibc("+A99912345/$L1/14D20270230"),
        "The HIBC expiry date (14D) '20270230' is not a valid date (YYYYMMDD).",
        "14D February 30",
    ),
    (
        hibc("+A99912345/$L1/16D2011121"),
        "manufacture date (16D) '2011121' is not a valid date",
        "16D cut short",
    ),
    # truncated or malformed HIBC
    ("+A99", "cut short", "HIBC primary cut short"),
    (hibc("+A99"), "cut short", "HIBC primary with no product"),
    (
        PRIMARY + secondary("+$$05"),
        "The HIBC expiry date must be 4 digits (MMYY); the label has '05'.",
        "HIBC date cut short",
    ),
    (
        PRIMARY + secondary("+$$8"),
        "The HIBC quantity after flag 8 must be 2 digits",
        "HIBC quantity cut short",
    ),
    (
        hibc("+1999123457"),
        "labeler code must be a capital letter",
        "HIBC labeler code starting with a digit",
    ),
    (hibc("+A9991234X"), "unit of measure", "HIBC without unit of measure"),
    (hibc("+A999" + "X" * 19 + "5"), "longer than 18 characters", "HIBC product number too long"),
    (hibc("+A99912345/$L1/Z9"), "The HIBC field 'Z9' is not one we know", "unknown HIBC field"),
    (
        secondary("+$$0527LOT17X"),
        "HIBC secondary barcode (lot, serial or expiry only)",
        "HIBC secondary alone",
    ),
    # look-alike and control characters
    (f"(01){GTIN}(21)SER\u200b1", "U+200B ZERO WIDTH SPACE at position 26", "zero-width space"),
    (f"(01){GTIN}(10)L\u041e T", "U+041E CYRILLIC CAPITAL LETTER O", "Cyrillic O"),
    (f"(01){GTIN}(10)LOT\uff11", "U+FF11 FULLWIDTH DIGIT ONE", "fullwidth digit"),
    ("https://id.gs1.org/01/00850001230025/10/RC\u20102417", "U+2010 HYPHEN", "Unicode hyphen"),
    ("+A99912345/$LOTE\u0301", "U+0301 COMBINING ACUTE ACCENT", "combining mark"),
    (f"01{GTIN}10L1\t21S1", "U+0009 CHARACTER TABULATION", "tab"),
    (f"01{GTIN}10L1\x0021S1", "U+0000 NULL", "NUL"),
    (f"01{GTIN}10L1\x1e21S1", "U+001E CONTROL CHARACTER", "record separator"),
    # nothing usable
    ("", "Scan or paste", "empty"),
    ("hello world", "not a GS1 UDI, GS1 Digital Link or HIBC barcode", "plain words"),
    ("(10)LOT1(21)SER1", "no GTIN (01)", "GS1 without GTIN"),
    ("(01)" + GTIN + "(10)" + "L" * 250, "too long", "longer than 255"),
]


@pytest.mark.parametrize(
    ("text", "message"),
    [pytest.param(text, message, id=name) for text, message, name in REFUSED],
)
def test_parse_label_refuses_with_a_message_naming_the_problem(text, message):
    with pytest.raises(UdiError) as exc:
        parse_label(text)

    assert message in str(exc.value)


def test_a_space_check_character_survives_stripping_the_scan():
    # A primary whose check character is a space; the scan ends with that space and a newline.
    codes = (f"+A123P{a}{b}0" for a in _MOD43[:36] for b in _MOD43[:36])
    data = next(code for code in codes if m43(code) == " ")

    label = parse_label(data + " \r\n")

    assert label.hibc == HibcIdentity("A123", data[5:-1], 0)
    assert label.hibc.is_unit_of_use


def test_parse_udi_gets_digital_link_and_d2_hri_for_free():
    dl = parse_udi("https://id.gs1.org/01/00850001230025/10/RC-2417/21/R-RC1?17=281231")
    hri = parse_udi(f"]d2(01){GTIN}(17)270200(10)LOT1")

    assert (dl.gtin, dl.lot, dl.serial, dl.expiry) == (GTIN_B, "RC-2417", "R-RC1", D(2028, 12, 31))
    assert (hri.gtin, hri.lot, hri.expiry) == (GTIN, "LOT1", D(2027, 2, 28))


def test_parse_udi_refuses_hibc_because_its_callers_look_products_up_by_gtin():
    with pytest.raises(UdiError) as exc:
        parse_udi(PRIMARY)

    assert "HIBC barcode (labeler A999, product 1234)" in str(exc.value)
    assert "no GTIN (01)" in str(exc.value)


@pytest.mark.parametrize("value", ["LOT-1", "A.B/C+D", "SN_0042", "x" * 40])
def test_check_code_characters_accepts_printable_ascii(value):
    assert check_code_characters(value) is None


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("LOT 1", "U+0020 SPACE"),
        ("SN\u200b1", "U+200B ZERO WIDTH SPACE"),
        ("\u0410BC", "U+0410 CYRILLIC CAPITAL LETTER A"),
        ("\uff21BC", "U+FF21 FULLWIDTH LATIN CAPITAL LETTER A"),
        ("RC\u20112417", "U+2011 NON-BREAKING HYPHEN"),
        ("RC\u20132417", "U+2013 EN DASH"),
        ("LOTE\u0301", "U+0301 COMBINING ACUTE ACCENT"),
        ("L1\x1d", "U+001D GROUP SEPARATOR"),
        ("L1\n", "U+000A LINE FEED"),
    ],
)
def test_check_code_characters_refuses_look_alikes_by_name(value, named):
    with pytest.raises(UdiError) as exc:
        check_code_characters(value, what="The serial")

    assert str(exc.value).startswith(f"The serial contains {named} at position ")
