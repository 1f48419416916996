"""Print numbers, assert nothing: Mark Used without signal, in headless Chromium on a phone-sized
page, against a running server reached through a relay that can be cut (bench/network.py).

    # a server on the benchmark database (README, Benchmarks), then, on the same database:
    python manage.py bench_offline --url http://127.0.0.1:8011 [--taps 20] [--replay 50] [--runs 3]

Each run is a fresh phone (a new browser context: no service worker, nothing stored): sign in,
open the rep's open case's Mark Used page, press "Make available offline", then cut the
network (the relay down and Playwright's offline switch, so the service worker has no network
either) and reload: the offline shell draws the case from the phone's storage. Then:
- tap to "waiting to sync": `--taps` units tapped one by one, each time until that unit is
  listed "waiting to sync". Numbers per tap: the page's own User Timing measure "offline-mark"
  (from the tap's handler to the end of the frame that shows the mark), of which the op stored
  in IndexedDB ("offline-mark-stored"); the same start to the end of that frame as a probe
  this command adds sees it (PAINT_PROBE); and, secondary, the time Playwright sees from its
  tap to the list item (its tap's checks and round trips included);
- replay after reconnect: those marks cancelled (the used list's "Cancel" buttons), `--replay`
  other units tapped, so exactly `--replay` ops wait; then the network is back (relay up,
  offline switch off) and the clock runs until every op on the phone is "applied" (read from
  IndexedDB every 10 ms), and until the page lists them all "synced". The page (on its
  "online" event) or the service worker (Background Sync) sends them, whichever takes the lock
  first; the page's own requests, when it sent them, are listed with their times. The server's
  count of lines created confirms each applied once.

The units are the first serial-tracked ones the offline page lists (the rep's own, earliest
expiry first: what a rep taps without scrolling); what a run marks is unmarked from the case
through the service after it. Needs Chromium (/usr/bin/chromium) and the dev requirements
(playwright).
"""

from __future__ import annotations

import os
import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from bench.camera import CHROMIUM, LAUNCH_ARGS
from bench.network import NetworkSwitch
from bench.timing import percentile, rep_with_open_case
from events.models import Event, EventLine
from events.services.usage import event_unmark
from inventory.models import Unit

TAP_TARGET_MS = 100
REPLAY_TARGET_S = 3.0
POLL_S = 0.01

OP_STATES = "async (user) => (await TrunkpoolStore.ops(user)).map((op) => op.state)"
RESOURCES = """() => performance.getEntriesByType("resource").map((e) =>
  ({path: new URL(e.name).pathname, start: e.startTime, duration: e.duration}))"""
PAINTED = "bench-offline-mark-painted"
# Run in every page before its own scripts (Playwright injects it; the CSP does not apply).
# The page's "offline-mark" ends when the op is stored and the list redrawn in the DOM, before
# the browser has styled, laid out and painted it. This adds the measure to the end of that
# frame: from the page's "offline-mark-tap" to the first task after the next rendering step
# (requestAnimationFrame, then a message: the usual "next paint" probe).
PAINT_PROBE = f"""(() => {{
  const mark = performance.mark.bind(performance);
  performance.mark = function (name, options) {{
    const entry = mark(name, options);
    if (name === "offline-mark-waiting") {{
      const start = performance.getEntriesByName("offline-mark-tap").at(-1).startTime;
      requestAnimationFrame(() => {{
        const channel = new MessageChannel();
        channel.port1.onmessage = () =>
          performance.measure("{PAINTED}", {{ start, end: performance.now() }});
        channel.port2.postMessage(null);
      }});
    }}
    return entry;
  }};
}})();"""


def _p95(values: list[float]) -> float:
    return percentile(values, 95)


class Command(BaseCommand):
    help = "Time Mark Used offline: a tap to 'waiting to sync', and the replay after reconnect."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="The running server, e.g. http://127.0.0.1:8011"
        )
        parser.add_argument("--user", default="riley", help="A rep with an open case.")
        parser.add_argument("--password", default="trunkpool-demo")
        parser.add_argument("--taps", type=int, default=20, help="Taps timed per run.")
        parser.add_argument("--replay", type=int, default=50, help="Ops replayed per run.")
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--chromium", default=CHROMIUM)

    def handle(self, *args, url, user, password, taps, replay, runs, chromium, **options):
        if taps < 1 or replay < 1 or runs < 1:
            raise CommandError("--taps, --replay and --runs must be at least 1.")
        rep, case = rep_with_open_case(user)
        self.stdout.write(
            f"case {case.pk} ({case.name}) as {user}: {taps} taps timed, {replay} ops replayed, "
            f"{runs} run(s), on the first units the offline page lists"
        )

        from playwright.sync_api import sync_playwright

        # Playwright's sync API runs an event loop in this thread; the ORM calls between runs
        # (the unmark, the lines counted) are plain blocking calls, which Django's async check
        # would refuse.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

        results = []
        touched: list[Unit] = []  # what the runs marked, taken off the case after each
        switch = NetworkSwitch(url)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
                for run in range(runs):
                    result = self._run(browser, switch, rep, password, case, taps, replay, touched)
                    self._unmark(rep, case, touched)
                    results.append(result)
                    self._report_run(run + 1, result)
                browser.close()
        finally:
            switch.close()
            self._unmark(rep, case, touched)
        self._report_all(results, replay)

    # --- One run: a fresh phone ---------------------------------------------------------------

    def _run(self, browser, switch, rep, password, case, taps, replay, touched) -> dict:
        context = browser.new_context(
            base_url=switch.url,
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
        )
        context.set_default_timeout(30_000)
        context.add_init_script(script=PAINT_PROBE)
        errors: list[str] = []
        context.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto("/accounts/login/")
            page.fill("input[name=username]", rep.username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/accounts/login/" not in u)

            # With signal: keep the case on the phone (the snapshot, and the worker installed).
            page.goto(f"/events/{case.pk}/use/")
            started = time.monotonic()
            page.get_by_role("button", name="Make available offline").tap()
            state = page.locator("[data-offline-state]")
            state.filter(has_text="Available offline on this phone").wait_for(timeout=60_000)
            prepared_s = time.monotonic() - started
            kept = state.inner_text()

            # No signal: the relay cut (the worker's requests fail too) and the page offline.
            switch.down()
            context.set_offline(True)
            page.reload()
            page.get_by_test_id("offline-event").filter(has_text=case.name).wait_for()
            tapped, replayed = self._first_listed(page, taps, replay)
            touched += tapped + replayed

            wall = []
            for unit in tapped:
                button = page.locator(
                    f'#offline-units button[aria-label="Mark used: {unit.serial_number}"]'
                )
                handle = button.element_handle()  # found before the clock starts
                waiting = page.locator(
                    f"#offline-used li[data-unit='{unit.pk}'][data-state='waiting to sync']"
                )
                started = time.monotonic()
                handle.tap()
                waiting.wait_for()
                wall.append((time.monotonic() - started) * 1000)
            durations = "(name) => performance.getEntriesByName(name).map((e) => e.duration)"
            while len(page.evaluate(durations, PAINTED)) < len(tapped):
                time.sleep(POLL_S)  # the last tap's frame may still be on its way
            measures = page.evaluate(durations, "offline-mark")
            stored = page.evaluate(durations, "offline-mark-stored")
            painted = page.evaluate(durations, PAINTED)

            # Exactly `replay` ops waiting: the timed taps cancelled, as a rep would, then the
            # replay's own units tapped.
            for unit in tapped:
                page.get_by_role("button", name=f"Cancel: {unit.serial_number}").tap()
                page.locator(f"#offline-used li[data-unit='{unit.pk}']").wait_for(state="detached")
            for unit in replayed:
                page.locator(
                    f'#offline-units button[aria-label="Mark used: {unit.serial_number}"]'
                ).tap()
                page.locator(
                    f"#offline-used li[data-unit='{unit.pk}'][data-state='waiting to sync']"
                ).wait_for()
            states = page.evaluate(OP_STATES, rep.pk)
            waiting = states.count("waiting")
            if waiting != len(replayed) or states.count("cancelled") != len(tapped):
                raise CommandError(f"Expected {len(replayed)} ops waiting, found {states}.")
            if EventLine.objects.current().filter(event=case, unit__in=tapped + replayed).exists():
                raise CommandError("A line reached the server while the network was cut.")

            # Signal again: the relay first, so the page's "online" event finds the server.
            since = timezone.now()
            back = page.evaluate("() => performance.now()")
            started = time.monotonic()
            switch.up()
            context.set_offline(False)
            deadline = started + 60
            while True:
                states = page.evaluate(OP_STATES, rep.pk)
                sent = [s for s in states if s != "cancelled"]
                if sent and all(s == "applied" for s in sent):
                    replay_s = time.monotonic() - started
                    break
                if time.monotonic() > deadline:
                    raise CommandError(f"Not all applied after 60 s: {states}")
                time.sleep(POLL_S)
            # And the rep sees it: every one listed "synced" (after the page's own replay, which
            # finds nothing left when the worker's Background Sync got there first).
            synced = page.locator("#offline-used li[data-state='synced']")
            while synced.count() < len(replayed):
                if time.monotonic() > deadline:
                    raise CommandError(f"{synced.count()} listed synced after 60 s.")
                time.sleep(POLL_S)
            shown_s = time.monotonic() - started
            answer = page.locator("#offline-answer").inner_text()
            # The page's own requests after the return (the worker's are not in its timeline).
            requests = [
                f"{e['path']} at +{e['start'] - back:.0f} ms, {e['duration']:.0f} ms"
                for e in page.evaluate(RESOURCES)
                if e["start"] >= back and e["path"].startswith("/offline/")
            ]
            # The page, or the worker's Background Sync: both show the answers alike.
            by = "page or worker" if answer.startswith("Synced:") else "unknown"
            created = EventLine.objects.filter(event=case, unit__in=replayed, marked_at__gte=since)
            return {
                "prepared_s": prepared_s,
                "kept": kept,
                "measures": measures,
                "stored": stored,
                "painted": painted,
                "wall": wall,
                "replayed": len(sent),
                "applied": sent.count("applied"),
                "replay_s": replay_s,
                "shown_s": shown_s,
                "by": by,
                "requests": requests,
                "lines": created.count(),
                "units_lined": created.values("unit").distinct().count(),
                "current": EventLine.objects.current()
                .filter(event=case, unit__in=replayed)
                .count(),
                "errors": errors,
            }
        finally:
            switch.up()
            context.close()

    # --- Output -------------------------------------------------------------------------------

    def _report_run(self, run: int, r: dict):
        self.stdout.write(f"run {run}: prepared in {r['prepared_s']:.1f} s ({r['kept']})")
        for name, values in (
            ("tap -> waiting to sync (offline-mark)", r["measures"]),
            ("  of which stored (IndexedDB)", r["stored"]),
            ("tap -> painted (that frame)", r["painted"]),
            ("tap -> listed (Playwright)", r["wall"]),
        ):
            self.stdout.write(
                f"  {name:<38} median {statistics.median(values):6.1f} ms   "
                f"p95 {_p95(values):6.1f} ms   max {max(values):6.1f} ms   (n={len(values)})"
            )
        self.stdout.write(
            f"  replay: {r['replayed']} ops waiting, {r['applied']} applied in "
            f"{r['replay_s']:.2f} s (sent by {r['by']}), all listed synced at {r['shown_s']:.2f} s; "
            f"server: {r['lines']} lines created on {r['units_lined']} units, "
            f"{r['current']} current"
        )
        if r["requests"]:
            self.stdout.write("  the page's requests: " + "; ".join(r["requests"]))
        if r["errors"]:
            self.stdout.write(f"  page errors ({len(r['errors'])}): " + " | ".join(r["errors"]))

    def _report_all(self, results: list[dict], replay: int):
        def line(name, values, unit="ms", target=None):
            text = (
                f"{name:<38} median {statistics.median(values):6.1f} {unit}   "
                f"p95 {_p95(values):6.1f} {unit}   max {max(values):6.1f} {unit}   "
                f"(n={len(values)})"
            )
            if target is not None:
                verdict = "within" if _p95(values) <= target else "OVER"
                text += f"   target <= {target:g} {unit}: p95 {verdict}"
            return text

        def every(key):
            return [v for r in results for v in r[key]]

        self.stdout.write(f"overall, {len(results)} run(s):")
        self.stdout.write(
            line("tap -> waiting to sync (offline-mark)", every("measures"), target=TAP_TARGET_MS)
        )
        self.stdout.write(line("  of which stored (IndexedDB)", every("stored")))
        self.stdout.write(
            line("tap -> painted (that frame)", every("painted"), target=TAP_TARGET_MS)
        )
        self.stdout.write(line("tap -> listed (Playwright)", every("wall")))
        ops = "/".join(str(n) for n in sorted({r["replayed"] for r in results}))
        self.stdout.write(
            line(
                f"replay of {ops} ops to all applied",
                [r["replay_s"] for r in results],
                "s",
                REPLAY_TARGET_S,
            )
        )
        self.stdout.write(line("replay: all listed synced", [r["shown_s"] for r in results], "s"))
        once = all(r["lines"] == r["units_lined"] == r["replayed"] == replay for r in results)
        self.stdout.write(
            f"{'server lines created per run':<38} {[r['lines'] for r in results]} "
            f"({'one per op: each applied once' if once else 'NOT one line per op'})"
        )

    # --- The benchmark's units ----------------------------------------------------------------

    def _first_listed(self, page, taps: int, replay: int) -> tuple[list[Unit], list[Unit]]:
        """The first serial-tracked units the offline page lists with a Mark used button (its
        first page, then "Show more" as a rep would), split into the timed taps and the
        replay's."""
        more = page.locator("#offline-units button", has_text="more (")
        while True:
            ids = page.eval_on_selector_all(
                "#offline-units tr[data-unit]",
                "rows => rows.filter((r) => !r.querySelector('button').disabled)"
                ".map((r) => Number(r.dataset.unit))",
            )
            serial = {u.pk: u for u in Unit.objects.filter(pk__in=ids).exclude(serial_number="")}
            units = [serial[i] for i in ids if i in serial][: taps + replay]
            if len(units) >= taps + replay or not more.count():
                break
            more.tap()  # as a rep scrolls on and asks for more
        if len(units) < taps + replay:
            raise CommandError(
                f"The offline page lists {len(units)} markable serial-tracked units; "
                f"--taps plus --replay must not exceed that."
            )
        return units[:taps], units[taps:]

    def _unmark(self, rep: User, case: Event, units: list[Unit]):
        """Whatever a previous run left marked on the case goes back, so runs repeat."""
        ids = list(
            EventLine.objects.current()
            .filter(event=case, unit__in=units)
            .values_list("unit_id", flat=True)
        )
        if ids:
            event_unmark(actor=rep, event=case, unit_ids=ids)
