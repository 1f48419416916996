"""The one place the application sends email from.

A request never talks to SMTP: `send_after_commit` enqueues one `accounts.tasks.send_email_once`
job per recipient inside the caller's transaction, so the job rows commit with the action or not
at all, and a worker (`manage.py db_worker`) sends after commit. A failed send is logged and
retried by the worker (config/tasks.py) and never turns a saved action into an error page.

It lives in accounts, the lowest app, so every app may send mail without config (plumbing that
imports no app) reaching back into one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

# CR, LF and every other character Python treats as a line break.
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def header_safe(text: str) -> str:
    """User-typed text made fit for a mail header: line breaks become single spaces."""
    return _LINE_BREAKS.sub(" ", str(text)).strip()


def send_after_commit(
    *,
    subject: str,
    body: str,
    to: Sequence[str],
    html: str | None = None,
    organization_id: int | None = None,
    key: str | None = None,
) -> None:
    """Enqueue the email, one job per address, in the current transaction (or at once outside
    one); a worker sends it once the transaction commits.

    `key` names the email in the sent-log (accounts.SentEmail): a job retried, or the same key
    enqueued again, never sends it twice to one address. Without a key each call is a new email
    (a fresh key is made now, so every retry of its jobs shares it). `organization_id` counts a
    job that fails for good on that organization's admin dashboard.
    """
    # accounts.services imports this module; the task module imports accounts.services.
    from .tasks import send_email_once

    subject = header_safe(subject)
    key = key or f"mail:{uuid.uuid4().hex}"
    for address in dict.fromkeys(a.strip() for a in to if a and a.strip()):
        send_email_once.enqueue(
            organization_id=organization_id,
            key=key,
            to=address,
            subject=subject,
            body=body,
            html=html,
        )
