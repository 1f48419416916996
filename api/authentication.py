"""`Authorization: Bearer tp_<prefix>_<secret>`: an access token, checked against its digest."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.replica import note_user
from api.models import ApiToken

TOKEN_PREFIX = "tp_"
LAST_USED_EVERY = datetime.timedelta(minutes=1)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_parts() -> tuple[str, str, str]:
    """(prefix, secret, the whole token the holder is shown once)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return prefix, secret, f"{TOKEN_PREFIX}{prefix}_{secret}"


class TokenAuthentication(authentication.BaseAuthentication):
    """A live token (not revoked, not expired, its user active) signs the request in as its
    user; `request.auth` is the ApiToken, which the scope permission reads."""

    keyword = "Bearer"
    INVALID = "The token is invalid, expired or revoked."

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as 'Authorization: Bearer <token>'."
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(self.INVALID) from None
        if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
            raise exceptions.AuthenticationFailed(self.INVALID)
        prefix, _, secret = raw[len(TOKEN_PREFIX) :].partition("_")
        now = timezone.now()
        token = (
            ApiToken.objects.live(now).select_related("user").filter(prefix=prefix).first()
            if prefix.isalnum()
            else None
        )
        if token is None or not hmac.compare_digest(token.digest, token_digest(secret)):
            raise exceptions.AuthenticationFailed(self.INVALID)
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
            # One conditional UPDATE: of concurrent calls in the same minute, one writes.
            ApiToken.objects.filter(pk=token.pk).exclude(
                last_used_at__gt=now - LAST_USED_EVERY
            ).update(last_used_at=now)
        # A token client is pinned to the primary after its writes, as a signed-in page is.
        note_user(token.user_id)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
