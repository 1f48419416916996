"""Throttling per token and per user, counted in the database every app server shares.

A fixed window per key: the count of calls in the current window is one atomic upsert, so two
servers behind one balancer never lose a count (DRF's cache throttles read, append and write a
list, which loses calls under concurrency and lives in one server's memory by default). Limits
come from settings (`API_THROTTLE_RATES`); a 429 carries Retry-After, the seconds until the
window ends.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from rest_framework.throttling import BaseThrottle

from api.models import ApiToken, ThrottleBucket

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'120/m' -> (120, 60)."""
    count, _, per = rate.partition("/")
    return int(count), _UNITS[per[:1]]


def hit(key: str, window: int, now: float | None = None) -> tuple[int, int]:
    """Count one call for `key` in the current window; (calls so far, seconds left)."""
    now = time.time() if now is None else now
    start = int(now) - int(now) % window
    table = ThrottleBucket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, 1) "
            f"ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [key, start],
        )
        (count,) = cursor.fetchone()
    return count, max(1, start + window - int(now))


class ScopedThrottle(BaseThrottle):
    """One limit for the caller's token (each token its own budget) and one for the user (all
    their tokens and their session together)."""

    def allow_request(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return True  # refused by the permission check anyway
        rates = settings.API_THROTTLE_RATES
        checks = [(f"user:{user.pk}", rates["user"])]
        if isinstance(request.auth, ApiToken):
            checks.insert(0, (f"token:{request.auth.pk}", rates["token"]))
        self._wait = None
        for key, rate in checks:
            limit, window = parse_rate(rate)
            count, left = hit(key, window)
            if count > limit:
                self._wait = left
                return False
        return True

    def wait(self):
        return self._wait
