"""Print numbers, assert nothing: read the whole ledger feed over HTTP from a running server, in
200-row pages or streamed pages of up to 5,000, and report rows per second and the server
workers' memory (RSS) before, after and at most during the read.

    DEBUG=0 SECRET_KEY=bench STATIC_MANIFEST=0 ALLOWED_HOSTS=127.0.0.1,localhost \\
      API_THROTTLE_TOKEN=100000/m API_THROTTLE_USER=100000/m \\
      .venv/bin/gunicorn config.wsgi --bind 127.0.0.1:8011 --workers 2 &
    .venv/bin/python manage.py bench_ledger_feed --url http://127.0.0.1:8011 --limit 200
    .venv/bin/python manage.py bench_ledger_feed --url http://127.0.0.1:8011 --limit 5000

Without --token a read-only token of --user (admin) is made for the run and revoked after it;
the command must then use the server's database (same DATABASE_URL). Worker pids come from
--pid, or are found: the gunicorn processes whose command line names the URL's port (the
master's children when there is a master). A 429 is waited out (Retry-After) and reported:
raise the throttle rates for the server, as above, to time reading rather than waiting.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bench.timing import check_local, percentile

PROC = Path("/proc")


def rss_kb(pid: int) -> int | None:
    """The process's resident memory (VmRSS) in kB, or None when it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:
        # The command name (2nd field) may hold spaces; the fields after its ")" do not.
        after_name = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return int(after_name[1])
    except (OSError, IndexError, ValueError):
        return None


def gunicorn_workers(port: int) -> list[int]:
    """Pids of the gunicorn processes serving `port`: the workers when a master forked them,
    else whatever gunicorn process names the port."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            cmdline = _cmdline(int(entry.name))
            if "gunicorn" in cmdline and f":{port}" in cmdline:
                found.append(int(entry.name))
    workers = [pid for pid in found if _parent(pid) in found]
    return sorted(workers or found)


@dataclass
class MemoryWatch:
    """Samples each pid's RSS every `every` seconds on a thread until stopped."""

    pids: list[int]
    every: float = 0.1
    before: dict[int, int | None] = field(default_factory=dict)
    after: dict[int, int | None] = field(default_factory=dict)
    most: dict[int, int] = field(default_factory=dict)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[int, int | None]:
        return {pid: rss_kb(pid) for pid in self.pids}

    def _run(self):
        while not self._stop.wait(self.every):
            for pid, kb in self._sample().items():
                if kb is not None:
                    self.most[pid] = max(self.most.get(pid, 0), kb)

    def start(self):
        self.before = self._sample()
        self.most = {pid: kb for pid, kb in self.before.items() if kb is not None}
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.after = self._sample()
        for pid, kb in self.after.items():
            if kb is not None:
                self.most[pid] = max(self.most.get(pid, 0), kb)


@dataclass
class Read:
    rows: int = 0
    pages: int = 0
    bytes: int = 0
    throttled_s: float = 0.0
    page_ms: list[float] = field(default_factory=list)
    ids: set[int] | None = None


def read_feed(
    base: str, token: str, *, limit: int, max_pages: int, max_seconds: float, keep_ids: bool
) -> Read:
    """Follow the feed from its start until a page is caught up (or a bound is reached)."""
    url = f"{base}/api/v1/ledger/?limit={limit}"
    read = Read(ids=set() if keep_ids else None)
    started = time.monotonic()
    while read.pages < max_pages and time.monotonic() - started < max_seconds:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                wait = float(exc.headers.get("Retry-After") or 1)
                read.throttled_s += wait
                time.sleep(wait)
                continue
            raise CommandError(f"GET {url}: {exc.code} {exc.read()[:300]!r}") from exc
        read.page_ms.append((time.perf_counter() - began) * 1000)
        page = json.loads(body)
        read.pages += 1
        read.bytes += len(body)
        read.rows += len(page["results"])
        if read.ids is not None:
            read.ids.update(entry["id"] for entry in page["results"])
        # The next URL is built from the Host the server saw: keep talking to the same base.
        parts = urllib.parse.urlsplit(page["next"])
        url = f"{base}{parts.path}?{parts.query}"
        if page["caught_up"]:
            break
    return read


class Command(BaseCommand):
    help = "Read the whole ledger feed over HTTP: rows per second and the server's RSS."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of the server.")
        parser.add_argument("--token", help="A token to read with (else one is made).")
        parser.add_argument("--user", default="admin", help="Whose token to make (no --token).")
        parser.add_argument("--limit", type=int, default=200, help="Rows a page, 1 to 5000.")
        parser.add_argument("--pid", type=int, action="append", help="A worker pid (repeat).")
        parser.add_argument("--max-pages", type=int, default=100_000)
        parser.add_argument("--max-seconds", type=float, default=1800)
        parser.add_argument(
            "--check", action="store_true", help="Also check no entry was given twice."
        )

    def handle(self, *args, **o):
        try:
            base = check_local(o["url"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not 1 <= o["limit"] <= 5000:
            raise CommandError("--limit is 1 to 5000.")
        port = urllib.parse.urlsplit(base).port or 80
        pids = o["pid"] or gunicorn_workers(port)
        if not pids:
            self.stderr.write(f"No gunicorn process names port {port}: memory is not reported.")
        token, made = o["token"], None
        if not token:
            token, made = self._make_token(o["user"])
        # One page first, so that "before" is a worker that has loaded its code and served.
        read_feed(base, token, limit=o["limit"], max_pages=1, max_seconds=60, keep_ids=False)
        watch = MemoryWatch(pids)
        watch.start()
        began = time.perf_counter()
        try:
            read = read_feed(
                base,
                token,
                limit=o["limit"],
                max_pages=o["max_pages"],
                max_seconds=o["max_seconds"],
                keep_ids=o["check"],
            )
        finally:
            elapsed = time.perf_counter() - began
            watch.stop()
            if made is not None:
                made.revoked_at = timezone.now()
                made.save(update_fields=["revoked_at"])
        self._report(o, read, elapsed, watch)

    def _make_token(self, username: str):
        from accounts.models import User
        from api.authentication import new_token_parts, token_digest
        from api.models import ApiToken, TokenScope

        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r} on this database: give --token.")
        prefix, secret, raw = new_token_parts()
        token = ApiToken.objects.create(
            user=user,
            name="bench_ledger_feed",
            prefix=prefix,
            digest=token_digest(secret),
            scope=TokenScope.READ,
            created_by=user,
            expires_at=timezone.now() + datetime.timedelta(hours=2),
        )
        return raw, token

    def _report(self, o, read: Read, elapsed: float, watch: MemoryWatch) -> None:
        reading = max(elapsed - read.throttled_s, 1e-9)
        w = self.stdout.write
        w(f"ledger feed, limit={o['limit']}, {read.pages:,} pages, {read.rows:,} rows")
        w(f"  {read.bytes / 1e6:,.1f} MB in {elapsed:,.1f} s ({read.throttled_s:,.1f} s throttled)")
        w(f"  {read.rows / reading:,.0f} rows/s while reading")
        if read.page_ms:
            p50, p95 = percentile(read.page_ms, 50), percentile(read.page_ms, 95)
            w(f"  page: p50 {p50:,.1f} ms, p95 {p95:,.1f} ms, max {max(read.page_ms):,.1f} ms")
        if read.ids is not None:
            twice = read.rows - len(read.ids)
            w(f"  entries given twice: {twice}")
        for pid in watch.pids:
            before, after, most = watch.before.get(pid), watch.after.get(pid), watch.most.get(pid)
            if before is None:
                w(f"  pid {pid}: not readable")
                continue
            after_text = "gone" if after is None else f"{after / 1024:,.1f} MB"
            w(
                f"  pid {pid} RSS: before {before / 1024:,.1f} MB, after {after_text}, "
                f"max {most / 1024:,.1f} MB (+{(most - before) / 1024:,.1f} MB)"
            )
