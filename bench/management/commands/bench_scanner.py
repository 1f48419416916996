"""Print numbers, assert nothing: the camera scanner in headless Chromium, against a running
server, with a real GS1 DataMatrix (zint) on Chromium's fake camera at 1280x720.

    # a server on the benchmark database (README, Benchmarks), then, on the same database:
    python manage.py bench_scanner --url http://127.0.0.1:8000 [--runs 5] [--seconds 8]

Each run opens the rep's open case's Mark Used page on a phone-sized page, presses "Scan with
camera", taps "Mark used" on the unit listed, then unmarks it (through the service) for the
next run. The scanner's own User Timing entries give the numbers:
- decode per frame: zxing-wasm's readBarcodes on one 1280x720 frame ("scanner-decode"), and
  the whole frame with the canvas copy ("scanner-frame"), median and p95 over every frame of
  every run (the camera keeps showing the label, so each frame holds the symbol);
- Scan pressed to the unit listed: camera start, decoder load (cached after the first run, as
  on a phone), first decodes, the server's answer;
- tap to marked: the POST that marks the unit used.

The unit is the benchmark's own: product BENCH-SCAN (GTIN below) and one unit in the rep's
custody, received once by an admin if missing. Needs Chromium (/usr/bin/chromium) and the dev
requirements (playwright, zint-bindings).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import statistics
import tempfile
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from bench.camera import CHROMIUM, LAUNCH_ARGS, fake_camera_args, symbol_bitmap, write_y4m
from bench.timing import percentile, rep_with_open_case
from events.models import Event
from events.services.usage import event_unmark
from inventory.models import Product, Unit, UnitState
from inventory.services.receiving import ReceiveLine, units_receive

GTIN = "00850001299992"
CATALOG = "BENCH-SCAN"
SERIAL, LOT = "BS-0001", "BSL-1"


def _p95(values: list[float]) -> float:
    return percentile(values, 95)


class Command(BaseCommand):
    help = "Time the camera scanner: decode per frame, Scan to listed, tap to marked."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="The running server, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument("--user", default="riley", help="A rep with an open case.")
        parser.add_argument("--password", default="trunkpool-demo")
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--seconds", type=float, default=8, help="Scanning time per run.")
        parser.add_argument("--chromium", default=CHROMIUM)

    def handle(self, *args, url, user, password, runs, seconds, chromium, **options):
        rep, case = rep_with_open_case(user)
        unit = self._unit(rep, case)
        label = f"(01){GTIN}(17){unit.expiration_date:%y%m%d}(10){LOT}(21){SERIAL}"
        self.stdout.write(f"label {label} on case {case.pk} ({case.name}) as {user}")

        from playwright.sync_api import sync_playwright

        # Playwright's sync API runs an event loop in this thread; the ORM calls between runs
        # (the unmark) are plain blocking calls, which Django's async check would refuse.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

        decode, frame, listed, marked = [], [], [], []
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            video = write_y4m(
                Path(tmp) / "label.y4m",
                [symbol_bitmap("gs1-datamatrix", label)],
                frames_each=int(seconds * 10) + 20,
            )
            browser = p.chromium.launch(
                executable_path=chromium, args=[*LAUNCH_ARGS, *fake_camera_args(video)]
            )
            context = browser.new_context(
                base_url=url,
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                permissions=["camera"],
            )
            context.set_default_timeout(20_000)
            page = context.new_page()
            page.goto("/accounts/login/")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/accounts/login/" not in u)
            for run in range(runs):
                page.goto(f"/events/{case.pk}/use/")
                page.get_by_role("button", name="Scan with camera").click()
                found = page.locator("[data-testid=scan-results] li[data-state=found]")
                found.wait_for()
                started = time.monotonic()
                found.get_by_role("button", name="Mark used").click()
                page.locator("[data-testid=scan-results] li[data-state=marked]").wait_for()
                time.sleep(max(0.0, seconds - (time.monotonic() - started)))
                times = page.evaluate(
                    """() => {
                      const one = (name) => performance.getEntriesByName(name)[0].startTime;
                      const all = (name) => performance.getEntriesByName(name).map((e) => e.duration);
                      return {
                        decode: all("scanner-decode"),
                        frame: all("scanner-frame"),
                        listed: one("scanner-first-listed") - one("scanner-open"),
                        marked: one("scanner-marked") - one("scanner-mark-tap"),
                        width: document.querySelector("video").videoWidth,
                        height: document.querySelector("video").videoHeight,
                      };
                    }"""
                )
                decode += times["decode"]
                frame += times["frame"]
                listed.append(times["listed"])
                marked.append(times["marked"])
                self.stdout.write(
                    f"run {run + 1}: {len(times['decode'])} frames of "
                    f"{times['width']}x{times['height']}, Scan to listed {times['listed']:.0f} ms, "
                    f"tap to marked {times['marked']:.0f} ms"
                )
                event_unmark(actor=rep, event=case, unit_ids=[unit.pk])
            browser.close()

        def line(name, values):
            return (
                f"{name:<28} median {statistics.median(values):7.1f} ms   "
                f"p95 {_p95(values):7.1f} ms   (n={len(values)})"
            )

        self.stdout.write(line("decode per frame", decode))
        self.stdout.write(line("frame (copy + decode)", frame))
        self.stdout.write(line("Scan pressed to listed", listed))
        self.stdout.write(line("tap to marked", marked))

    def _unit(self, rep: User, case: Event) -> Unit:
        """The benchmark's unit in the rep's custody, received once if missing (and unmarked
        from the case if an interrupted run left it marked)."""
        org = rep.organization
        product, _ = Product.objects.get_or_create(
            organization=org,
            catalog_number=CATALOG,
            defaults={
                "description": "Scanner benchmark implant",
                "manufacturer": "Bench",
                "gtin": GTIN,
            },
        )
        unit = Unit.objects.filter(product=product, serial_number=SERIAL).first()
        if unit is None:
            admin = User.objects.filter(organization=org, role=Role.ADMIN, is_active=True).first()
            (unit,) = units_receive(
                actor=admin,
                lines=[
                    ReceiveLine(
                        product=product,
                        lot_number=LOT,
                        serial_numbers=[SERIAL],
                        quantity=1,
                        expiration_date=datetime.date(2030, 6, 30),
                    )
                ],
                custodian=rep,
                note="Scanner benchmark",
            )
        if unit.state == UnitState.ALLOCATED:
            # Marked on another case: refused below.
            with contextlib.suppress(ValidationError):
                event_unmark(actor=rep, event=case, unit_ids=[unit.pk])
            unit.refresh_from_db()
        if unit.custodian_id != rep.pk or unit.state != UnitState.AVAILABLE:
            raise CommandError(f"{CATALOG} {SERIAL} is not available in {rep}'s custody.")
        return unit
