"""Leases on running tasks: a job whose worker died is picked up again within minutes.

django-tasks-db marks a claimed task RUNNING and never looks at it again, and its table has no
heartbeat column. So the lease lives in our own table, `jobs.TaskLease` (one row per running
task, keyed by the DBTaskResult's id):

- The worker (`manage.py db_worker`: jobs' subclass of the library's) takes the lease as it
  starts a task; its `LeaseKeeper` thread renews it every TASK_LEASE/3 seconds on a connection
  of its own for as long as the task runs, however long that is; the worker drops it after.
- A lease that ran out means its worker is gone (SIGKILL, a lost machine). `tasks_sweep` puts
  such a task back to READY for another worker (core.tasks.put_back_lost); the next claim counts
  as its next attempt, and a task out of attempts fails for good, with its job (the jobs.Job
  row) failed and its owner told. A claim with no lease at all (the worker died between claiming
  and leasing) counts as expired TASK_LEASE after it started.
- Every worker's keeper sweeps every TASK_LEASE_SWEEP seconds (first after a random part of
  it, so workers started together spread out); `manage.py sweep_tasks` sweeps once, from cron,
  for hosts that run no worker. A dead worker's task is back in the queue within TASK_LEASE +
  TASK_LEASE_SWEEP seconds (3 minutes by default).

A task put back runs again, perhaps while a worker that only stalled (not died) still runs it.
Each task therefore takes effect once however often it runs:
- unit import: the units and the job's "done" (with its notice) commit in one transaction, and
  a run that finds the job finished does nothing (inventory.services.imports);
- unit export: the result chunks and "done" commit in one transaction; a run first claims the
  job with a session lock that a dead worker's connection releases (inventory.services.exports);
- full export: the same claim; its chunks commit as written, and a re-run drops an earlier try's
  before writing its own, so the job keeps one result (api.services.export);
- email: the sent-log row and the send share one transaction (accounts.mail.email_send_once).
  SMTP has no transaction: a kill after the server took the message and before the commit sends
  it again (at least once, never lost);
- webhook delivery: the delivery's own lease and `webhook-id` (api.webhooks.delivery).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.tasks import put_back_lost
from jobs import kinds
from jobs.models import Job, TaskLease
from jobs.services import job_give_up

logger = logging.getLogger("trunkpool.tasks")


def lease_length() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.TASK_LEASE)


def lease_take(*, task_id, worker_id: str, claimed_at: datetime.datetime) -> None:
    """Hold the task `task_id` for this claim (replacing an earlier claim's lease)."""
    TaskLease.objects.update_or_create(
        task_id=task_id,
        defaults={
            "worker_id": worker_id,
            "claimed_at": claimed_at,
            "expires_at": timezone.now() + lease_length(),
        },
    )


def lease_renew(*, task_id, worker_id: str, claimed_at: datetime.datetime) -> bool:
    """Extend the lease; False when it is no longer this worker's (swept: the task was put back
    for another worker, so the run going on here may be repeated)."""
    return bool(
        TaskLease.objects.filter(
            task_id=task_id, worker_id=worker_id, claimed_at=claimed_at
        ).update(expires_at=timezone.now() + lease_length())
    )


def lease_drop(*, task_id, worker_id: str, claimed_at: datetime.datetime) -> None:
    TaskLease.objects.filter(task_id=task_id, worker_id=worker_id, claimed_at=claimed_at).delete()


def tasks_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Put back every RUNNING task whose lease ran out (see the module's docstring), and forget
    leases long out of use. Returns how many tasks were requeued and failed.

    Each task is decided under its lease's row lock, so a renewal waits and then finds the lease
    gone; the put-back itself is conditional on the claim (core.tasks.put_back_lost)."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    running = DBTaskResult.objects.running().only(
        "id", "task_path", "worker_ids", "started_at", "args_kwargs"
    )
    for job in running:
        with transaction.atomic():
            lease = (
                TaskLease.objects.select_for_update()
                .filter(task_id=job.id, claimed_at=job.started_at)
                .first()
            )
            held_until = lease.expires_at if lease else job.started_at + lease_length()
            if held_until >= now:
                continue
            worker = lease.worker_id if lease else "its worker"
            outcome = put_back_lost(
                job, now=now, why=f"The lease of {worker} ran out at {held_until.isoformat()}."
            )
            if lease is not None:
                lease.delete()
        if outcome is not None:
            counts[outcome] += 1
        if outcome == "failed":
            _fail_its_job(job)
    # A worker that died after its task ended, before it dropped the lease, leaves one behind.
    TaskLease.objects.filter(expires_at__lt=now - lease_length()).delete()
    return counts


def _fail_its_job(task_result: DBTaskResult) -> None:
    # A job kind's task failed for good without raising: fail its job as its last raise would.
    job_id = (task_result.args_kwargs or {}).get("kwargs", {}).get("job_id")
    if job_id is not None and task_result.task_path in kinds.task_paths():
        with contextlib.suppress(Job.DoesNotExist):  # pruned meanwhile: nobody waits for it
            job_give_up(job_id=job_id)


class LeaseKeeper(threading.Thread):
    """A worker process's lease keeper: renews the lease on the task the worker runs and
    sweeps (`tasks_sweep`), on a database connection of its own (Django's are per thread).
    A database error is logged and tried again on the next tick; the keeper never stops the
    worker."""

    def __init__(self, *, worker_id: str):
        super().__init__(name=f"lease-keeper-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self._held: tuple | None = None  # (task_id, claimed_at) while the worker runs a task
        self._held_lock = threading.Lock()
        self._stopping = threading.Event()
        self.tick = min(settings.TASK_LEASE / 3, settings.TASK_LEASE_SWEEP)

    # Called by the worker's own thread, around each task.

    def hold(self, task_result: DBTaskResult) -> None:
        claim = (task_result.id, task_result.started_at)
        with self._held_lock:
            self._held = claim
        try:
            lease_take(task_id=claim[0], worker_id=self.worker_id, claimed_at=claim[1])
        except Exception:
            # The task still runs: the keeper's next renewal takes no lease either, so without
            # one the task counts as lost TASK_LEASE after its claim and may run once more.
            logger.exception("Worker %s could not lease job id=%s", self.worker_id, claim[0])

    def release(self) -> None:
        with self._held_lock:
            claim, self._held = self._held, None
        if claim is None:
            return
        try:
            lease_drop(task_id=claim[0], worker_id=self.worker_id, claimed_at=claim[1])
        except Exception:  # the sweep forgets it once it has long run out
            logger.exception("Worker %s could not drop its lease", self.worker_id)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=30)

    # The keeper's thread.

    def run(self) -> None:
        next_sweep = time.monotonic() + random.random() * settings.TASK_LEASE_SWEEP  # noqa: S311
        try:
            while not self._stopping.wait(self.tick):
                try:
                    self._renew()
                    if time.monotonic() >= next_sweep:
                        next_sweep = time.monotonic() + settings.TASK_LEASE_SWEEP
                        counts = tasks_sweep()
                        if any(counts.values()):
                            logger.warning("Lease sweep by %s: %s", self.worker_id, counts)
                except Exception:
                    logger.exception("Lease keeper of %s: database error", self.worker_id)
                    connection.close()  # a fresh connection on the next tick
        finally:
            connection.close()

    def _renew(self) -> None:
        with self._held_lock:
            claim = self._held
        if claim is None:
            return
        if not lease_renew(task_id=claim[0], worker_id=self.worker_id, claimed_at=claim[1]):
            with self._held_lock:  # said once; the task runs on to its end here
                if self._held == claim:
                    self._held = None
            logger.warning(
                "Worker %s lost its lease on job id=%s: it was put back for another worker",
                self.worker_id,
                claim[0],
            )
