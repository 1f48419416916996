"""Build a full-scale organization next to the demo data, in bulk SQL, and prove its ledger.

The plan for every row is made in Python (seeded, so a run is repeatable), then written with
PostgreSQL COPY in one transaction. While it loads, the secondary indexes and foreign keys of
the six big tables are dropped; they are recreated from their own definitions before commit,
so the unique indexes and every foreign key are checked against all rows at once.

Each unit's story is told by its ledger: received, then at most one transfer (sent, then
accepted, declined to hold (perhaps released) or cancelled, or still pending), or use on events
(marked used, then consumed, returned, adjusted away, or sold to a facility, and facility stock
used again in a later case). The unit row is written with the state, custodian and ledger_seq
its entries end on; `replay_problems` checks that in SQL.

Table names come from `_meta.db_table`, columns from `field.column`, and models are looked up
by name in any app, so the SQL follows models that move between apps. Columns the plan does
not know are filled with the field's default; a NOT NULL column without one stops the load with
a message naming it.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection

DEMO_USERNAMES = ("admin", "dana", "riley", "sam", "drew", "casey")
BENCH_EMAIL_DOMAIN = "bench.example"
NULL = r"\N"
DAY = 86_400


# What each recall or move entry may change (the rules tests/inventory/factories.py's
# ledger_problems checks entry by entry): a move only the location; a quarantine, a return and
# a withdrawn recall only the state, and they name their recall; no other kind names one.
KEEPS_CUSTODY = ("moved", "quarantined", "returned", "recall_withdrawn")
NAMES_RECALL = ("quarantined", "returned", "recall_withdrawn")


class BenchError(Exception):
    """The database is not ready for a load, or the load would break a rule."""


# Pages may come to rely on tables the services maintain (counts, pool levels by expiry date).
# Bulk SQL bypasses the services, so each such table needs a builder here: a function taking
# (cursor, organization_id) that fills it from the loaded rows. They run inside the load's
# transaction, after every row is written and before the replay check.
SUMMARY_BUILDERS: list[Callable] = []


def model(name: str):
    """The model called `name`, wherever it lives now (models move down the app stack)."""
    for label in ("inventory", "events", "accounts"):
        try:
            return apps.get_model(label, name)
        except LookupError:
            continue
    raise LookupError(name)


def column(model_cls, name: str) -> str:
    """The database column of a field, found by field name or column name."""
    for f in model_cls._meta.concrete_fields:
        if name in (f.name, f.column, f.attname):
            return f.column
    raise BenchError(f"{model_cls.__name__} has no field {name!r}")


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _text(value) -> str:
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return esc(str(value))


def esc(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


class CopyTable:
    """COPY rows into a model's table: the given columns in order, then every other column
    filled with its field default (so a column added later does not break the load)."""

    def __init__(self, model_cls, columns: list[str]):
        opts = model_cls._meta
        self.table = opts.db_table
        self.columns = [column(model_cls, c) for c in columns]
        suffix = []
        for f in opts.concrete_fields:
            if f.column in self.columns:
                continue
            value = f.get_default()
            if value is None and not f.null:
                raise BenchError(
                    f"bench_scale cannot fill {opts.label}.{f.name} (NOT NULL, no default): "
                    "add it to bench/build/"
                )
            suffix.append(_text(f.get_db_prep_save(value, connection)))
            self.columns.append(f.column)
        self.suffix = "".join("\t" + s for s in suffix)

    def copy(self, cursor, lines: Iterable[str]) -> int:
        cols = ", ".join(qn(c) for c in self.columns)
        count = 0
        buf: list[str] = []
        suffix = self.suffix + "\n"
        with cursor.cursor.copy(f"COPY {qn(self.table)} ({cols}) FROM STDIN") as cp:
            for line in lines:
                buf.append(line + suffix)
                if len(buf) >= 20_000:
                    cp.write("".join(buf))
                    count += len(buf)
                    buf.clear()
            if buf:
                cp.write("".join(buf))
                count += len(buf)
        return count


def null_or(value) -> str:
    return NULL if value is None else str(value)


_TS_FORMAT = "%Y-%m-%d %H:%M:%S+00"


def ts(seconds: int) -> str:
    return time.strftime(_TS_FORMAT, time.gmtime(seconds))


@dataclass
class Scale:
    units: int = 1_000_000
    users: int = 2_000
    events: int = 200_000
    transfers: int | None = None  # default events / 4
    seed: int = 8

    @property
    def groups(self) -> int:
        return max(2, min(40, self.users // 50))

    @property
    def facilities(self) -> int:
        return max(4, min(200, self.users // 10))

    @property
    def physicians(self) -> int:
        return max(2, min(50, self.users // 40))

    @property
    def products(self) -> int:
        return max(20, min(300, self.units // 3000))

    @property
    def transfer_count(self) -> int:
        return self.transfers if self.transfers is not None else self.events // 4

    @property
    def event_lines(self) -> int:
        return self.events // 2


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    phases: list[tuple[str, float]] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)


FIRST = (  # noqa: SIM905 (one word each)
    "Alex Blair Cameron Devon Elliot Finley Gray Harper Indra Jordan Kai Logan Morgan Noel "
    "Oakley Parker Quinn Reese Sage Taylor Uma Val Wren Xavi Yael Zion Ari Bo Cleo Dara Emery "
    "Flynn Gale Hollis Ira Jules Kit Lane Milan Nico"
).split()
LAST = (  # noqa: SIM905 (one word each)
    "Abbott Baker Chen Diaz Evans Fischer Garcia Hughes Ito Jensen Kim Lopez Moreau Nakamura "
    "Okafor Patel Quinn Rossi Singh Tanaka Ueda Vargas Walsh Xu Young Zhang Adler Brooks Cruz "
    "Dubois Ellis Ferrari Gupta Haas Ivanov Jovanovic Kowalski Larsen Muller Novak Olsen Price "
    "Reyes Silva Torres Ulrich Vance Weber Yilmaz Zeller"
).split()
FACILITY_PREFIX = [
    "Mercy",
    "St. Luke's",
    "Riverside",
    "Valley",
    "Northside",
    "Lakeview",
    "Summit",
    "Harbor",
    "Pinecrest",
    "Memorial",
    "Sacred Heart",
    "Good Samaritan",
    "Westfield",
    "Eastgate",
    "Cedar",
    "Highland",
    "Bayview",
    "Fairview",
    "Oak Park",
    "Grandview",
]
FACILITY_KIND = [
    ("General Hospital", "hospital"),
    ("Medical Center", "hospital"),
    ("Surgery Center", "asc"),
    ("Orthopedic Clinic", "clinic"),
    ("Regional Hospital", "hospital"),
]
CITIES = (  # noqa: SIM905 (one word each)
    "Springfield Shelbyville Riverton Fairview Georgetown Franklin Clinton Madison Salem Dover "
    "Arlington Ashland Burlington Clayton Dayton"
).split()
PROCEDURES = [
    "ORIF distal radius",
    "Total knee arthroplasty",
    "Total hip arthroplasty",
    "ORIF ankle",
    "Hip hemiarthroplasty",
    "Intramedullary nailing, femur",
    "Intramedullary nailing, tibia",
    "Revision knee arthroplasty",
    "Revision hip arthroplasty",
    "Shoulder arthroplasty",
    "ACL reconstruction",
    "Spinal fusion, lumbar",
    "Spinal fusion, cervical",
    "Carpal tunnel release",
    "Clavicle plating",
    "Proximal humerus plating",
    "Tibial plateau ORIF",
    "Unicompartmental knee",
]
SPECIALTIES = ["Orthopaedic trauma", "Joint replacement", "Spine", "Sports medicine", "Hand"]
PRODUCT_LINES = [
    # (line, code, manufacturer, serial-tracked, single use, expires)
    ("Trauma Screws", "SCR", "Apex Ortho", False, True, True),
    ("Trauma Plates", "PLT", "Apex Ortho", True, True, True),
    ("Knee Implants", "KNE", "Meridian Joint", True, True, True),
    ("Hip Implants", "HIP", "Meridian Joint", True, True, True),
    ("Spine", "SPN", "Vertex Spine", True, True, True),
    ("Shoulder", "SHD", "Meridian Joint", True, True, True),
    ("Biologics", "BIO", "CellWorks", False, True, True),
    ("Instruments", "INS", "Apex Ortho", True, False, False),
]
DECLINE_REASONS = [
    "Wrong size: asked for the 12 mm.",
    "Not needed any more, case moved.",
    "Packaging damaged on arrival.",
    "Sent to the wrong rep.",
]
COMMENT_PHRASES = [
    "can you bring two more of these for tomorrow?",
    "the pool is low at this hospital.",
    "PO is on its way from purchasing.",
    "please check the lot numbers on this case.",
    "surgeon asked for the long stem next time.",
    "moved to the afternoon slot.",
]
