"""Print numbers, assert nothing: how the inventory pages behave with a large organization.

Adds N units (with their "received" ledger entries) to the demo organization with one SQL
statement each, spread over the demo holders, then times the pages people open most. Meant for
a throwaway PostgreSQL database:

    createdb -h 127.0.0.1 -U postgres trunkpool_scale
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/trunkpool_scale DEBUG=1
    python manage.py migrate && python manage.py seed_demo && python manage.py bench_scale --units 1000000
"""

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from inventory.models import Product


class Command(BaseCommand):
    help = "Bulk-add units to the demo organization and time the inventory pages (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=1_000_000)
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--skip-load", action="store_true", help="Only time the pages.")

    def handle(self, *args, units, repeat, skip_load, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_scale runs on PostgreSQL (set DATABASE_URL).")
        users = {
            u.username: u
            for u in User.objects.filter(
                username__in=["admin", "dana", "riley", "sam", "casey", "drew"]
            )
        }
        if len(users) < 6:
            raise CommandError("Run `manage.py seed_demo` first.")
        if not skip_load:
            self._load(units, users)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM inventory_unit")
            self.stdout.write(f"units in the database: {cursor.fetchone()[0]:,}")
        cases = [
            ("riley", "/inventory/?custody=mine"),
            ("riley", "/inventory/?custody=mine&q=SCR"),
            ("riley", "/inventory/?q=BULK-123456"),
            ("dana", "/inventory/?custody=reps"),
            ("dana", "/inventory/?custody=both&expiry=30"),
            ("admin", "/inventory/"),
            ("admin", "/inventory/?page=200"),
            ("admin", "/inventory/?custodian=org&state=available"),
            ("admin", "/inventory/?q=BULK-123457"),
            ("admin", "/inventory/?q=SCR"),
        ]
        for username, path in cases:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(users[username])
            client.get(path)
            timings = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    response = client.get(path)
                    timings.append(time.perf_counter() - start)
            rows = response.content.decode().count("data-serial=")
            self.stdout.write(
                f"{username:<6} {path:<42} {len(ctx):>2} queries {rows:>3} rows  "
                f"median {statistics.median(timings) * 1000:7.1f} ms"
            )

    def _load(self, units, users):
        holders = [users[n].pk for n in ("dana", "riley", "sam", "casey", "drew")] + [None]
        products = list(
            Product.objects.filter(organization=users["admin"].organization).values_list(
                "pk", flat=True
            )
        )
        org = users["admin"].organization_id
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO inventory_unit (organization_id, product_id, serial_number, lot_number,
                    expiration_date, udi, custodian_id, location_id, state, ledger_seq, created_at,
                    facility_id)
                SELECT %s, (%s::bigint[])[1 + (g / 7) %% %s], 'BULK-' || g, 'BL' || (g %% 997),
                       CURRENT_DATE + (g %% 900) - 30, '', (%s::bigint[])[1 + g %% %s], NULL,
                       'available', 1, now(), NULL
                FROM generate_series(1, %s) AS g
                """,
                [org, products, len(products), holders, len(holders), units],
            )
            cursor.execute(
                """
                INSERT INTO inventory_custodyentry (organization_id, unit_id, sequence, kind,
                    from_custodian_id, to_custodian_id, from_state, to_state, actor_id,
                    on_behalf_of_id, transfer_id, event_id, at, note)
                SELECT u.organization_id, u.id, 1, 'received', NULL, u.custodian_id, '',
                       'available', %s, NULL, NULL, NULL, now(), 'bench_scale'
                FROM inventory_unit u WHERE u.serial_number LIKE 'BULK-%%' AND u.ledger_seq = 1
                  AND NOT EXISTS (SELECT 1 FROM inventory_custodyentry e WHERE e.unit_id = u.id)
                """,
                [users["admin"].pk],
            )
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"loaded {units:,} units and their ledger entries in {time.perf_counter() - start:.1f} s"
        )
