"""Running jobs in tests: the real database backend and the real worker, in batch mode.

Also the jobs the queue tests enqueue; they live in an importable module because a worker
process finds a job's function by its dotted path.
"""

import signal
import time
from smtplib import SMTPServerDisconnected
from unittest import mock

import django_tasks
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from accounts.mail import email_send_once
from accounts.models import SentEmail
from core.tasks import task

PROBE_RECIPIENT = "probe@example.com"


def run_worker() -> None:
    """`manage.py db_worker --batch` in this process: run every ready job, then return."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    # Between jobs the worker drops connections that are not in autocommit mode; inside a
    # test's transaction that would be the test's own connection.
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        try:
            call_command(
                "db_worker",
                batch=True,
                queue_name="*",
                interval=0,
                startup_delay=False,
                reload=False,
                worker_id="test-worker",
                verbosity=0,
            )
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def job_row(result) -> DBTaskResult:
    return DBTaskResult.objects.get(id=result.id)


def make_due(result) -> None:
    """Let the back-off pass without waiting for it."""
    DBTaskResult.objects.filter(id=result.id).update(run_after="2000-01-01T00:00:00Z")


@task
def always_fails(*, organization_id: int | None = None) -> None:
    raise RuntimeError("the outside service is down")


@task(max_attempts=1)
def fails_once_only_declared(*, organization_id: int | None = None) -> None:
    raise RuntimeError("not worth retrying")


@django_tasks.task
def plain_failing_task() -> None:
    raise RuntimeError("declared straight with django_tasks.task")


@task
def fails_first_time(*, key: str) -> str:
    # The marker row commits on its own (a job runs in autocommit), so the retry sees it.
    _, first = SentEmail.objects.get_or_create(key=key, recipient=PROBE_RECIPIENT)
    if first:
        raise RuntimeError("first try fails")
    return "done"


@task
def email_three(*, key: str, to: list[str]) -> None:
    """A notification to several people, one email each (the pattern for notification jobs)."""
    for address in to:
        email_send_once(key=key, to=address, subject="Transfer waiting", body="Please look.")


class FailsOnSecondEmail(EmailBackend):
    """Delivers to locmem's outbox, but the second email of the test fails like a dropped SMTP
    connection."""

    emails_tried = 0

    def send_messages(self, messages):
        for message in messages:
            type(self).emails_tried += 1
            if type(self).emails_tried == 2:
                raise SMTPServerDisconnected("Connection unexpectedly closed")
            super().send_messages([message])
        return len(messages)


@task(max_attempts=1)
def record_once(*, n: int) -> None:
    """Takes effect by inserting the row `probe:<n>`: a second run would violate the unique
    constraint and fail the job, so every job SUCCESSFUL means every job ran exactly once."""
    _wait_for_gate()
    SentEmail.objects.create(key=f"probe:{n}", recipient=PROBE_RECIPIENT)


GATE_KEY = "probe:gate"


def open_gate() -> None:
    SentEmail.objects.create(key=GATE_KEY, recipient=PROBE_RECIPIENT)


def _wait_for_gate(timeout: float = 60) -> None:
    # Holds each worker on its first job until the test has seen both workers claim one, so
    # the run always shares the jobs between two processes.
    deadline = time.monotonic() + timeout
    while not SentEmail.objects.filter(key=GATE_KEY).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.05)


# --- Killed workers (tests/test_workers.py) ---------------------------------------------------

HOLDING = "HOLDING: the import's units and its 'done' are written, not committed"


@task(max_attempts=3, takes_context=True)
def import_held_on_first_try(context, *, organization_id: int, job_id: int) -> None:
    """The unit import's task (inventory.tasks.import_units), except that its first try stops
    inside its finishing transaction, after the units and the job's "done" are written and
    before they commit, and says so on stdout: the test kills its worker there."""
    from inventory.services import imports
    from jobs.services import job_run

    if context.attempt == 1:
        finish = imports.job_finish

        def finish_then_hold(job, **kwargs):
            finish(job, **kwargs)
            print(HOLDING, flush=True)
            time.sleep(120)

        imports.job_finish = finish_then_hold  # this worker process only
    job_run(context=context, run=imports.job_run_import, job_id=job_id)


@task(max_attempts=3)
def slow_then_record(*, key: str, seconds: float) -> None:
    """A healthy long job: works for `seconds`, then records its one effect (a second run would
    add a row the unique sent-log refuses)."""
    time.sleep(seconds)
    SentEmail.objects.create(key=key, recipient=PROBE_RECIPIENT)
