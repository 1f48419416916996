"""The offline label reader (static/js/label_reader.js), run in Chromium, reads every label as the
server's `parse_label` does: the same fields and values, refused or not.

Every row of tests/inventory/test_labels.py's LABELS and REFUSED tables, the HIBC two-symbol
joins the camera scanner makes, edge cases of the formats, and every one-character slip of those
labels are read by both and compared. The one difference allowed is by design: a GS1 label with
a field the reader does not know is refused in the browser (the server reads it at sync); it may
never be accepted where the server refuses, nor read differently.

No server or database: the script is loaded into a blank page and asked once for everything.
"""

import json
import string
import sys
import unicodedata
from pathlib import Path

import pytest

from inventory.selectors.scans import looks_like_label
from inventory.udi import UdiError, parse_label
from tests.inventory.test_labels import (
    GS,
    GTIN,
    LABELS,
    LINK,
    PRIMARY,
    REFUSED,
    hibc,
    m43,
    secondary,
)

READER = Path(__file__).resolve().parents[2] / "static" / "js" / "label_reader.js"
FIELDS = ("format", "gtin", "hibc", "lot", "serial", "expiry", "unitOfMeasure")
OFFLINE = "cannot read offline"  # what the reader says of a GS1 field it does not know


def _primary_with_check(check: str, uom: str = "0") -> str:
    """An HIBC primary symbol whose check character is `check` (space, $, /, +, ...)."""
    alphanumerics = string.digits + string.ascii_uppercase
    return next(
        data + check
        for a in alphanumerics
        for b in alphanumerics
        for c in alphanumerics
        if m43(data := f"+A123P{a}{b}{c}{uom}") == check
    )


def _joins() -> list[tuple[str, str]]:
    """Primary + secondary symbol as the camera scanner joins them (static/js/scanner.js): the
    secondary carries the primary's check character as its link character."""
    primaries = {
        "published": PRIMARY,
        "unit of use": hibc("+H123ABC01234560"),
        "18-character product": hibc("+B2C3" + "X" * 18 + "9"),
        **{f"check {c!r}": _primary_with_check(c) for c in " $/+%.-"},
    }
    secondaries = ["+$$0527LOT17X", "+$+SN42", "+$LOT42", "+$$3270531L1", "+$$+527151SN77"]
    joins = [
        (f"{name} + {data}", primary + hibc(data + primary[-1]))
        for name, primary in primaries.items()
        for data in secondaries
    ]
    return joins + [
        ("secondary of another primary", PRIMARY + secondary("+$LOT42", link="Z")),
        ("secondary before primary", secondary("+$LOT42") + PRIMARY),
        ("secondary alone", secondary("+$+SN42")),
        ("secondary cut short", PRIMARY + "+$A"),
        ("DataMatrix prefix on the join", "]d1" + PRIMARY + secondary("+$LOT42")),
    ]


# Edge cases of the formats beyond the tables, read alike by both.
EDGES = [
    ("20-character lot, raw", f"01{GTIN}10{'L' * 20}"),
    ("21 characters after (10), raw: the 21st starts the next field", f"01{GTIN}10{'L' * 20}21S"),
    ("21-character lot, HRI", f"(01){GTIN}(10){'L' * 21}"),
    ("empty (30), raw", f"01{GTIN}30{GS}10L1"),
    ("(37) and (240)", f"(01){GTIN}(37)12(240)REF-1(10)L1"),
    ("internal field (91) of 90 characters", f"01{GTIN}91{'A' * 90}{GS}21S1"),
    ("best-before date invalid", f"(01){GTIN}(15)270230(10)L1"),
    ("two lots: the last wins", f"(01){GTIN}(10)A(10)B"),
    ("a century back", f"(01){GTIN}(17)990101"),
    ("month 00 with day 00", f"(01){GTIN}(17)270000"),
    ("HRI text between fields skipped", f"(01){GTIN}(X)(10)L1"),
    ("HRI (01) with no value", "(01)(10)L1"),
    ("trailing GS", f"01{GTIN}10L1{GS}"),
    ("space inside raw", f"01{GTIN}10L 1"),
    ("symbology and nothing else", "]d2"),
    ("Digital Link, upper-case scheme", "HTTPS://id.gs1.org/01/00850001230025/21/S1"),
    (
        "Digital Link, query lot overrides the path",
        "https://id.gs1.org/01/00850001230025/10/A?10=B",
    ),
    ("Digital Link, + in a query value", "https://id.gs1.org/01/00850001230025?10=A+B"),
    ("Digital Link, query without value", "https://id.gs1.org/01/00850001230025?17=&10"),
    ("Digital Link, fragment", "https://id.gs1.org/01/00850001230025/10/L1#17=271340"),
    ("Digital Link, qualifiers out of order", "https://id.gs1.org/01/00850001230025/21/S/10/L"),
    ("Digital Link, CPV and TPX", "https://id.gs1.org/01/00850001230025/22/C1/235/T1"),
    ("Digital Link, GTIN-8 zero-filled", "https://id.gs1.org/01/96385074"),
    ("Digital Link, no host", "https:/01/00850001230025/10/L1"),
    ("Digital Link, %-escapes", "https://id.gs1.org/01/00850001230025/%31%30/L%41%2"),
    ("Digital Link, prefix segment that is a key", "https://x.org/00/01/00850001230025"),
    (
        "Digital Link, prototype name as a query key",
        "https://x.org/01/00850001230025?constructor=1",
    ),
    ("HIBC, space check stripped from the scan", _primary_with_check(" ").rstrip() + " \r\n"),
    ("HIBC, 14D year 0", hibc("+A99912345/$L1/14D00000101")),
    ("HIBC, $ part after the first", hibc("+A99912345/S1/$L1")),
    ("HIBC, YYJJJ day 366 of a leap year", PRIMARY + secondary("+$$528366L1")),
    ("HIBC, MMYY month 00", PRIMARY + secondary("+$$0027L1")),
    ("HIBC, secondary with no data", PRIMARY + secondary("+$")),
    ("HIBC, lower case in the secondary", PRIMARY + "+$lot" + LINK + "X"),
    ("HIBC, concatenated S and Q without values", hibc("+A99912345/S/Q")),
    ("HIBC, Q of six digits", hibc("+A99912345/Q123456")),
    ("HIBC, 16D ignored but checked", hibc("+A99912345/16D20270231")),
]
# Python's whitespace, stripped from a label's ends (and JavaScript's, which is not the same).
EDGES += [
    (f"U+{ord(c):04X} around a label", f"{c}{PRIMARY}{c}")
    for c in sorted({chr(i) for i in range(0x3001) if chr(i).isspace()} | {"\ufeff", "\u200b"})
]

# GS1 labels the server reads whose fields the offline reader does not know: refused offline.
BEYOND = [
    ("(422) country of origin", f"(01){GTIN}(422)276(10)L1"),
    ("raw (7003) expiry date and time", f"01{GTIN}70032701312359{GS}21S1"),
    ("Digital Link with (3103) in the query", "https://id.gs1.org/01/00850001230025?3103=000189"),
]

TYPED = ["SN-0042", "r-rc1", "LOT17X", "0109506000134352", "01095060001343", "010950600013435X"]
TYPED += ["٠١" + "٢" * 14, "01" + "²" * 14, "01" + "𝟘" * 14, "01" + "①" * 14, " (01)", "Http://x"]

SLIPS = [*"019Aa()/$+%?=&#[-.:", " ", GS, "\\"]


def _slips(text: str) -> list[str]:
    """Every one-character slip of a label: each character dropped, doubled or replaced."""
    out = []
    for i, char in enumerate(text):
        out += [text[:i] + text[i + 1 :], text[:i] + char + text[i:]]
        out += [text[:i] + other + text[i + 1 :] for other in SLIPS if other != char]
    return out


def python_reads(text: str) -> dict:
    """parse_label's answer in the reader's terms."""
    try:
        label = parse_label(text)
    except UdiError as exc:
        return {"ok": False, "message": str(exc)}
    except ValueError as exc:  # urlsplit's for "https://[x/..." escapes parse_label: no label
        return {"ok": False, "message": f"{type(exc).__name__}: {exc}"}
    return {
        "ok": True,
        "format": label.format,
        "gtin": label.gtin,
        "hibc": f"{label.hibc.lic}{label.hibc.product}" if label.hibc else "",
        "lot": label.lot,
        "serial": label.serial,
        "expiry": label.expiry.isoformat() if label.expiry else "",
        "unitOfMeasure": str(label.hibc.unit_of_measure) if label.hibc else "",
    }


def disagreement(python: dict, js: dict) -> str:
    """What the two readers disagree on ("" when nothing)."""
    if python["ok"] != js["ok"]:
        said = js.get("message") or python.get("message") or ""
        return f"server ok={python['ok']}, browser ok={js['ok']} ({said})"
    if not python["ok"]:
        return ""
    return ", ".join(
        f"{name}: server {python[name]!r}, browser {js.get(name)!r}"
        for name in FIELDS
        if python[name] != js.get(name)
    )


ROWS = (
    [pytest.param(text, id=f"label: {name}") for text, _, _, name in LABELS]
    + [pytest.param(text, id=f"refused: {name}") for text, _, name in REFUSED]
    + [pytest.param(text, id=f"join: {name}") for name, text in _joins()]
    + [pytest.param(text, id=f"edge: {name}") for name, text in EDGES]
)
ALL_TEXTS = [p.values[0] for p in ROWS] + [text for _, text in BEYOND]
# The labels whose slips are tried: all but the longest and the whitespace variants, and the
# joins of one secondary (their slips are much alike).
SLIPPED = [
    text
    for name, text in [(name, text) for text, _, _, name in LABELS]
    + [(name, text) for text, _, name in REFUSED]
    + [(name, text) for name, text in _joins() if name.endswith("+$$0527LOT17X")]
    + EDGES
    if len(text) < 100 and not name.startswith("U+")
]


@pytest.fixture(scope="module")
def reader(browser):
    """The reader in a blank page, with its answers to every text of this module."""
    page = browser.new_page()
    page.set_content("<html></html>")
    page.add_script_tag(path=str(READER))
    slips = sorted({s for text in SLIPPED for s in _slips(text)} - set(ALL_TEXTS))
    lines = ALL_TEXTS + slips + TYPED
    # One call, its data as JSON both ways: Playwright's own serialization of 100,000 objects
    # takes seconds.
    answers = json.loads(
        page.evaluate(
            """(data) => {
                const [texts, lines] = JSON.parse(data);
                const digits = [];
                for (let code = 0; code <= 0x10ffff; code++) {
                  const char = code >= 0xd800 && code <= 0xdfff ? "" : String.fromCodePoint(code);
                  if (char && TrunkpoolLabel.looksLikeLabel("01" + char.repeat(14))) digits.push(code);
                }
                return JSON.stringify({
                  reads: texts.map((text) => TrunkpoolLabel.read(text)),
                  looks: lines.map((line) => TrunkpoolLabel.looksLikeLabel(line)),
                  digits,
                });
            }""",
            json.dumps([ALL_TEXTS + slips, lines]),
        )
    )
    page.close()
    reads = dict(zip(ALL_TEXTS + slips, answers["reads"], strict=True))
    return {
        "reads": reads,
        "slips": slips,
        "looks": dict(zip(lines, answers["looks"], strict=True)),
        "digits": answers["digits"],
    }


@pytest.mark.parametrize("text", ROWS)
def test_the_browser_reads_the_label_as_the_server_does(reader, text):
    python, js = python_reads(text), reader["reads"][text]

    assert not disagreement(python, js), f"{text!r}: {disagreement(python, js)}"


def test_the_tables_hold_labels_of_every_format_and_refusals():
    # The comparison above proves something only while the tables it imports are full.
    formats = {python_reads(text).get("format") for text, *_ in LABELS}
    assert formats == {"gs1", "gs1-digital-link", "hibcc"}
    assert len(REFUSED) > 40
    assert all(not python_reads(text)["ok"] for text, *_ in REFUSED)


@pytest.mark.parametrize(("name", "text"), BEYOND, ids=[name for name, _ in BEYOND])
def test_a_gs1_field_the_reader_does_not_know_is_left_to_the_server(reader, name, text):
    assert python_reads(text)["ok"]
    js = reader["reads"][text]
    assert not js["ok"]
    assert OFFLINE in js["message"]


def test_no_slip_of_a_label_is_read_otherwise_in_the_browser(reader):
    """Each label with one character dropped, doubled or replaced: the browser reads it as the
    server does, or refuses it for a field it does not know; never accepts what the server
    refuses, never names another product, lot, serial or expiry."""
    wrong = []
    for text in reader["slips"]:
        python, js = python_reads(text), reader["reads"][text]
        if python["ok"] and not js["ok"] and OFFLINE in js["message"]:
            continue
        if problem := disagreement(python, js):
            wrong.append(f"{text!r}: {problem}")

    assert len(reader["slips"]) > 10_000
    assert not wrong, f"{len(wrong)} slips read otherwise:\n" + "\n".join(wrong[:40])


def test_looks_like_label_is_the_servers(reader):
    wrong = [
        f"{line!r}: server {looks_like_label(line)}, browser {looks}"
        for line, looks in reader["looks"].items()
        if looks_like_label(line) != looks
    ]

    assert not wrong, "\n".join(wrong[:40])
    assert not reader["looks"]["SN-0042"] and reader["looks"]["0109506000134352"]


def test_looks_like_label_counts_as_digits_what_python_does(reader):
    # "01" and 14 of one character: a label to Python when str.isdigit() says so. Characters
    # Unicode 14 (this Python's) had not assigned are left out: Chromium's Unicode is newer.
    python = {
        code
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and looks_like_label("01" + chr(code) * 14)
    }
    browser = {code for code in reader["digits"] if unicodedata.category(chr(code)) != "Cn"}

    assert browser == python, sorted(map(hex, browser ^ python))[:20]


def test_the_reader_runs_in_a_worker_as_a_service_worker_would_load_it(browser):
    # No window, no document: a worker's global scope, as importScripts gives a service worker.
    page = browser.new_page()
    page.set_content("<html></html>")
    answer = page.evaluate(
        """([source, text]) => new Promise((resolve, reject) => {
            const code = `${source}\\nonmessage = (e) => postMessage(TrunkpoolLabel.read(e.data));`;
            const worker = new Worker(URL.createObjectURL(new Blob([code])));
            worker.onmessage = (e) => resolve(e.data);
            worker.onerror = (e) => reject(new Error(e.message));
            worker.postMessage(text);
        })""",
        [READER.read_text(), LABELS[0][0]],
    )
    page.close()

    assert answer == {**python_reads(LABELS[0][0]), "ok": True}
