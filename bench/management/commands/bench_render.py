"""Print numbers, assert nothing: the Python and template time of the inventory and Mark Used
pages at 50 rows, in-process with the test client, and optionally their cProfile top entries.

    # a bench organization (200 facilities, so the filter bar's lists are full size)
    DEBUG=1 python manage.py migrate && DEBUG=1 python manage.py seed_demo
    python manage.py bench_scale --units 30000 --users 2000 --events 6000 --load-only
    python manage.py bench_render --runs 20 [--profile 25]

Per request: CPU = time.process_time() spent in the request (this process only: PostgreSQL's
own work is not in it, the driver's is); "CPU - SQL" subtracts the SQL time of
connection.queries, as the issue's figures did; "wall - SQL" is the elapsed time minus SQL,
which other processes on the machine can inflate. Both go wrong when PostgreSQL waits for
the CPU (SQL time is elapsed time, not this process's CPU), so "CPU outside SQL" subtracts
only the CPU this process spent inside the driver's execute calls. Each figure is the median
of --runs.
"""

import cProfile
import io
import os
import pstats
import statistics
import time
import warnings

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.models import User
from bench import pages


def _cells() -> list[pages.Cell]:
    wanted = (
        tuple(os.environ.get("BENCH_RENDER_PAGES", "").split(","))
        if os.environ.get("BENCH_RENDER_PAGES")
        else ("inventory", "inventory custody=both", "mark used custody=both", "mark used search")
    )
    return [c for c in pages.cells() if c.page in wanted]


class Command(BaseCommand):
    help = "Time the Python and template work of /inventory/ and Mark Used at 50 rows."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=20)
        parser.add_argument(
            "--profile", type=int, default=0, metavar="N", help="Print N cProfile entries."
        )

    def handle(self, *args, runs, profile, **options):
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        try:
            cells = _cells()
        except pages.PagesError as exc:
            raise CommandError(str(exc)) from exc
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STORAGES=storages):
            self.run(cells, runs=runs, profile=profile)

    def run(self, cells, *, runs, profile):
        self.stdout.write(f"median of {runs} runs per row, ms\n")
        self.stdout.write(
            "| page | role | rows | queries | KB | SQL | CPU | CPU - SQL | wall - SQL "
            "| CPU outside SQL |"
        )
        self.stdout.write("|---|---|---|---|---|---|---|---|---|---|")
        clients: dict[str, Client] = {}
        for cell in cells:
            client = clients.get(cell.role)
            if client is None:
                client = clients[cell.role] = Client(HTTP_HOST="127.0.0.1")
                client.force_login(User.objects.get(username=cell.role))
            for _ in range(3):  # warm up templates, URL resolvers and caches
                client.get(cell.path)
            cpu, cpu_sql, wall_sql, sql, counts, outside = [], [], [], [], [], []
            for _ in range(runs):
                in_driver = [0.0]

                def timed(execute, *args, in_driver=in_driver):
                    start = time.process_time()
                    try:
                        return execute(*args)
                    finally:
                        in_driver[0] += time.process_time() - start

                with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed):
                    c0, w0 = time.process_time(), time.perf_counter()
                    response = client.get(cell.path)
                    c1, w1 = time.process_time(), time.perf_counter()
                q_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
                cpu.append((c1 - c0) * 1000)
                cpu_sql.append((c1 - c0) * 1000 - q_ms)
                wall_sql.append((w1 - w0) * 1000 - q_ms)
                sql.append(q_ms)
                outside.append((c1 - c0 - in_driver[0]) * 1000)
                counts.append(len(ctx.captured_queries))
            body = response.content.decode()
            med = statistics.median
            self.stdout.write(
                f"| {cell.page} | {cell.role} | {body.count('data-serial=')} | {max(counts)} "
                f"| {len(body) / 1024:.0f} | {med(sql):.1f} | {med(cpu):.1f} "
                f"| {med(cpu_sql):.1f} | {med(wall_sql):.1f} | {med(outside):.1f} |"
            )
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(runs):
                    client.get(cell.path)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(profile)
                self.stdout.write(out.getvalue())
