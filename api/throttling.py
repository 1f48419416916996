"""Throttling per token and per user, counted in the database every app server shares.

A fixed window per key, counted by accounts.ratelimit (one atomic upsert, so two servers behind
one balancer never lose a count). Limits come from settings (`API_THROTTLE_RATES`); a 429
carries Retry-After, the seconds until the window ends.
"""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts.ratelimit import hit, parse_rate
from api.models import ApiToken


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
        now = time.time()
        for key, rate in checks:
            limit, window = parse_rate(rate)
            count, left = hit(key, window, now)
            if count > limit:
                self._wait = left
                return False
        return True

    def wait(self):
        return self._wait
