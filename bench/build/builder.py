"""The full-scale load's builder: plans every row in Python (seeded), then writes them in one
transaction. Use `Builder(scale).run()`."""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import DistributorGroup, GroupChange, GroupMembership, User
from bench.build.common import (
    BENCH_EMAIL_DOMAIN,
    DAY,
    DEMO_USERNAMES,
    SUMMARY_BUILDERS,
    BenchError,
    Report,
    Scale,
    model,
    qn,
)
from bench.build.events import EventPlan
from bench.build.people import PeoplePlan
from bench.build.replay import replay_problems
from bench.build.units import UnitPlan
from bench.build.write import Writer


class Builder(PeoplePlan, UnitPlan, EventPlan, Writer):
    """Plans and writes one organization-sized load. Use `run()`."""

    def __init__(
        self,
        scale: Scale,
        *,
        log: Callable[[str], None] = lambda s: None,
        org_users: dict[str, User] | None = None,
        tag: str = "",
        indexes: bool = True,
    ):
        """`org_users` (demo name -> User, e.g. "dana" -> dana.o3) loads into that skeleton's
        organization instead of the demo's; `tag` then ends every username it adds, so usernames
        and emails stay unique across organizations. With `indexes=False` the caller has
        already dropped the big tables' indexes (a multi-organization load rebuilds them once,
        at the end) and checks the ledger after it restores them."""
        self.scale = scale
        self.log = log
        self.org_users = org_users
        self.tag = tag
        self.indexes = indexes
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
            if self.indexes:
                dropped = self.drop_bulk_indexes(cursor)
                started = self.phase("drop indexes and foreign keys of big tables", started)
            self.write(cursor)
            started = self.phase("COPY every row", started)
            if self.indexes:
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
            if not self.indexes:
                return self.report
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
        if self.org_users is not None:
            users = dict(self.org_users)
        else:
            users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
        if len(users) < len(DEMO_USERNAMES):
            raise BenchError("Run `manage.py seed_demo` first.")
        self.demo = users
        self.org = users["admin"].organization_id
        if User.objects.filter(
            organization_id=self.org, email__endswith="@" + BENCH_EMAIL_DOMAIN
        ).exists():
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
        # None: an organization without the demo's directory; plan_directory picks one.
        self.st_marys = by_name.get("St. Mary's Hospital")
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
