"""Print numbers, assert nothing: queries behind the event list and Mark Used screen, and the
time to mark 50 units used and submit, on the demo organization (writes are rolled back).

    DEBUG=1 python manage.py seed_demo && DEBUG=1 python manage.py bench_events
"""

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import DistributorGroup, User
from events.models import Event
from events.services.events import event_create, event_submit
from events.services.usage import event_mark_used
from inventory.models import Product
from inventory.services.receiving import ReceiveLine, units_receive


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Measure the event pages' queries and a 50-unit mark-used + submit (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=50)
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args, units, repeat, **options):
        try:
            admin = User.objects.get(username="admin")
            riley = User.objects.get(username="riley")
            event = Event.objects.get(name__startswith="TKA · St. Mary's")
        except (User.DoesNotExist, Event.DoesNotExist) as exc:
            raise CommandError("Run `manage.py seed_demo` first.") from exc
        self.stdout.write(f"database: {connection.vendor}")
        try:
            with transaction.atomic():
                DistributorGroup.objects.filter(distributor__username="dana").update(
                    pooling_enabled=True
                )
                client = Client(HTTP_HOST="127.0.0.1")
                client.force_login(riley)
                for path in ("/events/", f"/events/{event.pk}/use/?custody=both"):
                    client.get(path)
                    with CaptureQueriesContext(connection) as ctx:
                        response = client.get(path)
                    rows = response.content.decode().count(
                        "data-serial="
                    ) + response.content.decode().count("data-event=")
                    self.stdout.write(f"{path:<28} as riley: {len(ctx)} queries, {rows} rows")
                raise Rollback
        except Rollback:
            pass

        product = Product.objects.filter(organization=admin.organization).first()
        marking, submitting = [], []
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
                    case = event_create(
                        actor=riley,
                        type=event.type,
                        representative=riley,
                        facility=event.facility,
                        procedure=event.procedure,
                        scheduled_at=timezone.now(),
                    )
                    start = time.perf_counter()
                    event_mark_used(actor=riley, event=case, unit_ids=[u.pk for u in received])
                    marking.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    event_submit(actor=riley, event=case)
                    submitting.append(time.perf_counter() - start)
                    raise Rollback
            except Rollback:
                pass
        for label, values in (
            (f"mark {units} units used", marking),
            ("submit the case", submitting),
        ):
            self.stdout.write(
                f"{label}: median {statistics.median(values) * 1000:.1f} ms "
                f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f}, n={len(values)})"
            )
