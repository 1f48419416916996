"""The one place the application sends email from.

A request never talks to SMTP: `send_after_commit` enqueues one `accounts.mail.send_email_once`
job per recipient inside the caller's transaction, so the job rows commit with the action or not
at all, and a worker (`manage.py db_worker`) sends after commit. A failed send is logged and
retried by the worker (core/tasks.py) and never turns a saved action into an error page.

It lives in accounts, the lowest app with models (the sent-log), so every app may send mail.
The task sits beside the sending it runs: accounts.services imports this module, never the
other way round.
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from core.tasks import longest_retry_window, task

from .models import SentEmail

mail_logger = logging.getLogger("trunkpool.mail")

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


@transaction.atomic
def email_send_once(*, key: str, to: str, subject: str, body: str, html: str | None = None) -> bool:
    """Send one email to `to`, unless the email `key` already went to that address.

    The sent-log row and the send share one transaction: a send that raises leaves no row, so a
    retry sends it; a send that returns commits its row, so a retry (or a second worker) skips
    it. Returns False when skipped. A failed send is logged, then raises whatever the email
    backend raised (so the job is retried). Call it from a job, one email per call: inside a
    longer transaction the row commits only with it. `html` is sent as an HTML alternative.
    """
    recipient = to.strip().lower()
    _, created = SentEmail.objects.get_or_create(key=key, recipient=recipient)
    if not created:
        return False
    subject = header_safe(subject)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], html_message=html)
    except Exception:
        mail_logger.exception("Email %r to %s could not be sent", subject[:80], to)
        raise
    return True


@task
def send_email_once(
    *,
    organization_id: int | None,
    key: str,
    to: str,
    subject: str,
    body: str,
    html: str | None = None,
) -> bool:
    """Send one email at most once per (`key`, `to`), however often the job is retried.

    Enqueue it inside the transaction of the action the email is about (send_after_commit does).
    `organization_id` counts a failure on that organization's admin dashboard; `html` is an
    optional HTML alternative to the plain-text `body`.
    """
    return email_send_once(key=key, to=to, subject=subject, body=body, html=html)


# Beyond the longest retry window: clocks of servers and cron drift, and a deploy may pause
# the workers for a while.
SENT_EMAIL_MARGIN = datetime.timedelta(days=1)


def sent_email_keep_problem() -> str | None:
    """Why settings.SENT_EMAIL_DAYS is too short to keep the sent-log, or None when it is not."""
    needed = longest_retry_window(send_email_once.module_path) + SENT_EMAIL_MARGIN
    if datetime.timedelta(days=settings.SENT_EMAIL_DAYS) >= needed:
        return None
    return (
        f"SENT_EMAIL_DAYS={settings.SENT_EMAIL_DAYS} keeps the sent-log for less than the email "
        f"task's longest retry window plus a day ({needed}); a retried email would go out twice."
    )


def sent_emails_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete sent-log rows older than settings.SENT_EMAIL_DAYS; returns how many went.

    A row is what stops a retried job from sending its email again, so it is never deleted
    while a retry could still come: raises ImproperlyConfigured (deleting nothing) when
    SENT_EMAIL_DAYS is shorter than that (see sent_email_keep_problem)."""
    problem = sent_email_keep_problem()
    if problem:
        raise ImproperlyConfigured(problem)
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.SENT_EMAIL_DAYS)
    deleted, _ = SentEmail.objects.filter(sent_at__lt=cutoff).delete()
    return deleted
