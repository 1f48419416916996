"""Tokens for API tests: made the way the app stores them (digest only)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from api.authentication import new_token_parts, token_digest
from api.models import ApiToken, TokenScope


def token_for(user, scope=TokenScope.WRITE, *, days: int = 1) -> str:
    prefix, secret, raw = new_token_parts()
    ApiToken.objects.create(
        user=user,
        name="test",
        prefix=prefix,
        digest=token_digest(secret),
        scope=scope,
        created_by=user,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    return raw


def bearer(user, scope=TokenScope.WRITE) -> dict:
    """Headers for Django's test client."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(user, scope)}"}
