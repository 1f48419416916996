"""Fixed-window counters in the database every app server shares (accounts.RateCounter).

Counting is one atomic upsert per key, so two servers behind one balancer never lose a count
(cache-based counters read, add and write back, which loses calls under concurrency and lives in
one server's memory by default). It sits in accounts, the lowest app with models, because the
password-reset limit (here) and the API's throttles (api.throttling) both count with it.
"""

from __future__ import annotations

import time

from django.db import connection
from django.db.models import F

from .models import RateCounter

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'120/m' -> (120, 60)."""
    count, _, per = rate.partition("/")
    return int(count), _UNITS[per[:1]]


def hit(key: str, window: int, now: float | None = None) -> tuple[int, int]:
    """Count one call for `key` in the current window; (calls so far, seconds left)."""
    now = time.time() if now is None else now
    start = int(now) - int(now) % window
    table = RateCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, window_seconds, count) VALUES (%s, %s, %s, 1) "
            f"ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [key, start, window],
        )
        (count,) = cursor.fetchone()
    return count, max(1, start + window - int(now))


def over_limit(key: str, rate: str, now: float | None = None) -> bool:
    """Count one call for `key` against `rate` ('3/h'); True when that call is past the limit."""
    limit, window = parse_rate(rate)
    count, _ = hit(key, window, now)
    return count > limit


def rate_counters_prune(*, now: float | None = None) -> int:
    """Delete the counters of windows that have ended. A window still open is never touched,
    so no caller gains calls. Returns how many went."""
    cutoff = int(time.time() if now is None else now)
    ended = RateCounter.objects.filter(window_start__lte=cutoff - F("window_seconds"))
    deleted, _ = ended.delete()
    return deleted
