"""Print numbers, assert nothing: the queries behind /inventory/ and the time of a 100-unit
transfer, on the demo organization. Every write happens in a transaction that is rolled back.

    DEBUG=1 python manage.py seed_demo && DEBUG=1 python manage.py bench_inventory
"""

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from inventory.models import Product
from inventory.services.receiving import ReceiveLine, units_receive
from inventory.services.transfers import transfer_accept, transfer_create


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Measure /inventory/ queries and a 100-unit transfer on the demo data (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=100)
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args, units, repeat, **options):
        try:
            admin = User.objects.get(username="admin")
            dana = User.objects.get(username="dana")
            riley = User.objects.get(username="riley")
        except User.DoesNotExist as exc:
            raise CommandError("Run `manage.py seed_demo` first.") from exc
        self.stdout.write(f"database: {connection.vendor}")
        for user, query in ((riley, "custody=mine"), (dana, "custody=both"), (admin, "")):
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            client.get("/inventory/?" + query)  # warm up
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/inventory/?" + query)
            rows = response.content.decode().count("data-serial=")
            self.stdout.write(
                f"/inventory/?{query:<14} as {user.username:<6}: {len(ctx)} queries, {rows} rows"
            )

        sam = User.objects.get(username="sam")
        steps = [
            (
                "dana moves riley's units to herself (completes at once)",
                lambda ids: transfer_create(actor=dana, unit_ids=ids, recipient=dana),
            ),
            (
                "dana moves them back to riley (completes at once)",
                lambda ids: transfer_create(actor=dana, unit_ids=ids, recipient=riley),
            ),
            (
                "riley sends them to sam (pending)",
                lambda ids: transfer_create(actor=riley, unit_ids=ids, recipient=sam),
            ),
        ]
        timings = {label: [] for label, _ in steps}
        timings["sam accepts"] = []
        product = Product.objects.filter(organization=admin.organization).first()
        for _ in range(repeat):
            try:
                with transaction.atomic():
                    received = units_receive(
                        actor=admin,
                        lines=[
                            ReceiveLine(
                                product=product,
                                serial_numbers=[f"BENCH-{i}" for i in range(units)],
                            )
                        ],
                        custodian=riley,
                    )
                    ids = [u.pk for u in received]
                    for label, step in steps:
                        start = time.perf_counter()
                        (transfer,) = step(ids)
                        timings[label].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    transfer_accept(actor=sam, transfer=transfer)
                    timings["sam accepts"].append(time.perf_counter() - start)
                    raise Rollback
            except Rollback:
                pass
        for label, values in timings.items():
            self.stdout.write(
                f"{units}-unit transfer, {label}: median {statistics.median(values) * 1000:.1f} ms"
                f" (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f}, n={len(values)})"
            )
