"""Background jobs: what django-tasks-db does not do, for every app to use.

Jobs are rows of `django_tasks_db.DBTaskResult` in the app's own database: a job enqueued inside
a service's `transaction.atomic()` commits with the service's writes or not at all, and workers
(`manage.py db_worker`) claim ready jobs with `SELECT ... FOR UPDATE SKIP LOCKED`. This module
adds, on top of that:

- `task`: declares a job that is retried on failure. The same job row goes back to READY with
  `run_after` = now + back-off (doubling from TASK_RETRY_BACKOFF, capped at
  TASK_RETRY_BACKOFF_MAX) until it has been tried `max_attempts` times (TASK_MAX_ATTEMPTS);
  then it stays FAILED and the failure is logged. A retried job must be safe to run again:
  emails go through `accounts.mail.email_send_once`.
- `put_back_lost`: puts back a job left RUNNING by a worker that died (jobs.leases finds them).
- `failed_job_count`: what an organization's admins see on their dashboard.

A job's attempts are counted by the library itself: every claim appends the worker's id to
`worker_ids`. A job that is to count towards an organization's failures takes an
`organization_id` keyword argument.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

import django_tasks
from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.signals import task_finished
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("trunkpool.tasks")

# Task module path -> attempts allowed (None: TASK_MAX_ATTEMPTS). A task declared straight
# with django_tasks.task is not in here and is tried once.
_max_attempts: dict[str, int | None] = {}

# Shown on the dashboard: failures older than this are in the logs, not in the count.
FAILED_JOBS_WINDOW = datetime.timedelta(days=7)


def task(function: Callable | None = None, *, max_attempts: int | None = None, **options: Any):
    """`django_tasks.task`, retried on failure up to `max_attempts` tries in all."""
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def declare(func: Callable) -> django_tasks.base.Task:
        declared = django_tasks.task(func, **options)
        _max_attempts[declared.module_path] = max_attempts
        return declared

    return declare(function) if function is not None else declare


def attempts_allowed(task_path: str) -> int:
    """How many times the task at `task_path` may run in all (1 if it is not ours)."""
    if task_path not in _max_attempts:
        return 1
    allowed = _max_attempts[task_path]
    return settings.TASK_MAX_ATTEMPTS if allowed is None else allowed


def retry_delay(attempts: int) -> datetime.timedelta:
    """The wait before the next try, after `attempts` failed tries: doubling, capped."""
    seconds = settings.TASK_RETRY_BACKOFF * 2 ** (attempts - 1)
    return datetime.timedelta(seconds=min(seconds, settings.TASK_RETRY_BACKOFF_MAX))


def longest_retry_window(task_path: str) -> datetime.timedelta:
    """The longest time from one attempt of the task at `task_path` starting to its last
    attempt starting: every back-off wait, plus, for each attempt, a worker that dies with the
    job RUNNING, whose lease runs out after TASK_LEASE and is found by the next sweep, made every
    TASK_LEASE_SWEEP (jobs.leases). Whatever a job remembers to stay idempotent (the sent-log) must be kept
    at least this long, or a retry would act twice."""
    allowed = attempts_allowed(task_path)
    waits = sum((retry_delay(n) for n in range(1, allowed)), datetime.timedelta())
    lost = datetime.timedelta(seconds=settings.TASK_LEASE + settings.TASK_LEASE_SWEEP)
    return waits + allowed * lost


@receiver(task_finished, dispatch_uid="trunkpool.tasks.retry_failed")
def _retry_failed(sender, task_result, **kwargs) -> None:
    # The worker has just saved the job FAILED; this runs in the same worker, right after.
    if task_result.status != TaskResultStatus.FAILED:
        return
    try:
        _retry_or_give_up(task_result)
    except Exception:
        # An error here would kill the worker; the job stays FAILED, which is visible.
        logger.exception("Could not schedule a retry of job id=%s", task_result.id)


def _retry_or_give_up(task_result) -> None:
    path = task_result.task.module_path
    attempts = len(task_result.worker_ids)
    allowed = attempts_allowed(path)
    if attempts >= allowed:
        logger.error(
            "Job id=%s path=%s failed for good after %d attempt(s)", task_result.id, path, attempts
        )
        return
    run_after = timezone.now() + retry_delay(attempts)
    retried = DBTaskResult.objects.filter(id=task_result.id, status=TaskResultStatus.FAILED).update(
        status=TaskResultStatus.READY, run_after=run_after, finished_at=None
    )
    if retried:
        logger.warning(
            "Job id=%s path=%s failed (attempt %d of %d); retrying after %s",
            task_result.id,
            path,
            attempts,
            allowed,
            run_after.isoformat(),
        )


class WorkerLost(Exception):
    """Recorded on a job whose worker stopped answering and that has no attempts left."""


def put_back_lost(job: DBTaskResult, *, now: datetime.datetime, why: str) -> str | None:
    """Put back a RUNNING job whose worker is gone (jobs.leases decides that): with attempts
    left it becomes READY at once, and the next claim counts as its next attempt; without, it
    is FAILED (WorkerLost, `why` as its traceback). One conditional UPDATE on (status,
    started_at), so a worker that finishes or claims it meanwhile, or a second sweeper, wins or
    loses cleanly. Returns "requeued", "failed", or None when the job had moved on."""
    _import_task(job)
    same_claim = DBTaskResult.objects.filter(
        id=job.id, status=TaskResultStatus.RUNNING, started_at=job.started_at
    )
    if len(job.worker_ids) < attempts_allowed(job.task_path):
        if same_claim.update(status=TaskResultStatus.READY, run_after=now):
            logger.warning("Job id=%s path=%s lost its worker; requeued", job.id, job.task_path)
            return "requeued"
    elif same_claim.update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=f"{why}\n",
    ):
        logger.error("Job id=%s path=%s lost its worker; failed for good", job.id, job.task_path)
        return "failed"
    return None


def _import_task(job: DBTaskResult) -> None:
    # Importing the task's module registers its retry policy in _max_attempts.
    try:
        job.task  # noqa: B018
    except Exception:
        logger.warning("Job id=%s: task %s cannot be imported", job.id, job.task_path)


def failed_job_count(*, organization_id: int) -> int:
    """Jobs of the organization (by their `organization_id` argument) that failed for good
    within FAILED_JOBS_WINDOW. One query, on the partial index of failed jobs."""
    return (
        DBTaskResult.objects.failed()
        .filter(
            finished_at__gte=timezone.now() - FAILED_JOBS_WINDOW,
            args_kwargs__kwargs__organization_id=organization_id,
        )
        .count()
    )
