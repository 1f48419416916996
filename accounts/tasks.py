"""Jobs of accounts, run by `manage.py db_worker` (config/tasks.py adds the retries)."""

from config.tasks import task

from .services import email_send_once


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

    Enqueue it inside the transaction of the action the email is about (accounts.mail does).
    `organization_id` counts a failure on that organization's admin dashboard; `html` is an
    optional HTML alternative to the plain-text `body`.
    """
    return email_send_once(key=key, to=to, subject=subject, body=body, html=html)
