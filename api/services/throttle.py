"""Housekeeping of the shared throttle counters (api.throttling)."""

from __future__ import annotations

import time

from django.conf import settings

from api.models import ThrottleBucket
from api.throttling import parse_rate


def throttle_buckets_prune(*, now: float | None = None) -> int:
    """Delete the counters of windows that have ended: those that started more than the
    longest window of settings.API_THROTTLE_RATES ago (every shorter window has ended too).
    A window still open is never touched, so no caller gains calls. Returns how many went."""
    longest = max(parse_rate(rate)[1] for rate in settings.API_THROTTLE_RATES.values())
    cutoff = int(time.time() if now is None else now) - longest
    deleted, _ = ThrottleBucket.objects.filter(window_start__lt=cutoff).delete()
    return deleted
