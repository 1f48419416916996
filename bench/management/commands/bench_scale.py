"""Print numbers, assert nothing: build a full-scale organization and time its main pages.

    createdb -h 127.0.0.1 -U postgres trunkpool_scale
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/trunkpool_scale
    DEBUG=1 python manage.py migrate && DEBUG=1 python manage.py seed_demo
    python manage.py bench_scale --units 1000000 --users 2000 --events 200000
    python manage.py bench_scale --skip-load --http http://127.0.0.1:8011 --samples 30

The load (bench/build/) is PostgreSQL bulk SQL in one transaction and ends with an
SQL replay of the ledger. The table (bench/pages.py) is timed in-process with the test
client (queries and SQL time, to find causes), or over HTTP against a running server on
127.0.0.1 (the figures the targets apply to).
"""

import time
import warnings

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.demo import DEMO_PASSWORD
from bench import pages, timing
from bench.build.builder import Builder
from bench.build.common import BenchError, Scale
from bench.build.orgs import load_orgs
from bench.build.write import vacuum_analyze


class Command(BaseCommand):
    help = "Build a 1M-unit, 2,000-user, 200,000-event organization and time its pages."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=1_000_000)
        parser.add_argument("--users", type=int, default=2_000)
        parser.add_argument("--events", type=int, default=200_000)
        parser.add_argument("--transfers", type=int, help="Default: a quarter of --events.")
        parser.add_argument("--seed", type=int, default=8, help="Random seed of the plan.")
        parser.add_argument(
            "--orgs",
            type=int,
            default=1,
            help="1 (default): grow the demo organization to the full size. N > 1: add N "
            "organizations of the full size beside the small demo (users dana.o01, ...); "
            "a stopped load resumes where it stopped.",
        )
        parser.add_argument(
            "--as-org",
            type=int,
            default=0,
            metavar="K",
            help="Time the users of bench organization K (admin.oKK, dana.oKK, riley.oKK) "
            "instead of the demo's; 0 = the demo organization.",
        )
        parser.add_argument("--skip-load", action="store_true", help="Only time the pages.")
        parser.add_argument("--load-only", action="store_true", help="Load, time nothing.")
        parser.add_argument(
            "--http",
            metavar="URL",
            help="Time over HTTP against a running server (127.0.0.1 or localhost only).",
        )
        parser.add_argument(
            "--samples",
            type=int,
            help="Timed requests per cell (default 10 in-process, 30 over HTTP).",
        )
        parser.add_argument("--password", default=DEMO_PASSWORD, help="The demo users' password.")
        parser.add_argument("--pages", default="", help="Only pages whose name contains this text.")

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("bench_scale runs on PostgreSQL (set DATABASE_URL).")
        # In-process pages serve static files from the finders; no collectstatic output needed.
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        if o["http"]:
            try:
                timing.check_local(o["http"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        if not o["skip_load"]:
            self.load(o)
        if o["load_only"]:
            return
        try:
            cells = [c for c in pages.cells(org=o["as_org"]) if o["pages"] in c.page]
        except pages.PagesError as exc:
            raise CommandError(str(exc)) from exc
        try:
            self.time(o, cells)
        except pages.PagesError as exc:
            raise CommandError(f"wrong page, timing stopped: {exc}") from exc

    def time(self, o, cells):
        if o["http"]:
            samples = o["samples"] or 30
            self.stdout.write(
                f"\nOver HTTP, {o['http']}, {samples} samples per cell, one at a time:\n"
            )
            self.stdout.write("| page | role | status | KB | p50 ms | p95 ms |")
            self.stdout.write("|---|---|---|---|---|---|")
            timing.time_over_http(
                cells,
                base_url=o["http"],
                password=o["password"],
                samples=samples,
                on_result=lambda r: self.stdout.write(
                    f"| {r.cell.page} | {r.cell.role} | {r.status} | {r.kb:.0f} "
                    f"| {r.p50:.1f} | {r.p95:.1f} |"
                ),
            )
        else:
            samples = o["samples"] or 10
            self.stdout.write(f"\nIn-process (test client), {samples} samples per cell:\n")
            self.stdout.write("| page | role | status | queries | KB | p50 ms | p95 ms | SQL ms |")
            self.stdout.write("|---|---|---|---|---|---|---|---|")
            timing.time_in_process(
                cells,
                samples=samples,
                on_result=lambda r: self.stdout.write(
                    f"| {r.cell.page} | {r.cell.role} | {r.status} | {r.queries} | {r.kb:.0f} "
                    f"| {r.p50:.1f} | {r.p95:.1f} | {r.sql_ms:.1f} |"
                ),
            )

    def load(self, o):
        if o["orgs"] > 1:
            return self.load_orgs(o)
        scale = _scale(o)
        self.stdout.write(
            f"Loading {scale.units:,} units, {scale.users:,} users, {scale.events:,} events:"
        )
        started = time.perf_counter()
        try:
            report = Builder(scale, log=self.stdout.write).run()
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        vacuum_analyze(log=self.stdout.write)
        self.stdout.write(f"Loaded in {time.perf_counter() - started:.1f} s.")
        for name, count in report.counts.items():
            self.stdout.write(f"  {name:<32} {count:>10,}")
        self.stdout.write("Ledger replay (SQL), disagreements:")
        for name, count in report.problems.items():
            self.stdout.write(f"  {name:<40} {count}")
        self.stdout.write(self.style.SUCCESS("Every unit's state and custodian equal its ledger."))

    def load_orgs(self, o):
        scale = _scale(o)
        self.stdout.write(
            f"Loading {o['orgs']} organizations of {scale.units:,} units, {scale.users:,} users, "
            f"{scale.events:,} events each, beside the demo organization:"
        )
        try:
            times = load_orgs(o["orgs"], scale, log=self.stdout.write)
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Seconds:")
        for name, seconds in times.items():
            self.stdout.write(f"  {name:<40} {seconds:8.1f}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            self.stdout.write(f"Database size: {cursor.fetchone()[0]}")
        self.stdout.write(self.style.SUCCESS("Every organization's units equal its ledger."))


def _scale(o) -> Scale:
    """The size of one organization, from the command's options."""
    return Scale(
        units=o["units"],
        users=o["users"],
        events=o["events"],
        transfers=o["transfers"],
        seed=o["seed"],
    )
