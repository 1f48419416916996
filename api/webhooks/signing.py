"""Endpoint secrets: made, kept encrypted, and used to sign with the Standard Webhooks scheme.

A secret is `whsec_` + base64 of 32 random bytes, the form `standardwebhooks.Webhook` reads. It
is stored Fernet-encrypted: signing needs the secret itself, so a hash would not do, and a
leaked table without the key gives nobody a secret. The key is derived (HKDF-SHA256) from
settings.WEBHOOK_SECRET_KEY, which defaults to SECRET_KEY; keys in
WEBHOOK_SECRET_KEY_FALLBACKS still decrypt, so the key can be changed without losing secrets.
"""

from __future__ import annotations

import base64
import datetime
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet_key(key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"trunkpool webhook secrets"
    ).derive(key.encode())
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    keys = [settings.WEBHOOK_SECRET_KEY, *settings.WEBHOOK_SECRET_KEY_FALLBACKS]
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    """The secret in `token`; raises InvalidToken when no configured key opens it."""
    return _fernet().decrypt(token.encode()).decode()


__all__ = ["InvalidToken", "decrypt_secret", "encrypt_secret", "new_secret", "sign_headers"]


def sign_headers(
    *, webhook_id: str, timestamp: datetime.datetime, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, with one signature per secret,
    space-separated in `webhook-signature` (a receiver accepts any one that matches)."""
    signatures = [Webhook(s).sign(webhook_id, timestamp, body) for s in secrets]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
