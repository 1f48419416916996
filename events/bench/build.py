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
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import DistributorGroup, GroupChange, GroupMembership, User

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
                    "add it to events/bench/build.py"
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


def _n(value) -> str:
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


class Builder:
    """Plans and writes one organization-sized load. Use `run()`."""

    def __init__(self, scale: Scale, *, log: Callable[[str], None] = lambda s: None):
        self.scale = scale
        self.log = log
        self.rng = random.Random(scale.seed)
        self.now = int(timezone.now().timestamp())
        self.start = self.now - 3 * 365 * DAY
        self.today = datetime.date.fromtimestamp(self.now)
        self.report = Report()
        self._date_cache: dict[int, str] = {}
        self.entries: list[str] = []  # story ledger entries (COPY lines, id assigned later)
        self.notification_rows: list[str] = []

    # ---------------------------------------------------------------- helpers
    def phase(self, label: str, started: float) -> float:
        elapsed = time.perf_counter() - started
        self.report.phases.append((label, elapsed))
        self.log(f"  {label:<44} {elapsed:6.1f} s")
        return time.perf_counter()

    def day(self, offset_days: int) -> str:
        text = self._date_cache.get(offset_days)
        if text is None:
            text = (self.today + datetime.timedelta(days=offset_days)).isoformat()
            self._date_cache[offset_days] = text
        return text

    def next_ids(self, cursor, model_cls) -> int:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {qn(model_cls._meta.db_table)}")
        return cursor.fetchone()[0]

    def behalf(self, actor: int, holder: int | None) -> int | None:
        """Who an action is recorded on behalf of (accounts.policies.on_behalf_of)."""
        if holder is None or holder == actor or self.role[actor] == "rep":
            return None
        return holder

    # ---------------------------------------------------------------- entry point
    @transaction.atomic
    def run(self) -> Report:
        if connection.vendor != "postgresql":
            raise BenchError("bench_scale runs on PostgreSQL (set DATABASE_URL).")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # Check what this transaction wrote before (seed_demo in a test): the tables' DDL
            # below cannot run while deferred foreign-key checks are pending on them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute("SET LOCAL max_parallel_maintenance_workers = 1")
            self.read_demo(cursor)
            started = self.phase("read the demo organization", started)
            self.plan_people()
            self.plan_directory()
            self.plan_units()
            started = self.phase("plan people, directory, units", started)
            self.plan_transfers()
            started = self.phase("plan transfers", started)
            self.plan_events()
            self.plan_comments()
            started = self.phase("plan events, lines, comments", started)
            self.plan_moves()
            self.plan_recalls()
            self.plan_par_levels()
            started = self.phase("plan moves, recalls, par levels", started)
            dropped = self.drop_bulk_indexes(cursor)
            started = self.phase("drop indexes and foreign keys of big tables", started)
            self.write(cursor)
            started = self.phase("COPY every row", started)
            self.restore(cursor, dropped)
            started = self.phase("recreate indexes, check foreign keys", started)
            self.reset_sequences(cursor)
            for builder in SUMMARY_BUILDERS:
                builder(cursor, self.org)
            if SUMMARY_BUILDERS:
                started = self.phase("build summary tables", started)
            cursor.execute(
                f"SELECT state, count(*) FROM {qn(model('Unit')._meta.db_table)} "
                "WHERE organization_id = %s GROUP BY state ORDER BY state",
                [self.org],
            )
            for state, n in cursor.fetchall():
                self.report.counts[f"units {state}"] = n
            cursor.execute("ANALYZE")
            started = self.phase("analyze", started)
            self.report.problems = replay_problems(cursor, self.org)
            self.phase("replay the ledger (SQL)", started)
            if any(self.report.problems.values()):
                raise BenchError(
                    f"the ledger replay disagrees with the units: {self.report.problems}"
                )
        return self.report

    # ---------------------------------------------------------------- read
    def read_demo(self, cursor) -> None:
        users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
        if len(users) < len(DEMO_USERNAMES):
            raise BenchError("Run `manage.py seed_demo` first.")
        self.demo = users
        self.org = users["admin"].organization_id
        if User.objects.filter(email__endswith="@" + BENCH_EMAIL_DOMAIN).exists():
            raise BenchError(
                "This database already holds a bench_scale organization; time it with "
                "--skip-load, or drop and re-create the database to load again."
            )
        self.password = users["admin"].password
        self.role = dict(User.objects.filter(organization_id=self.org).values_list("id", "role"))
        self.username = dict(
            User.objects.filter(organization_id=self.org).values_list("id", "username")
        )
        Facility, Physician, Procedure = model("Facility"), model("Physician"), model("Procedure")
        self.facility_name = dict(
            Facility.objects.filter(organization_id=self.org)
            .order_by("pk")
            .values_list("pk", "name")
        )
        self.facility_ids = list(self.facility_name)
        by_name = {name: pk for pk, name in self.facility_name.items()}
        self.st_marys = by_name.get("St. Mary's Hospital", self.facility_ids[0])
        self.physician_ids = list(
            Physician.objects.filter(organization_id=self.org).values_list("pk", flat=True)
        )
        self.procedures = dict(
            Procedure.objects.filter(organization_id=self.org).values_list("name", "pk")
        )
        Location, Product = model("Location"), model("Product")
        self.locations = dict(
            Location.objects.filter(organization_id=self.org).values_list("name", "pk")
        )
        self.location_holder = dict(
            Location.objects.filter(organization_id=self.org).values_list("pk", "holder_id")
        )
        self.products = list(
            Product.objects.filter(organization_id=self.org).values_list(
                "pk", "single_use", "tracking", "product_line", "gtin"
            )
        )
        self.demo_product_ids = [p[0] for p in self.products]
        self.next = {}
        for m in (
            User,
            DistributorGroup,
            GroupMembership,
            GroupChange,
            Facility,
            Physician,
            Procedure,
            Location,
            Product,
            model("Unit"),
            model("CustodyEntry"),
            model("Transfer"),
            model("TransferLine"),
            model("Event"),
            model("EventLine"),
            model("Comment"),
            model("Mention"),
            model("Notification"),
            model("Recall"),
            model("RecallUnit"),
            model("RecallReturn"),
            model("ParLevel"),
        ):
            self.next[m.__name__] = self.next_ids(cursor, m)

    def take_ids(self, name: str, count: int) -> range:
        first = self.next[name]
        self.next[name] = first + count
        return range(first, first + count)

    # ---------------------------------------------------------------- people
    def plan_people(self) -> None:
        s, rng, d = self.scale, self.rng, self.demo
        admins_extra = max(0, min(4, s.users // 500))
        new_dists = s.groups - 2
        new_reps = s.users - len(DEMO_USERNAMES) - admins_extra - new_dists
        if new_reps < 2:
            raise BenchError("--users is too small: at least 60.")
        roles = ["admin"] * admins_extra + ["distributor"] * new_dists + ["rep"] * new_reps
        self.user_rows = []
        self.display = {u.pk: u.name for u in d.values()}
        ids = self.take_ids("User", len(roles))
        for i, (uid, role) in enumerate(zip(ids, roles, strict=True)):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            n = i // (len(FIRST) * len(LAST))
            username = f"{first}.{last}{n or ''}".lower()
            display = f"{first} {last}" + (f" {n + 1}" if n else "")
            joined = ts(self.start - rng.randrange(365 * DAY))
            self.user_rows.append(
                "\t".join(
                    [
                        str(uid),
                        esc(self.password),
                        NULL,
                        "f",
                        username,
                        first,
                        last,
                        f"{username}@{BENCH_EMAIL_DOMAIN}",
                        "f",
                        "t",
                        joined,
                        str(self.org),
                        role,
                        esc(display),
                    ]
                )
            )
            self.role[uid] = role
            self.username[uid] = username
            self.display[uid] = display
        self.admins = [d["admin"].pk] + [u for u in ids if self.role[u] == "admin"]
        dists = [d["dana"].pk, d["drew"].pk] + [u for u in ids if self.role[u] == "distributor"]
        self.dana, self.drew = d["dana"].pk, d["drew"].pk
        self.riley, self.sam, self.casey = d["riley"].pk, d["sam"].pk, d["casey"].pk
        existing = {
            g.distributor_id: g.pk
            for g in DistributorGroup.objects.filter(distributor_id__in=[self.dana, self.drew])
        }
        group_ids = iter(self.take_ids("DistributorGroup", new_dists))
        self.group_of_dist: dict[int, int] = {}
        self.pooled: dict[int, bool] = {}  # by distributor
        self.new_groups = []
        for i, dist in enumerate(dists):
            gid = existing.get(dist) or next(group_ids)
            self.group_of_dist[dist] = gid
            # Dana's group pools (the demo's pooled reps); then every other group.
            self.pooled[dist] = dist == self.dana or (dist != self.drew and i % 2 == 0)
            if dist not in existing:
                self.new_groups.append((gid, dist))
        self.reps_of: dict[int, list[int]] = {dist: [] for dist in dists}
        self.reps_of[self.dana] += [self.riley, self.sam]
        self.reps_of[self.drew] += [self.casey]
        weights = [6 if dist == self.dana else 1 for dist in dists]
        new_rep_ids = [u for u in ids if self.role[u] == "rep"]
        self.memberships = []
        self.unassigned = []
        for rep in new_rep_ids:
            if rng.random() < 0.02:
                self.unassigned.append(rep)
                continue
            dist = rng.choices(dists, weights)[0]
            self.reps_of[dist].append(rep)
            self.memberships.append((self.group_of_dist[dist], rep))
        self.dist_of = {rep: dist for dist, reps in self.reps_of.items() for rep in reps}
        self.dists = dists
        self.reps = [self.riley, self.sam, self.casey] + new_rep_ids
        self.report.counts["users"] = len(self.role)
        self.report.counts["groups"] = len(dists)
        self.report.counts["groups pooling"] = sum(self.pooled.values())

    # ---------------------------------------------------------------- directory
    def plan_directory(self) -> None:
        s, rng = self.scale, self.rng
        new_facilities = max(0, s.facilities - len(self.facility_ids))
        self.facility_rows = []
        ids = self.take_ids("Facility", new_facilities)
        for i, fid in enumerate(ids):
            kind_name, kind = FACILITY_KIND[i % len(FACILITY_KIND)]
            prefix = FACILITY_PREFIX[(i // len(FACILITY_KIND)) % len(FACILITY_PREFIX)]
            city = CITIES[i % len(CITIES)]
            name = f"{prefix} {kind_name}, {city}"
            if i >= len(FACILITY_KIND) * len(FACILITY_PREFIX):
                name += f" {i}"
            self.facility_rows.append(f"{fid}\t{self.org}\t{esc(name)}\t{kind}\t{city}")
            self.facility_name[fid] = name
        self.facility_ids += list(ids)
        # Each group serves a handful of facilities most of the time; dana's includes St. Mary's.
        self.home_facilities = {}
        for dist in self.dists:
            homes = rng.sample(self.facility_ids, min(8, len(self.facility_ids)))
            if dist == self.dana and self.st_marys not in homes:
                homes[0] = self.st_marys
            self.home_facilities[dist] = homes
        new_physicians = max(0, s.physicians - len(self.physician_ids))
        ids = self.take_ids("Physician", new_physicians)
        self.physician_rows = [
            f"{pid}\t{self.org}\tDr. {FIRST[(i * 7) % len(FIRST)]} {LAST[i % len(LAST)]}"
            f"{' ' + str(i) if i >= len(LAST) else ''}\t{SPECIALTIES[i % len(SPECIALTIES)]}"
            for i, pid in enumerate(ids)
        ]
        self.physician_ids += list(ids)
        missing = [p for p in PROCEDURES if p not in self.procedures]
        ids = self.take_ids("Procedure", len(missing))
        self.procedure_rows = [
            f"{pid}\t{self.org}\t{esc(n)}" for pid, n in zip(ids, missing, strict=True)
        ]
        self.procedures.update(zip(missing, ids, strict=True))
        self.procedure_ids = list(self.procedures.values())
        # Locations, each with its holder: a warehouse and two hospital bins per distributor, a
        # trunk per rep, the organization's own warehouse. A unit sits at a location of its
        # custodian or nowhere (on its way, on a facility's shelf).
        self.location_rows = []
        self.home_location: dict[int | None, int | None] = {
            None: self.locations.get("Main Warehouse")
        }
        for username, name in (
            ("dana", "Dana's Warehouse"),
            ("riley", "Riley's Trunk"),
            ("sam", "Sam's Trunk"),
            ("drew", "Drew's Warehouse"),
            ("casey", "Casey's Trunk"),
        ):
            self.home_location[self.demo[username].pk] = self.locations.get(name)
        for holder, lid in self.home_location.items():
            if lid is not None and self.location_holder.get(lid) != holder:
                raise BenchError(f"The demo location {lid} is not held by user {holder}.")
        self.bins_of: dict[int, list[int]] = defaultdict(list)
        for lid, holder in self.location_holder.items():
            if holder in self.home_location and lid != self.home_location[holder] and holder:
                self.bins_of[holder].append(lid)  # St. Mary's Hospital bin, held by dana
        wanted = []
        for dist in self.dists:
            if dist not in self.home_location:
                wanted.append((dist, f"{self.display[dist]}'s Warehouse", "warehouse", True))
            for n in (1, 2):
                wanted.append((dist, f"{self.display[dist]}'s Bin {n}", "bin", False))
        for rep in self.reps:
            if rep not in self.home_location:
                wanted.append((rep, f"{self.display[rep]}'s Trunk", "trunk", True))
        ids = self.take_ids("Location", len(wanted))
        for lid, (holder, name, kind, home) in zip(ids, wanted, strict=True):
            self.location_rows.append(f"{lid}\t{self.org}\t{esc(name)}\t{kind}\t{holder}")
            self.location_holder[lid] = holder
            if home:
                self.home_location[holder] = lid
            else:
                self.bins_of[holder].append(lid)
        # Products.
        new_products = max(0, s.products - len(self.products))
        ids = self.take_ids("Product", new_products)
        self.product_rows = []
        for i, pid in enumerate(ids):
            line, code, maker, serial, single, _ = PRODUCT_LINES[i % len(PRODUCT_LINES)]
            gtin = f"0861{pid:010d}" if i % 2 == 0 else None
            self.product_rows.append(
                "\t".join(
                    [
                        str(pid),
                        str(self.org),
                        f"{code}-{pid:05d}",
                        esc(f"{line} item {pid}"),
                        maker,
                        line,
                        _n(gtin),
                        "t" if single else "f",
                        "serial" if serial else "lot",
                    ]
                )
            )
            self.products.append((pid, single, "serial" if serial else "lot", line, gtin))
        line_info = {p[0]: p[1:] for p in PRODUCT_LINES}
        self.product_code = {}
        self.product_expires = {}
        self.product_single = {}
        for pid, single, _tracking, line, _gtin in self.products:
            info = line_info.get(line, ("X", "", True, single, True))
            self.product_code[pid] = info[0][:2]
            self.product_expires[pid] = info[4]
            self.product_single[pid] = single
        self.product_meta = {p[0]: p for p in self.products}

    # ---------------------------------------------------------------- units
    def plan_units(self) -> None:
        s, rng = self.scale, self.rng
        n = s.units
        self.unit_ids = self.take_ids("Unit", n)
        holders: list[int | None] = [None]
        weights = [0.06 * n]
        dist_weight = {d: (4.0 if d == self.dana else 1.0) for d in self.dists}
        total = sum(dist_weight.values())
        for d, w in dist_weight.items():
            holders.append(d)
            weights.append(0.44 * n * w / total)
        rep_weight = {r: (5.0 if r in (self.riley, self.sam) else 1.0) for r in self.reps}
        total = sum(rep_weight.values())
        for r, w in rep_weight.items():
            holders.append(r)
            weights.append(0.50 * n * w / total)
        self.holder = rng.choices(holders, weights, k=n)
        product_ids = [p[0] for p in self.products]
        self.product = rng.choices(product_ids, k=n)
        self.custodian = list(self.holder)
        self.state = ["available"] * n
        self.seq = [1] * n
        self.facility: dict[int, int] = {}
        self.location = [
            rng.choice(self.bins_of[h])
            if h in self.bins_of and rng.random() < 0.25
            else self.home_location.get(h)
            for h in self.holder
        ]
        self.first_location = list(self.location)
        self.lot: dict[int, str] = {}  # lots recalls name, instead of the derived one
        span = self.now - self.start - 10 * DAY
        self.created = [self.start + int(rng.random() * span) for _ in range(n)]
        # Expiry in days from today: a few expired, some within 30 days, most years out.
        self.expiry: list[int | None] = []
        for i in range(n):
            if not self.product_expires[self.product[i]]:
                self.expiry.append(None)
                continue
            r = rng.random()
            if r < 0.02:
                self.expiry.append(-rng.randrange(1, 120))
            elif r < 0.07:
                self.expiry.append(rng.randrange(0, 31))
            else:
                self.expiry.append(rng.randrange(31, 5 * 365))
        # Stock each holder can still give to a story, in random order.
        self.pool: dict[int | None, list[int]] = defaultdict(list)
        for i, h in enumerate(self.holder):
            self.pool[h].append(i)

    def draw(
        self, holder: int | None, count: int, at: int, *, usable_on: int | None = None
    ) -> list[int]:
        """Up to `count` untouched available units of `holder`, received before `at`."""
        stock = self.pool.get(holder)
        taken = []
        while stock and len(taken) < count:
            i = stock.pop()
            if self.created[i] >= at:
                self.created[i] = max(self.start - 60 * DAY, at - self.rng.randrange(DAY, 90 * DAY))
            if usable_on is not None and self.expiry[i] is not None and self.expiry[i] < usable_on:
                # Nobody marks an expired unit used; this one came with a later expiry.
                self.expiry[i] = usable_on + self.rng.randrange(30, 720)
            taken.append(i)
        return taken

    def entry(
        self,
        i: int,
        kind: str,
        to_state: str,
        actor: int,
        at: int,
        *,
        to_custodian=...,
        behalf=None,
        transfer=None,
        event=None,
        note: str = "",
        to_location=...,
        recall=None,
    ) -> None:
        """Append the unit's next ledger entry and move the unit to match."""
        before_c, before_s = self.custodian[i], self.state[i]
        after_c = before_c if to_custodian is ... else to_custodian
        before_l = self.location[i]
        after_l = before_l if to_location is ... else to_location
        self.seq[i] += 1
        self.entries.append(
            "\t".join(
                [
                    str(self.org),
                    str(self.unit_ids[i]),
                    str(self.seq[i]),
                    kind,
                    _n(before_c),
                    _n(after_c),
                    before_s,
                    to_state,
                    str(actor),
                    _n(behalf),
                    _n(transfer),
                    _n(event),
                    ts(at),
                    note,
                    _n(before_l),
                    _n(after_l),
                    _n(recall),
                ]
            )
        )
        self.custodian[i] = after_c
        self.state[i] = to_state
        self.location[i] = after_l

    # ---------------------------------------------------------------- transfers
    def plan_transfers(self) -> None:
        rng = self.rng
        count = self.scale.transfer_count
        ids = iter(self.take_ids("Transfer", count))
        self.transfer_rows: list[str] = []
        self.tline_pairs: list[tuple[int, int]] = []
        dists = [d for d in self.dists if self.reps_of[d]]
        weights = [8 if d == self.dana else 1 for d in dists]
        self.transfers_url = reverse("inventory:transfer_list")
        status_count: dict[str, int] = defaultdict(int)
        misses = 0
        while len(self.transfer_rows) < count and misses < count:
            dist = rng.choices(dists, weights)[0]
            reps = self.reps_of[dist]
            r = rng.random()
            at_once = True
            on_behalf = None
            if r < 0.30 or (r < 0.40 and not self.pooled[dist]):
                sender, recipient, starter = dist, rng.choice(reps), dist
            elif r < 0.40:  # a pooled rep takes from the pool: completes at once
                sender, recipient = dist, rng.choice(reps)
                starter = recipient
            elif r < 0.50 and len(reps) > 1:  # the distributor moves stock between two reps
                sender, recipient = rng.sample(reps, 2)
                starter, on_behalf = dist, sender
            elif r < 0.65:
                sender, recipient, starter = None, dist, rng.choice(self.admins)
            elif r < 0.85 and len(reps) > 1:
                sender, recipient = rng.sample(reps, 2)
                starter, at_once = sender, False
            else:
                sender, recipient = rng.choice(reps), dist
                starter, at_once = sender, False
            outcome = "completed"
            if not at_once:
                outcome = rng.choices(
                    ["completed", "pending", "declined", "cancelled"], [50, 17, 17, 16]
                )[0]
            if outcome == "pending":
                at = self.now - rng.randrange(600, 10 * DAY)
            else:
                at = self.start + 90 * DAY + rng.randrange(self.now - self.start - 92 * DAY)
            units = self.draw(sender, rng.choice((1, 1, 2, 2, 3, 3)), at)
            if not units:
                misses += 1
                continue
            tid = next(ids)
            for i in units:
                self.tline_pairs.append((tid, i))
                self.entry(
                    i, "transfer_sent", "in_transit", starter, at, behalf=on_behalf, transfer=tid
                )
            resolved_at = resolved_by = None
            to_location = None
            decline = ""
            if outcome != "pending":
                resolved_at = (
                    at if at_once else min(self.now - 60, at + rng.randrange(600, 3 * DAY))
                )
            if outcome == "completed":
                if at_once:
                    resolved_by = starter
                elif self.role[recipient] == "rep" and rng.random() < 0.3:
                    resolved_by = self.dist_of[recipient]
                else:
                    resolved_by = recipient
                if recipient is not None and rng.random() < 0.5:
                    to_location = self.home_location.get(recipient)
                for i in units:
                    self.entry(
                        i,
                        "transfer_accepted",
                        "available",
                        resolved_by,
                        resolved_at,
                        to_custodian=recipient,
                        behalf=self.behalf(resolved_by, recipient),
                        transfer=tid,
                        to_location=to_location,
                    )
            elif outcome == "declined":
                resolved_by = recipient
                decline = rng.choice(DECLINE_REASONS)
                release = rng.random() < 0.4
                for i in units:
                    self.entry(
                        i,
                        "transfer_declined",
                        "hold",
                        resolved_by,
                        resolved_at,
                        behalf=self.behalf(resolved_by, recipient),
                        transfer=tid,
                        note=esc(decline),
                    )
                    if release:
                        self.entry(
                            i,
                            "hold_released",
                            "available",
                            self.admins[0],
                            min(self.now - 30, resolved_at + rng.randrange(DAY, 5 * DAY)),
                            note="Checked and released",
                        )
            elif outcome == "cancelled":
                resolved_by = starter
                for i in units:
                    self.entry(
                        i,
                        "transfer_cancelled",
                        "available",
                        starter,
                        resolved_at,
                        behalf=on_behalf,
                        transfer=tid,
                    )
            status_count[outcome] += 1
            if outcome == "pending" and recipient is not None:
                self.notify(
                    recipient,
                    "transfer_waiting",
                    starter,
                    f"Transfer #{tid} from {self.display.get(sender, 'the organization')} "
                    f"waits on you: {len(units)} unit{'s' if len(units) > 1 else ''}",
                    self.transfers_url,
                    at,
                    transfer=tid,
                )
            self.transfer_rows.append(
                "\t".join(
                    [
                        str(tid),
                        str(self.org),
                        _n(sender),
                        _n(recipient),
                        str(starter),
                        _n(on_behalf),
                        outcome,
                        _n(to_location),
                        "",
                        esc(decline),
                        ts(at),
                        NULL if resolved_at is None else ts(resolved_at),
                        _n(resolved_by),
                    ]
                )
            )
        self.report.counts["transfers"] = len(self.transfer_rows)
        for status, n in sorted(status_count.items()):
            self.report.counts[f"transfers {status}"] = n
        self.report.counts["transfer lines"] = len(self.tline_pairs)

    # ---------------------------------------------------------------- events
    def plan_events(self) -> None:
        s, rng = self.scale, self.rng
        reps_weight = []
        people = []
        for rep in self.reps:
            w = 1.0
            if rep == self.riley:
                w = 12.0
            elif rep == self.sam:
                w = 6.0
            elif self.dist_of.get(rep) == self.dana:
                w = 2.0
            people.append(rep)
            reps_weight.append(w)
        for dist in self.dists:
            people.append(dist)
            reps_weight.append(20.0 if dist == self.dana else 4.0)
        count = s.events
        who = rng.choices(people, reps_weight, k=count - 1)
        span = self.now + 30 * DAY - self.start
        plan = []  # (at, rep, type)
        for rep in who:
            at = self.start + rng.randrange(span)
            if self.role[rep] == "distributor":
                kind = rng.choices(
                    ["case", "stocking_order", "damage", "return", "adjustment", "other"],
                    [50, 40, 3, 3, 2, 2],
                )[0]
            else:
                kind = rng.choices(
                    ["case", "stocking_order", "damage", "return", "adjustment", "other"],
                    [88, 2, 2, 3, 2, 3],
                )[0]
            plan.append((at, rep, kind, False))
        # Riley's big open knee case at St. Mary's, tomorrow: the Mark Used page to time.
        plan.append((self.now + DAY, self.riley, "case", True))
        plan.sort()
        mean = {
            "case": 1.0,
            "stocking_order": 4.0,
            "damage": 1.0,
            "return": 1.0,
            "adjustment": 1.0,
            "other": 0.5,
        }
        expected = sum(mean[p[2]] for p in plan)
        scale = s.event_lines / expected if expected else 0
        ids = self.take_ids("Event", len(plan))
        self.event_rows = []
        self.eline_rows_plan = []  # (event id, unit idx, billable, from stock, marked by, at)
        self.used_in_case: set[int] = set()
        self.event_name: dict[int, str] = {}
        facility_stock: dict[tuple[int, int], list[int]] = defaultdict(list)
        sold_at: dict[int, int] = {}
        procedure_name = {pk: name for name, pk in self.procedures.items()}
        status_count: dict[str, int] = defaultdict(int)
        procedures = self.procedure_ids
        tka = self.procedures.get("Total knee arthroplasty", procedures[0])
        labels = {
            "case": "Case",
            "stocking_order": "Stocking Order",
            "damage": "Damage",
            "return": "Return",
            "adjustment": "Stock Adjustment",
            "other": "Other",
        }
        for eid, (at, rep, kind, big) in zip(ids, plan, strict=True):
            dist = rep if self.role[rep] == "distributor" else self.dist_of.get(rep)
            pooled = dist is not None and dist != rep and self.pooled[dist]
            if big:
                facility = self.st_marys
            elif dist is not None and rng.random() < 0.85:
                facility = rng.choice(self.home_facilities[dist])
            else:
                facility = rng.choice(self.facility_ids)
            age = self.now - at
            if at > self.now:
                status = "open" if big or rng.random() < 0.95 else "cancelled"
            elif age < 14 * DAY:
                status = rng.choices(["open", "submitted", "cancelled"], [40, 50, 10])[0]
            else:
                status = rng.choices(
                    ["paid", "completed", "submitted", "cancelled", "open"], [55, 20, 19.5, 5, 0.5]
                )[0]
            procedure = (
                tka
                if big
                else (rng.choice(procedures) if kind == "case" or rng.random() < 0.2 else None)
            )
            physician = rng.choice(self.physician_ids) if kind == "case" else None
            created_by = rep if rng.random() < 0.9 or dist is None else dist
            created_at = min(self.now - 60, at - rng.randrange(DAY, 14 * DAY))
            submitted_at = None
            if status in ("submitted", "completed", "paid"):
                submitted_at = min(self.now - 30, at + rng.randrange(3600, 2 * DAY))
            # Lines.
            if big:
                k = 40
            elif status == "cancelled":
                k = 0
            else:
                x = rng.expovariate(1 / (mean[kind] * scale)) if scale else 0
                k = int(x) + (1 if rng.random() < x - int(x) else 0)
            event_day = (at - self.now) // DAY
            marker = rep if dist is None or rng.random() < 0.9 else dist
            if at < self.now:
                mark_at = min(self.now - 120, at - rng.randrange(0, 3 * DAY))
            else:
                mark_at = self.now - rng.randrange(120, 3 * DAY)
            lines = []
            for _ in range(k):
                unit, from_stock = None, False
                if kind == "case" and rng.random() < 0.15:
                    # Facility stock at this facility: sold by the rep, or by the distributor
                    # while pooling is on; sold before this case.
                    for holder in (rep, dist if pooled else None):
                        stock = facility_stock.get((facility, holder)) if holder else None
                        if stock and sold_at[stock[-1]] < mark_at:
                            unit, from_stock = stock.pop(), True
                            if self.expiry[unit] is not None and self.expiry[unit] < event_day:
                                self.expiry[unit] = event_day + rng.randrange(30, 720)
                            break
                if unit is None:
                    holder = dist if pooled and rng.random() < 0.5 else rep
                    got = self.draw(holder, 1, mark_at, usable_on=event_day) or self.draw(
                        rep, 1, mark_at, usable_on=event_day
                    )
                    if not got:
                        continue
                    unit = got[0]
                lines.append((unit, from_stock))
            for unit, from_stock in lines:
                self.entry(
                    unit,
                    "marked_used",
                    "allocated",
                    marker,
                    mark_at,
                    behalf=rep if marker != rep else None,
                    event=eid,
                )
                self.eline_rows_plan.append(
                    (eid, unit, not from_stock, from_stock, marker, mark_at)
                )
            if submitted_at is not None:
                for unit, from_stock in lines:
                    if kind == "stocking_order":
                        self.entry(
                            unit,
                            "sold_to_facility",
                            "facility_stock",
                            rep,
                            submitted_at,
                            to_custodian=rep,
                            event=eid,
                            note=esc(f"Sold to {self.facility_name[facility]}"),
                            to_location=None,
                        )
                        self.facility[unit] = facility
                        facility_stock[(facility, rep)].append(unit)
                        sold_at[unit] = submitted_at
                    elif kind in ("damage", "return", "adjustment"):
                        self.entry(
                            unit,
                            "adjusted",
                            "inactive",
                            rep,
                            submitted_at,
                            event=eid,
                            note=labels[kind],
                        )
                    elif self.product_single[self.product[unit]] or from_stock:
                        self.entry(unit, "consumed", "inactive", rep, submitted_at, event=eid)
                        if kind == "case":
                            self.used_in_case.add(unit)
                    else:
                        self.entry(
                            unit,
                            "unmarked",
                            "available",
                            rep,
                            submitted_at,
                            event=eid,
                            note="Reusable: back in stock after the case",
                        )
            status_count[status] += 1
            what = f" · {procedure_name[procedure]}" if procedure else ""
            day = time.strftime("%Y-%m-%d", time.gmtime(at))
            name = f"{labels[kind]}{what} · {self.facility_name[facility]} · {day}"
            self.event_name[eid] = name[:200]
            self.event_rows.append(
                "\t".join(
                    [
                        str(eid),
                        str(self.org),
                        kind,
                        esc(name[:200]),
                        str(rep),
                        str(facility),
                        _n(physician),
                        _n(procedure),
                        ts(at),
                        f"PT-{rng.randrange(10**6):06d}"
                        if kind == "case" and rng.random() < 0.5
                        else "",
                        "",
                        status,
                        f"PO-{eid}" if status in ("completed", "paid") else "",
                        str(created_by),
                        ts(created_at),
                        NULL if submitted_at is None else ts(submitted_at),
                    ]
                )
            )
        self.event_plan = list(zip(ids, plan, strict=True))
        self.report.counts["events"] = len(self.event_rows)
        for status, n in sorted(status_count.items()):
            self.report.counts[f"events {status}"] = n
        self.report.counts["event lines"] = len(self.eline_rows_plan)

    # ---------------------------------------------------------------- comments
    def plan_comments(self) -> None:
        rng = self.rng
        count = self.scale.events // 8
        self.comment_rows, self.mention_rows = [], []
        events = self.event_plan
        comment_ids = iter(self.take_ids("Comment", count))
        for _ in range(count):
            eid, (at, rep, _kind, _big) = rng.choice(events)
            dist = rep if self.role[rep] == "distributor" else self.dist_of.get(rep)
            r = rng.random()
            if r < 0.6 or dist is None:
                author, target = rep, dist if dist and dist != rep else self.admins[0]
            elif r < 0.85:
                author, target = dist, rep if rep != dist else self.admins[0]
            else:
                author, target = self.admins[0], rep
            when = min(self.now - 60, at + rng.randrange(-3 * DAY, 3 * DAY))
            cid = next(comment_ids)
            mention = rng.random() < 0.6 and target != author
            body = rng.choice(COMMENT_PHRASES)
            if mention:
                body = f"@{self.username[target]} {body}"
            self.comment_rows.append(f"{cid}\t{eid}\t{author}\t{esc(body)}\t{ts(when)}\t{NULL}")
            if mention:
                self.mention_rows.append((cid, target))
                read = NULL if rng.random() < 0.3 else ts(min(self.now, when + 3600))
                self.notify(
                    target,
                    "mention",
                    author,
                    f"{self.display[author]} mentioned you on {self.event_name[eid]}",
                    self.event_url(eid) + f"#comment-{cid}",
                    when,
                    read=read,
                    event=eid,
                    comment=cid,
                )
        self.report.counts["comments"] = len(self.comment_rows)

    def event_url(self, eid: int) -> str:
        if not hasattr(self, "_event_url"):
            self._event_url = reverse("events:event_detail", args=[987654321])
        return self._event_url.replace("987654321", str(eid))

    def notify(
        self,
        user,
        kind,
        actor,
        summary,
        url,
        at,
        *,
        read=NULL,
        event=None,
        comment=None,
        transfer=None,
        recall=None,
    ) -> None:
        """One accounts.Notification row (the bell), as the services would have written it."""
        self.notification_rows.append(
            f"{user}\t{kind}\t{_n(actor)}\t{esc(summary[:300])}\t{esc(url)}\t{_n(event)}"
            f"\t{_n(comment)}\t{_n(transfer)}\t{_n(recall)}\t{ts(at)}\t{read}"
        )

    # ---------------------------------------------------------------- moves
    def plan_moves(self) -> None:
        """Distributors restock their hospital bins from the warehouse (and back): "moved"
        entries that change only the location, on units no story has touched."""
        rng = self.rng
        moved = 0
        for dist, bins in self.bins_of.items():
            home = self.home_location.get(dist)
            stock = self.pool.get(dist) or []
            if home is None or not bins:
                continue
            for _ in range(len(stock) // 30):
                i = stock.pop()
                to = rng.choice(bins) if self.location[i] == home else home
                at = self.created[i] + int(rng.random() * (self.now - 2 * DAY - self.created[i]))
                actor = dist if rng.random() < 0.9 else self.admins[0]
                self.entry(
                    i,
                    "moved",
                    "available",
                    actor,
                    max(at, self.created[i] + 60),
                    behalf=self.behalf(actor, dist),
                    to_location=to,
                    note="Restocked" if to != home else "Back to the warehouse",
                )
                moved += 1
        self.report.counts["units moved"] = moved

    # ---------------------------------------------------------------- recalls
    def plan_recalls(self) -> None:
        """Three recalls, recorded a moment ago, after every story:

        - a lot of about 500 units of one product, spread over many holders and states
          (facility stock, a unit consumed in a submitted case, allocated on open events, in
          transit), the lookup to time; available, hold and facility stock units quarantined;
        - a few serials of another product, half of them returned to the manufacturer;
        - a lot entered in error and withdrawn: its units back where they were.
        """
        rng = self.rng
        self.recall_rows, self.recall_unit_rows, self.recall_return_rows = [], [], []
        by_product: dict[int, list[int]] = defaultdict(list)
        stock_count: dict[int, int] = defaultdict(int)
        for i, pid in enumerate(self.product):
            by_product[pid].append(i)
            if self.state[i] == "facility_stock":
                stock_count[pid] += 1
        # The lot's product: the one with the most facility stock (a case used one, too).
        candidates = sorted(by_product, key=lambda p: (-stock_count[p], p))
        product = next(
            (p for p in candidates if any(i in self.used_in_case for i in by_product[p])),
            candidates[0],
        )
        units = by_product[product]
        picked: list[int] = []
        for state, most in (
            ("facility_stock", 60),
            ("allocated", 8),
            ("in_transit", 5),
            ("hold", 5),
        ):
            picked += [i for i in units if self.state[i] == state][:most]
        picked += [i for i in units if i in self.used_in_case][:20]
        chosen = set(picked)
        rest = [i for i in units if i not in chosen and self.state[i] == "available"]
        rng.shuffle(rest)
        picked += rest[: max(0, 500 - len(picked))]
        self.recall_lot = f"RCL-{self.product_code[product]}-{product:05d}"
        ids = iter(self.take_ids("Recall", 3))
        at = self.now - 25
        admin = self.admins[0]
        rid = next(ids)
        self.recall_big = rid
        self.recall_row(rid, "BENCH-R1", "II", product, [self.recall_lot], [], at)
        self.quarantine(rid, "BENCH-R1", picked, at, lot=self.recall_lot)
        # A few serials of another serial-tracked product; half of them returned.
        serial_products = [
            p for p in candidates if p != product and self.product_meta[p][2] == "serial"
        ]
        taken = set(picked)
        rid = next(ids)
        p2 = serial_products[0] if serial_products else candidates[-1]
        few = [i for i in by_product[p2] if self.state[i] == "available" and i not in taken][:12]
        taken |= set(few)
        serials = [f"{self.product_code[p2]}{self.unit_ids[i]:08d}" for i in few]
        self.recall_row(rid, "BENCH-R2", "I", p2, [], serials, at + 1)
        self.quarantine(rid, "BENCH-R2", few, at + 1)
        (return_id,) = self.take_ids("RecallReturn", 1)
        self.recall_return_rows.append(
            f"{return_id}\t{rid}\tRMA-BENCH-1\t{self.day(0)}\t{admin}\t{ts(at + 10)}"
        )
        for i in few[: len(few) // 2]:
            self.entry(
                i,
                "returned",
                "inactive",
                admin,
                at + 10,
                recall=rid,
                note="Returned to the manufacturer under recall BENCH-R2 (RMA-BENCH-1)",
            )
            self.returned_in[(rid, i)] = return_id
        # A lot entered in error, then withdrawn: each unit back to the state it had.
        rid = next(ids)
        p3 = candidates[1] if len(candidates) > 1 else product
        wrong = [i for i in by_product[p3] if self.state[i] == "available" and i not in taken][:8]
        lot = f"WD-{self.product_code[p3]}-{p3:05d}"
        self.recall_row(rid, "BENCH-R3", "III", p3, [lot], [], at + 2, withdrawn=(admin, at + 15))
        self.quarantine(rid, "BENCH-R3", wrong, at + 2, lot=lot)
        for i in wrong:
            self.entry(
                i,
                "recall_withdrawn",
                "available",
                admin,
                at + 15,
                recall=rid,
                note="Recall BENCH-R3 withdrawn: wrong lot entered",
            )
        self.report.counts["recall lot units"] = len(picked)
        self.report.counts["quarantined"] = sum(1 for s in self.state if s == "quarantined")

    returned_in: dict[tuple[int, int], int]

    def recall_row(self, rid, reference, klass, product, lots, serials, at, withdrawn=None):
        who, when = withdrawn or (None, None)
        self.recall_rows.append(
            "\t".join(
                [
                    str(rid),
                    str(self.org),
                    reference,
                    "Bench recall: sterile barrier may be compromised",
                    klass,
                    str(product),
                    esc(json.dumps(lots)),
                    esc(json.dumps(serials)),
                    self.day(0),
                    "withdrawn" if withdrawn else "active",
                    str(self.admins[0]),
                    ts(at),
                    NULL if when is None else ts(when),
                    _n(who),
                    "Wrong lot entered" if withdrawn else "",
                ]
            )
        )

    def quarantine(self, rid: int, reference: str, units: list[int], at: int, *, lot=None):
        """What recall_record does: every unit found gets a RecallUnit with the state it was
        found in; available, hold and facility stock units are quarantined (custody and
        location kept); holders and representatives are told."""
        if not hasattr(self, "returned_in"):
            self.returned_in = {}
        told: set[int] = set()
        for i in units:
            if lot:
                self.lot[i] = lot
            self.recall_unit_rows.append((rid, i, self.state[i]))
            if self.custodian[i] is not None:
                told.add(self.custodian[i])
            if self.state[i] in ("available", "hold", "facility_stock"):
                self.entry(
                    i,
                    "quarantined",
                    "quarantined",
                    self.admins[0],
                    at,
                    recall=rid,
                    note=f"Recall {reference}",
                )
        for user in sorted(told):
            self.notify(
                user,
                "recall",
                self.admins[0],
                f"Recall {reference} touches units in your custody",
                reverse("inventory:recall_detail", args=[rid]),
                at,
                recall=rid,
            )

    # ---------------------------------------------------------------- par levels
    def plan_par_levels(self) -> None:
        """Par levels for dana's warehouse and bins, on products she stocks there."""
        ids_needed = []
        dana_locations = [self.home_location[self.dana], *self.bins_of.get(self.dana, [])]
        new_products = {p[0] for p in self.products} - set(self.demo_product_ids)
        stocked: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for i, h in enumerate(self.custodian):
            if h == self.dana and self.state[i] == "available" and self.product[i] in new_products:
                stocked[self.location[i]][self.product[i]] += 1
        for loc in dana_locations:
            if loc is None:
                continue
            for pid, n in sorted(stocked[loc].items(), key=lambda x: (-x[1], x[0]))[:6]:
                par = max(1, n // 2) if len(ids_needed) % 3 else n + 2  # some below par
                ids_needed.append((loc, pid, par, par + max(2, par // 2)))
        ids = self.take_ids("ParLevel", len(ids_needed))
        self.par_rows = [
            f"{pk}\t{self.org}\t{loc}\t{pid}\t{par}\t{reorder}\t{NULL}\t{ts(self.now - DAY)}"
            for pk, (loc, pid, par, reorder) in zip(ids, ids_needed, strict=True)
        ]
        self.report.counts["par levels"] = len(self.par_rows)

    # ---------------------------------------------------------------- indexes
    def big_tables(self) -> list[str]:
        return [
            model(name)._meta.db_table
            for name in ("Unit", "CustodyEntry", "Transfer", "TransferLine", "Event", "EventLine")
        ]

    def drop_bulk_indexes(self, cursor) -> list[str]:
        """Drop the big tables' foreign keys and secondary indexes; return how to recreate them.

        Primary keys and indexes behind constraints stay. Everything runs in the load's
        transaction, so a failed load leaves the schema as it was.
        """
        recreate_indexes, recreate_fks = [], []
        for table in self.big_tables():
            cursor.execute(
                """
                SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname
                """,
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
                recreate_fks.append(
                    f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}"
                )
            cursor.execute(
                """
                SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                ORDER BY c.relname
                """,
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {qn(name)}")
                recreate_indexes.append(definition)
        return recreate_indexes + recreate_fks

    def restore(self, cursor, statements: list[str]) -> None:
        for statement in statements:
            cursor.execute(statement.replace("%", "%%"))

    def reset_sequences(self, cursor) -> None:
        for name in self.next:
            table = model(name)._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {qn(table)}))",
                [table],
            )

    # ---------------------------------------------------------------- write
    def write(self, cursor) -> None:
        def table(m, cols):
            return CopyTable(m, cols)

        copy = self.report.counts
        table(
            User,
            [
                "id",
                "password",
                "last_login",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
                "organization_id",
                "role",
                "display_name",
            ],
        ).copy(cursor, self.user_rows)
        table(
            DistributorGroup, ["id", "organization_id", "distributor_id", "pooling_enabled"]
        ).copy(
            cursor,
            (
                f"{gid}\t{self.org}\t{dist}\t{'t' if self.pooled[dist] else 'f'}"
                for gid, dist in self.new_groups
            ),
        )
        DistributorGroup.objects.filter(distributor_id=self.dana).update(pooling_enabled=True)
        added = ts(self.start)
        member_ids = self.take_ids("GroupMembership", len(self.memberships))
        table(GroupMembership, ["id", "group_id", "rep_id", "added_at"]).copy(
            cursor,
            (
                f"{mid}\t{gid}\t{rep}\t{added}"
                for mid, (gid, rep) in zip(member_ids, self.memberships, strict=True)
            ),
        )
        changes = [
            (self.group_of_dist[d], "pooling_on", None) for d in self.dists if self.pooled[d]
        ]
        changes += [(gid, "rep_added", rep) for gid, rep in self.memberships]
        change_ids = self.take_ids("GroupChange", len(changes))
        table(GroupChange, ["id", "group_id", "action", "rep_id", "actor_id", "at"]).copy(
            cursor,
            (
                f"{cid}\t{gid}\t{action}\t{_n(rep)}\t{self.admins[0]}\t{added}"
                for cid, (gid, action, rep) in zip(change_ids, changes, strict=True)
            ),
        )
        table(model("Facility"), ["id", "organization_id", "name", "kind", "city"]).copy(
            cursor, self.facility_rows
        )
        table(model("Physician"), ["id", "organization_id", "name", "specialty"]).copy(
            cursor, self.physician_rows
        )
        table(model("Procedure"), ["id", "organization_id", "name"]).copy(
            cursor, self.procedure_rows
        )
        table(model("Location"), ["id", "organization_id", "name", "kind", "holder_id"]).copy(
            cursor, self.location_rows
        )
        table(
            model("Product"),
            [
                "id",
                "organization_id",
                "catalog_number",
                "description",
                "manufacturer",
                "product_line",
                "gtin",
                "single_use",
                "tracking",
            ],
        ).copy(cursor, self.product_rows)
        table(
            model("Transfer"),
            [
                "id",
                "organization_id",
                "sender_id",
                "recipient_id",
                "started_by_id",
                "on_behalf_of_id",
                "status",
                "to_location_id",
                "note",
                "decline_reason",
                "created_at",
                "resolved_at",
                "resolved_by_id",
            ],
        ).copy(cursor, self.transfer_rows)
        table(
            model("Event"),
            [
                "id",
                "organization_id",
                "type",
                "name",
                "representative_id",
                "facility_id",
                "physician_id",
                "procedure_id",
                "scheduled_at",
                "patient_ref",
                "notes",
                "status",
                "po_number",
                "created_by_id",
                "created_at",
                "submitted_at",
            ],
        ).copy(cursor, self.event_rows)
        copy["units"] = table(
            model("Unit"),
            [
                "id",
                "organization_id",
                "product_id",
                "serial_number",
                "lot_number",
                "expiration_date",
                "udi",
                "custodian_id",
                "location_id",
                "state",
                "facility_id",
                "ledger_seq",
                "created_at",
            ],
        ).copy(cursor, self.unit_lines())
        tline_ids = self.take_ids("TransferLine", len(self.tline_pairs))
        table(model("TransferLine"), ["id", "transfer_id", "unit_id"]).copy(
            cursor,
            (
                f"{lid}\t{tid}\t{self.unit_ids[i]}"
                for lid, (tid, i) in zip(tline_ids, self.tline_pairs, strict=True)
            ),
        )
        eline_ids = self.take_ids("EventLine", len(self.eline_rows_plan))
        table(
            model("EventLine"),
            [
                "id",
                "event_id",
                "unit_id",
                "billable",
                "from_facility_stock",
                "marked_by_id",
                "marked_at",
                "removed_at",
                "removed_by_id",
            ],
        ).copy(
            cursor,
            (
                f"{lid}\t{eid}\t{self.unit_ids[i]}\t{'t' if bill else 'f'}\t{'t' if stock else 'f'}"
                f"\t{marker}\t{ts(at)}\t{NULL}\t{NULL}"
                for lid, (eid, i, bill, stock, marker, at) in zip(
                    eline_ids, self.eline_rows_plan, strict=True
                )
            ),
        )
        Entry = model("CustodyEntry")
        entry_cols = [
            "organization_id",
            "unit_id",
            "sequence",
            "kind",
            "from_custodian_id",
            "to_custodian_id",
            "from_state",
            "to_state",
            "actor_id",
            "on_behalf_of_id",
            "transfer_id",
            "event_id",
            "at",
            "note",
            "from_location_id",
            "to_location_id",
            "recall_id",
        ]
        table(
            model("Recall"),
            [
                "id",
                "organization_id",
                "reference",
                "reason",
                "recall_class",
                "product_id",
                "lot_numbers",
                "serial_numbers",
                "recall_date",
                "status",
                "created_by_id",
                "created_at",
                "withdrawn_at",
                "withdrawn_by_id",
                "withdraw_reason",
            ],
        ).copy(cursor, self.recall_rows)
        table(
            model("RecallReturn"),
            ["id", "recall_id", "reference", "returned_on", "created_by_id", "created_at"],
        ).copy(cursor, self.recall_return_rows)
        ru_ids = self.take_ids("RecallUnit", len(self.recall_unit_rows))
        copy["recall units"] = table(
            model("RecallUnit"), ["id", "recall_id", "unit_id", "found_state", "returned_in_id"]
        ).copy(
            cursor,
            (
                f"{pk}\t{rid}\t{self.unit_ids[i]}\t{state}\t{_n(self.returned_in.get((rid, i)))}"
                for pk, (rid, i, state) in zip(ru_ids, self.recall_unit_rows, strict=True)
            ),
        )
        table(
            model("ParLevel"),
            [
                "id",
                "organization_id",
                "location_id",
                "product_id",
                "par",
                "reorder_to",
                "alerted_at",
                "updated_at",
            ],
        ).copy(cursor, self.par_rows)
        copy["ledger entries"] = table(Entry, ["id", *entry_cols]).copy(cursor, self.entry_lines())
        table(
            model("Comment"), ["id", "event_id", "author_id", "body", "created_at", "edited_at"]
        ).copy(cursor, self.comment_rows)
        mention_ids = self.take_ids("Mention", len(self.mention_rows))
        table(model("Mention"), ["id", "comment_id", "user_id"]).copy(
            cursor,
            (
                f"{mid}\t{cid}\t{uid}"
                for mid, (cid, uid) in zip(mention_ids, self.mention_rows, strict=True)
            ),
        )
        note_ids = self.take_ids("Notification", len(self.notification_rows))
        copy["notifications"] = len(self.notification_rows)
        table(
            model("Notification"),
            [
                "id",
                "user_id",
                "kind",
                "actor_id",
                "summary",
                "url",
                "event_id",
                "comment_id",
                "transfer_id",
                "recall_id",
                "created_at",
                "read_at",
            ],
        ).copy(
            cursor,
            (f"{nid}\t{row}" for nid, row in zip(note_ids, self.notification_rows, strict=True)),
        )

    def unit_lines(self) -> Iterable[str]:
        org = str(self.org)
        meta = self.product_meta
        for i, uid in enumerate(self.unit_ids):
            pid = self.product[i]
            _, _, tracking, _, gtin = meta[pid]
            code = self.product_code[pid]
            lot = self.lot.get(i) or f"{code}L{(uid // 150) % 100_000:05d}"
            serial = f"{code}{uid:08d}" if tracking == "serial" else ""
            exp = self.expiry[i]
            exp_text = NULL if exp is None else self.day(exp)
            udi = ""
            if gtin and exp is not None:
                udi = f"(01){gtin}(17){exp_text[2:4]}{exp_text[5:7]}{exp_text[8:10]}(10){lot}"
                if serial:
                    udi += f"(21){serial}"
            yield (
                f"{uid}\t{org}\t{pid}\t{serial}\t{lot}\t{exp_text}\t{udi}\t{_n(self.custodian[i])}"
                f"\t{_n(self.location[i])}\t{self.state[i]}\t{_n(self.facility.get(i))}"
                f"\t{self.seq[i]}\t{ts(self.created[i])}"
            )

    def entry_lines(self) -> Iterable[str]:
        """Every unit's "received" entry, then the story entries, with ids in that order."""
        ids = iter(self.take_ids("CustodyEntry", len(self.unit_ids) + len(self.entries)))
        org = str(self.org)
        admin = self.admins[0]
        for i, uid in enumerate(self.unit_ids):
            h = self.holder[i]
            actor = h if h is not None and self.role[h] == "distributor" and i % 2 else admin
            yield (
                f"{next(ids)}\t{org}\t{uid}\t1\treceived\t{NULL}\t{_n(h)}\t\tavailable"
                f"\t{actor}\t{NULL}\t{NULL}\t{NULL}\t{ts(self.created[i])}\tbench_scale"
                f"\t{NULL}\t{_n(self.first_location[i])}\t{NULL}"
            )
        for line in self.entries:
            yield f"{next(ids)}\t{line}"


def vacuum_analyze(log: Callable[[str], None] = lambda s: None) -> None:
    """After commit: set the visibility map (index-only scans) and statistics, as autovacuum
    would on a live database."""
    if connection.in_atomic_block:
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name in ("Unit", "CustodyEntry", "Transfer", "TransferLine", "Event", "EventLine"):
            cursor.execute(f"VACUUM (ANALYZE) {qn(model(name)._meta.db_table)}")
    log(f"  {'vacuum (analyze) the big tables':<44} {time.perf_counter() - started:6.1f} s")


def replay_problems(cursor, organization_id: int) -> dict[str, int]:
    """Replay every unit's ledger in SQL; count each disagreement (all zero = consistent).

    - sequence gaps: entries not numbered 1, 2, 3... per unit;
    - broken chain: an entry whose "from" custodian or state is not the previous "to";
    - bad start: a first entry that does not start from nothing (received);
    - units whose state, custodian or ledger_seq differ from their last entry, or no ledger;
    - in-transit units without a pending transfer, pending transfers' units not in transit;
    - allocated units without exactly one current line on an open event;
    - broken location chain: an entry leaving from a location other than where the previous
      one left the unit (the first from nowhere), or a unit not where its last entry left it;
    - units sitting at a location another holder keeps;
    - custody changed by a move, a quarantine, a return or a withdrawn recall; a move that
      changed the state; a quarantine or return ending in the wrong state, a return of a unit
      that was not quarantined; a recall named on any other kind, or missing on these
      (the same rules as inventory.models.ledger_problems);
    - quarantined units no active recall names.
    """
    Unit, Entry = model("Unit"), model("CustodyEntry")
    Transfer, TransferLine = model("Transfer"), model("TransferLine")
    Event, EventLine = model("Event"), model("EventLine")
    t = {
        "unit": qn(Unit._meta.db_table),
        "entry": qn(Entry._meta.db_table),
        "transfer": qn(Transfer._meta.db_table),
        "tline": qn(TransferLine._meta.db_table),
        "event": qn(Event._meta.db_table),
        "eline": qn(EventLine._meta.db_table),
        "e_unit": qn(column(Entry, "unit")),
        "e_from": qn(column(Entry, "from_custodian")),
        "e_to": qn(column(Entry, "to_custodian")),
        "e_from_l": qn(column(Entry, "from_location")),
        "e_to_l": qn(column(Entry, "to_location")),
        "e_recall": qn(column(Entry, "recall")),
        "u_loc": qn(column(Unit, "location")),
        "location": qn(model("Location")._meta.db_table),
        "l_holder": qn(column(model("Location"), "holder")),
        "recall": qn(model("Recall")._meta.db_table),
        "runit": qn(model("RecallUnit")._meta.db_table),
        "ru_unit": qn(column(model("RecallUnit"), "unit")),
        "ru_recall": qn(column(model("RecallUnit"), "recall")),
        "u_cust": qn(column(Unit, "custodian")),
        "tl_unit": qn(column(TransferLine, "unit")),
        "tl_transfer": qn(column(TransferLine, "transfer")),
        "el_unit": qn(column(EventLine, "unit")),
        "el_event": qn(column(EventLine, "event")),
    }
    cursor.execute(
        """
        WITH e AS (
            SELECT {e_unit} AS unit_id, sequence, {e_from} AS from_c, {e_to} AS to_c,
                   from_state, to_state,
                   lag({e_to}) OVER w AS prev_c, lag(to_state) OVER w AS prev_s,
                   row_number() OVER w AS rn, count(*) OVER (PARTITION BY {e_unit}) AS n
            FROM {entry} WHERE organization_id = %(org)s
            WINDOW w AS (PARTITION BY {e_unit} ORDER BY sequence)
        ), last AS (SELECT * FROM e WHERE rn = n)
        SELECT
            (SELECT count(*) FROM e WHERE rn <> sequence),
            (SELECT count(*) FROM e WHERE rn > 1
                AND (from_c IS DISTINCT FROM prev_c OR from_state <> prev_s)),
            (SELECT count(*) FROM e WHERE rn = 1 AND (from_c IS NOT NULL OR from_state <> '')),
            (SELECT count(*) FROM {unit} u LEFT JOIN last ON last.unit_id = u.id
                WHERE u.organization_id = %(org)s AND (last.unit_id IS NULL
                   OR last.to_state <> u.state OR last.to_c IS DISTINCT FROM u.{u_cust}
                   OR last.sequence <> u.ledger_seq))
        """.format(**t),
        {"org": organization_id},
    )
    gaps, chain, start, mismatched = cursor.fetchone()
    cursor.execute(
        """
        SELECT
            (SELECT count(*) FROM {unit} u WHERE u.organization_id = %(org)s
                AND u.state = 'in_transit' AND NOT EXISTS (
                    SELECT 1 FROM {tline} l JOIN {transfer} t ON t.id = l.{tl_transfer}
                    WHERE l.{tl_unit} = u.id AND t.status = 'pending')),
            (SELECT count(*) FROM {tline} l JOIN {transfer} t ON t.id = l.{tl_transfer}
                JOIN {unit} u ON u.id = l.{tl_unit}
                WHERE t.organization_id = %(org)s AND t.status = 'pending'
                  AND u.state <> 'in_transit'),
            (SELECT count(*) FROM {unit} u WHERE u.organization_id = %(org)s
                AND u.state = 'allocated' AND (
                    SELECT count(*) FROM {eline} l JOIN {event} ev ON ev.id = l.{el_event}
                    WHERE l.{el_unit} = u.id AND l.removed_at IS NULL AND ev.status = 'open'
                ) <> 1)
        """.format(**t),
        {"org": organization_id},
    )
    transit, pending, allocated = cursor.fetchone()
    cursor.execute(
        """
        WITH e AS (
            SELECT {e_unit} AS unit_id, kind, {e_from} AS from_c, {e_to} AS to_c,
                   from_state, to_state, {e_from_l} AS from_l, {e_to_l} AS to_l,
                   {e_recall} AS recall_id,
                   lag({e_to_l}) OVER w AS prev_l,
                   row_number() OVER w AS rn, count(*) OVER (PARTITION BY {e_unit}) AS n
            FROM {entry} WHERE organization_id = %(org)s
            WINDOW w AS (PARTITION BY {e_unit} ORDER BY sequence)
        )
        SELECT
            (SELECT count(*) FROM e WHERE from_l IS DISTINCT FROM prev_l),
            (SELECT count(*) FROM {unit} u JOIN e ON e.unit_id = u.id AND e.rn = e.n
                WHERE u.organization_id = %(org)s AND u.{u_loc} IS DISTINCT FROM e.to_l),
            (SELECT count(*) FROM {unit} u JOIN {location} l ON l.id = u.{u_loc}
                WHERE u.organization_id = %(org)s
                  AND l.{l_holder} IS DISTINCT FROM u.{u_cust}),
            (SELECT count(*) FROM e WHERE kind = ANY(%(keeps)s) AND from_c IS DISTINCT FROM to_c),
            (SELECT count(*) FROM e WHERE
                (kind = 'moved' AND from_state <> to_state)
                OR (kind = 'quarantined' AND to_state <> 'quarantined')
                OR (kind = 'returned' AND (to_state <> 'inactive'
                                           OR from_state <> 'quarantined'))),
            (SELECT count(*) FROM e WHERE (kind = ANY(%(names)s)) <> (recall_id IS NOT NULL)),
            (SELECT count(*) FROM {unit} u WHERE u.organization_id = %(org)s
                AND u.state = 'quarantined' AND NOT EXISTS (
                    SELECT 1 FROM {runit} ru JOIN {recall} r ON r.id = ru.{ru_recall}
                    WHERE ru.{ru_unit} = u.id AND r.status = 'active'))
        """.format(**t),
        {
            "org": organization_id,
            "keeps": list(KEEPS_CUSTODY),
            "names": list(NAMES_RECALL),
        },
    )
    loc_chain, loc_unit, loc_holder, custody, kind_state, recall_named, stray = cursor.fetchone()
    return {
        "sequence gaps": gaps,
        "broken chain": chain,
        "bad first entry": start,
        "units disagreeing with their ledger": mismatched,
        "in transit without a pending transfer": transit,
        "pending transfer units not in transit": pending,
        "allocated without one open line": allocated,
        "broken location chain": loc_chain,
        "units not where their ledger left them": loc_unit,
        "units at another holder's location": loc_holder,
        "custody changed by a move or a recall": custody,
        "entry kinds ending in the wrong state": kind_state,
        "recall named on the wrong kinds": recall_named,
        "quarantined without an active recall": stray,
    }
