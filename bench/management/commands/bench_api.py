"""Print numbers, assert nothing: the API's main reads over HTTP, as an admin, a distributor and
a rep, against a server running on this machine on the same database.

    # the full-scale organization (README, Benchmarks), then a server on it:
    DEBUG=0 SECRET_KEY=bench STATIC_MANIFEST=0 ALLOWED_HOSTS=127.0.0.1,localhost \\
      API_THROTTLE_TOKEN=100000/m API_THROTTLE_USER=100000/m \\
      .venv/bin/gunicorn config.wsgi --bind 127.0.0.1:8011 --workers 2 &
    python manage.py bench_api --url http://127.0.0.1:8011 [--samples 30]

Timed, for admin, dana (a distributor whose group pools) and riley (one of her reps): the
unit list (a 50-row page), one unit (riley's with the longest history, which all three may
see), the event list, one event (riley's open event with the most lines), the transfer list,
and a page of the ledger feed; each a warm-up request, then --samples timed ones, one at a time,
p50 and p95 (bench.timing.percentile). Target: p95 at most 50 ms for a 50-row page.

Each role calls with a read-only token made for the run (revoked at the end), or with one given
as --token ROLE=tp_... Every answer must be a 200 with the JSON asked for (a list's `results`,
an object's `id`), or timing stops: a 401, a 429 or an error page is a wrong answer, not a fast
one. The throttle counts these calls too, so run the server with higher limits as above. An
endpoint this branch does not serve yet is listed and skipped.
"""

from __future__ import annotations

import datetime
import json
import statistics
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.models import Role, User
from api.authentication import new_token_parts, token_digest
from api.models import ApiToken, TokenScope
from bench import timing
from bench.build.common import model

TARGET_MS = 50
ROLE_OF = {"admin": Role.ADMIN, "distributor": Role.DISTRIBUTOR, "rep": Role.REP}


@dataclass(frozen=True)
class Call:
    endpoint: str
    path: str
    is_list: bool


class WrongAnswer(Exception):
    pass


def _get(base: str, path: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        base + path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _rows(call: Call, role: str, status: int, body: bytes) -> int | None:
    """The rows of a list answer (None for one object); WrongAnswer for anything else."""
    if status != 200:
        hint = " (raise the server's API_THROTTLE_* limits)" if status == 429 else ""
        raise WrongAnswer(
            f"{call.endpoint} as {role}: {call.path} answered {status}{hint}: {body[:200]!r}"
        )
    try:
        data = json.loads(body)
    except ValueError:
        raise WrongAnswer(f"{call.endpoint} as {role}: {call.path} is not JSON") from None
    if call.is_list:
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise WrongAnswer(f"{call.endpoint} as {role}: {call.path} is not a page of rows")
        return len(data["results"])
    if not isinstance(data, dict) or "id" not in data:
        raise WrongAnswer(f"{call.endpoint} as {role}: {call.path} is not one object")
    return None


def _served(path: str) -> bool:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return False
    return match.namespace == "api"


class Command(BaseCommand):
    help = "Time the API's unit, event, transfer and ledger reads over HTTP, per role."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of the server.")
        parser.add_argument("--samples", type=int, default=30, help="Timed requests per cell.")
        parser.add_argument("--admin", default="admin", help="The admin's username.")
        parser.add_argument("--distributor", default="dana", help="The distributor's username.")
        parser.add_argument("--rep", default="riley", help="The rep's username.")
        parser.add_argument(
            "--token",
            action="append",
            default=[],
            metavar="ROLE=TOKEN",
            help="Use this token for admin, distributor or rep instead of making one.",
        )

    def handle(self, *args, url, samples, token, **o):
        try:
            base = timing.check_local(url)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        users = self._users(o)
        given = self._given_tokens(token)
        calls = self._calls(users["rep"])
        served = [c for c in calls if _served(c.path)]
        for call in calls:
            if call not in served:
                self.stdout.write(f"skipped, not served by this branch yet: {call.endpoint}")
        made: list[ApiToken] = []
        try:
            tokens = {
                role: given.get(role) or self._make_token(user, made)
                for role, user in users.items()
            }
            self._time(base, served, users, tokens, samples)
        except WrongAnswer as exc:
            raise CommandError(f"wrong answer, timing stopped: {exc}") from exc
        finally:
            ApiToken.objects.filter(pk__in=[t.pk for t in made]).update(revoked_at=timezone.now())

    def _users(self, o) -> dict[str, User]:
        users = {}
        for role, expected in ROLE_OF.items():
            user = User.objects.filter(username=o[role], role=expected, is_active=True).first()
            if user is None:
                raise CommandError(
                    f"No active {expected.label.lower()} {o[role]!r}: run seed_demo and "
                    "bench_scale on this database first (README, Benchmarks)."
                )
            users[role] = user
        return users

    def _given_tokens(self, pairs: list[str]) -> dict[str, str]:
        given = {}
        for pair in pairs:
            role, _, value = pair.partition("=")
            if role not in ROLE_OF or not value:
                raise CommandError(f"--token takes ROLE=TOKEN with ROLE one of {list(ROLE_OF)}")
            given[role] = value
        return given

    def _make_token(self, user: User, made: list[ApiToken]) -> str:
        prefix, secret, raw = new_token_parts()
        made.append(
            ApiToken.objects.create(
                user=user,
                name="bench_api",
                prefix=prefix,
                digest=token_digest(secret),
                scope=TokenScope.READ,
                created_by=user,
                expires_at=timezone.now() + datetime.timedelta(hours=2),
            )
        )
        return raw

    def _calls(self, rep: User) -> list[Call]:
        Unit, Event = model("Unit"), model("Event")
        unit = Unit.objects.filter(custodian=rep).order_by("-ledger_seq", "pk").first()
        event = (
            Event.objects.filter(representative=rep, status="open")
            .annotate(n=Count("lines", filter=Q(lines__removed_at__isnull=True)))
            .order_by("-n", "-pk")
            .first()
        )
        if unit is None or event is None:
            raise CommandError(f"{rep.username} has no unit or no open event to read.")
        return [
            Call("unit list", "/api/v1/units/?limit=50", True),
            Call("unit detail", f"/api/v1/units/{unit.pk}/", False),
            Call("event list", "/api/v1/events/?limit=50", True),
            Call("event detail", f"/api/v1/events/{event.pk}/", False),
            Call("transfers", "/api/v1/transfers/?limit=50", True),
            Call("ledger feed page", "/api/v1/ledger/?limit=50", True),
        ]

    def _time(self, base, calls, users, tokens, samples):
        self.stdout.write(
            f"\nOver HTTP, {base}, {samples} samples per cell, one at a time "
            f"(target: p95 <= {TARGET_MS} ms for a 50-row page):\n"
        )
        self.stdout.write("| endpoint | role | rows | KB | p50 ms | p95 ms |")
        self.stdout.write("|---|---|---|---|---|---|")
        for call in calls:
            for role, user in users.items():
                status, body = _get(base, call.path, tokens[role])  # warm-up
                rows = _rows(call, user.username, status, body)
                timings = []
                for _ in range(samples):
                    start = time.perf_counter()
                    status, body = _get(base, call.path, tokens[role])
                    timings.append((time.perf_counter() - start) * 1000)
                    _rows(call, user.username, status, body)
                p50 = statistics.median(timings)
                p95 = timing.percentile(timings, 95)
                shown = "-" if rows is None else rows
                self.stdout.write(
                    f"| {call.endpoint} | {role} ({user.username}) | {shown} "
                    f"| {len(body) / 1024:.0f} | {p50:.1f} | {p95:.1f} |"
                )
