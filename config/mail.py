"""The one place the application sends email.

Every email is sent after the transaction that caused it commits, and a failure to send is
logged, never raised: a saved action must not turn into an error page because SMTP, or a header,
went wrong. (When email moves onto a task queue, only this module changes.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

logger = logging.getLogger("trunkpool.mail")

# CR, LF and every other character Python treats as a line break.
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def header_safe(text: str) -> str:
    """User-typed text made fit for a mail header: line breaks become single spaces."""
    return _LINE_BREAKS.sub(" ", str(text)).strip()


def deliver(*, subject: str, body: str, to: Sequence[str], html: str | None = None) -> bool:
    """Send one email now. Returns False (and logs why) when it could not be sent."""
    recipients = [address for address in to if address]
    if not recipients:
        return False
    try:
        message = EmailMultiAlternatives(
            header_safe(subject), body, settings.DEFAULT_FROM_EMAIL, recipients
        )
        if html is not None:
            message.attach_alternative(html, "text/html")
        message.send()
    except Exception:
        logger.exception("Email %r to %s could not be sent", header_safe(subject)[:80], recipients)
        return False
    return True


def send_after_commit(
    *, subject: str, body: str, to: Sequence[str], html: str | None = None
) -> None:
    """Send once the current transaction commits (at once outside one); never raises."""
    subject, to = header_safe(subject), list(to)
    transaction.on_commit(
        lambda: deliver(subject=subject, body=body, to=to, html=html), robust=True
    )
