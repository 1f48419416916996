"""GS1 UDI parsing is a pure function: a table of what scanners and people produce."""

import datetime

import pytest

from inventory.udi import Udi, UdiError, parse_udi

GTIN = "09506000134352"  # valid GTIN-14 (check digit 2)
GS = "\x1d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            f"(01){GTIN}(17)270131(10)LOT1(21)SER1",
            Udi(GTIN, "LOT1", "SER1", datetime.date(2027, 1, 31)),
            id="HRI with parentheses",
        ),
        pytest.param(
            f"(01){GTIN}(21)SER1(10)LOT1",
            Udi(GTIN, "LOT1", "SER1", None),
            id="HRI in any element order, no expiry",
        ),
        pytest.param(f"(01){GTIN}", Udi(GTIN), id="HRI with the GTIN alone"),
        pytest.param(
            f"01{GTIN}17270131" + f"10LOT1{GS}21SER1",
            Udi(GTIN, "LOT1", "SER1", datetime.date(2027, 1, 31)),
            id="raw with GS separator",
        ),
        pytest.param(
            f"01{GTIN}" + f"10LOT1{GS}17270131" + "21SER1",
            Udi(GTIN, "LOT1", "SER1", datetime.date(2027, 1, 31)),
            id="raw with GS after a variable-length lot",
        ),
        pytest.param(
            f"]d201{GTIN}17270131" + f"10LOT1{GS}21SER1",
            Udi(GTIN, "LOT1", "SER1", datetime.date(2027, 1, 31)),
            id="]d2 symbology prefix",
        ),
        pytest.param(
            f"01{GTIN}17270131" + "10LOT1<GS>21SER1",
            Udi(GTIN, "LOT1", "SER1", datetime.date(2027, 1, 31)),
            id="scanner sends <GS> as text",
        ),
        pytest.param(
            f"(01){GTIN}(17)270200",
            Udi(GTIN, expiry=datetime.date(2027, 2, 28)),
            id="day 00 means the last day of the month",
        ),
        pytest.param(
            f"  (01){GTIN}(10)A1  \n",
            Udi(GTIN, "A1"),
            id="surrounding whitespace",
        ),
    ],
)
def test_parse_udi_reads_gtin_lot_serial_and_expiry(text, expected):
    udi = parse_udi(text)

    assert (udi.gtin, udi.lot, udi.serial, udi.expiry) == (
        expected.gtin,
        expected.lot,
        expected.serial,
        expected.expiry,
    )
    assert udi.raw == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(f"(01){GTIN[:-1]}3(21)S1", "check digit", id="bad check digit (HRI)"),
        pytest.param(f"01{GTIN[:-1]}5" + "21S1", "check digit", id="bad check digit (raw)"),
        pytest.param("(10)LOT1(21)SER1", "no GTIN (01)", id="no GTIN (HRI)"),
        pytest.param("10LOT1" + GS + "21SER1", "no GTIN (01)", id="no GTIN (raw)"),
        pytest.param("", "Scan or paste", id="empty"),
        pytest.param("   ", "Scan or paste", id="blank"),
        pytest.param(None, "Scan or paste", id="None"),
        pytest.param("hello world", "not a GS1 UDI", id="garbage"),
        pytest.param("12345", "not a GS1 UDI", id="digits that are no GS1 string"),
        pytest.param("(01)0950600013435", "could not be read", id="GTIN too short"),
        pytest.param(f"(01){GTIN}(17)271340", "could not be read", id="impossible month (HRI)"),
        pytest.param(f"01{GTIN}17271340", "could not be read", id="impossible month (raw)"),
        pytest.param(f"(01){GTIN}(17)270231", "date", id="invalid date (HRI)"),
        pytest.param(f"01{GTIN}17270231" + "10LOT1", "date", id="invalid date (raw)"),
        pytest.param("(01)" + GTIN + "(10)" + "L" * 250, "too long", id="longer than 255"),
    ],
)
def test_parse_udi_refuses_what_it_cannot_use_and_says_why(text, message):
    with pytest.raises(UdiError) as exc:
        parse_udi(text)

    assert message in str(exc.value)
