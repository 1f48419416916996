"""Time a list of pages: in-process with the test client (queries and SQL time, to find
causes), or over HTTP against a server running on this machine (the figures that count)."""

from __future__ import annotations

import http.cookiejar
import re
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bench.pages import Cell, check, static_from_finders

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass
class Result:
    cell: Cell
    status: int
    kb: float
    timings_ms: list[float]
    queries: int | None = None
    sql_ms: float | None = None

    @property
    def p50(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p95(self) -> float:
        return percentile(self.timings_ms, 95)


def rep_with_open_case(username: str):
    """The rep the phone benchmarks sign in as, and their first open event (bench_scanner,
    bench_offline). CommandError names what the database lacks."""
    from django.core.management.base import CommandError

    from accounts.models import Role
    from events.models import Event, EventStatus

    rep = User.objects.filter(username=username, role=Role.REP).first()
    if rep is None:
        raise CommandError(f"No rep {username!r}: run seed_demo on this database first.")
    case = Event.objects.filter(representative=rep, status=EventStatus.OPEN).order_by("pk").first()
    if case is None:
        raise CommandError(f"{username} has no open event to mark units on.")
    return rep, case


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct% of samples at or below."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def time_in_process(
    cells: Iterable[Cell], *, samples: int, on_result: Callable[[Result], None]
) -> list[Result]:
    """Each cell: one warm-up request, then `samples` timed ones with the queries captured.

    Static URLs come from the finders (as in the tests), so no collectstatic is needed.
    """
    with static_from_finders():
        return _time_in_process(cells, samples=samples, on_result=on_result)


def _time_in_process(cells, *, samples, on_result):
    clients: dict[str, Client] = {}
    results = []
    for cell in cells:
        client = clients.get(cell.login)
        if client is None:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(User.objects.get(username=cell.login))
            clients[cell.login] = client
        warm = client.get(cell.path)
        check(cell, warm.status_code, warm.content)
        timings, sql, counts = [], [], []
        for _ in range(samples):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(cell.path)
                timings.append((time.perf_counter() - start) * 1000)
            counts.append(len(ctx.captured_queries))
            sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        result = Result(
            cell=cell,
            status=response.status_code,
            kb=len(response.content) / 1024,
            timings_ms=timings,
            queries=max(counts),
            sql_ms=statistics.median(sql),
        )
        on_result(result)
        results.append(result)
    return results


def check_local(base_url: str) -> str:
    """The base URL without a trailing slash; refused unless it points at this machine."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
        raise ValueError(
            f"{base_url!r}: only http://127.0.0.1:PORT or http://localhost:PORT may be timed."
        )
    return base_url.rstrip("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpSession:
    """One logged-in person, talking to the server like a browser (cookies, CSRF)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30):
        self.base = check_local(base_url)
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.login(username, password)

    def _open(self, request) -> tuple[int, bytes]:
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:  # 3xx (no redirect followed), 4xx, 5xx
            return exc.code, exc.read()

    def get(self, path: str) -> tuple[int, bytes]:
        return self._open(urllib.request.Request(self.base + path))

    def login(self, username: str, password: str) -> None:
        status, body = self.get("/accounts/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or not match:
            raise RuntimeError(f"no login form at {self.base}/accounts/login/ ({status})")
        data = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": match.group(1).decode(),
            }
        ).encode()
        request = urllib.request.Request(
            self.base + "/accounts/login/",
            data=data,
            headers={"Referer": self.base + "/accounts/login/"},
        )
        status, _ = self._open(request)
        if status != 302 or not any(c.name == "sessionid" for c in self.jar):
            raise RuntimeError(f"could not log in as {username} ({status})")


def time_over_http(
    cells: Iterable[Cell],
    *,
    base_url: str,
    password: str,
    samples: int,
    on_result: Callable[[Result], None],
) -> list[Result]:
    """Each cell: one warm-up request, then `samples` timed ones, one at a time."""
    sessions: dict[str, HttpSession] = {}
    results = []
    for cell in cells:
        session = sessions.get(cell.login)
        if session is None:
            session = sessions[cell.login] = HttpSession(base_url, cell.login, password)
        check(cell, *session.get(cell.path))
        timings = []
        for _ in range(samples):
            start = time.perf_counter()
            status, body = session.get(cell.path)
            timings.append((time.perf_counter() - start) * 1000)
        result = Result(cell=cell, status=status, kb=len(body) / 1024, timings_ms=timings)
        on_result(result)
        results.append(result)
    return results
