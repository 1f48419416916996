"""Every write to background jobs: starting one of a registered kind, its stored chunks and
committed progress, finishing it (with the owner's notice), giving up and pruning.

The kind's own app does the work (inventory.services.imports, for example): it starts the job
here, runs it from its task through `job_run`, and finishes it here."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, User
from accounts.services import notify
from core import outbox
from core.tasks import attempts_allowed
from jobs import kinds
from jobs.models import Job, JobChunk

MAX_JOB_PROBLEMS = 1000  # problems (an import's line errors) kept on a job; the rest are counted


def job_start(
    *,
    actor: User,
    kind: str,
    params: dict | None = None,
    filename: str = "",
    total: int = 0,
    upload: bytes | None = None,
) -> Job:
    """Create a job of a registered `kind` owned by `actor`, store its uploaded file, and
    enqueue the kind's task, all in the caller's transaction: the job and its queue row commit
    together or not at all. Raises LookupError for a kind no app registered."""
    task = kinds.get(kind).task
    job = Job.objects.create(
        organization_id=actor.organization_id,
        owner=actor,
        kind=kind,
        params=params or {},
        filename=filename[:255],
        total=total,
    )
    if upload is not None:
        store_chunks(job, JobChunk.Part.UPLOAD, upload)
    task.enqueue(organization_id=actor.organization_id, job_id=job.pk)
    return job


def job_run(*, context, run: Callable[..., None], job_id: int) -> None:
    """The body of a job kind's task: `run(job_id=...)`, and after the last try that raised,
    the job is marked failed (and its owner told) before the error reaches the queue row;
    earlier tries are retried by core.tasks."""
    try:
        run(job_id=job_id)
    except Exception:
        if context.attempt >= attempts_allowed(context.task_result.task.module_path):
            job_give_up(job_id=job_id)
        raise


def store_chunks(job: Job, part: str, data: bytes) -> None:
    size = settings.JOB_CHUNK_BYTES
    JobChunk.objects.bulk_create(
        JobChunk(job=job, part=part, seq=seq, data=data[start : start + size])
        for seq, start in enumerate(range(0, len(data), size))
    )


def job_bytes(job: Job, part: str) -> bytes:
    chunks = JobChunk.objects.filter(job=job, part=part).order_by("seq")
    return b"".join(bytes(data) for data in chunks.values_list("data", flat=True))


class CommittedProgress:
    """Progress written through a database connection of its own, so it commits while the
    export's read transaction is still open. The row is updated only when nobody holds its
    lock (SKIP LOCKED): progress never waits on, or deadlocks with, the job's own work.
    SQLite (one writer at a time) exports without the read transaction and updates in place."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.own = None
        self.claimed = False
        if connection.vendor == "postgresql":
            self.own = connections.create_connection(DEFAULT_DB_ALIAS)

    # The first key of the export claim's advisory lock (the second is the job's id).
    CLAIM_SPACE = 0x6A6F62  # "job"

    def claim(self) -> bool:
        """Take this job for this run: False when another run holds it. A session lock on the
        progress connection, held until `close` (or until a dead worker's connection drops);
        it blocks no row, so progress and the result keep writing. SQLite runs one writer."""
        if self.own is None:
            return True
        with self.own.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [self.CLAIM_SPACE, self.job_id])
            self.claimed = bool(cursor.fetchone()[0])
            return self.claimed

    def set(self, processed: int) -> None:
        if self.own is None:
            Job.objects.filter(pk=self.job_id).update(processed=processed)
            return
        table = Job._meta.db_table
        with self.own.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET processed = %s WHERE id IN "  # noqa: S608 (our own table name)
                f"(SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                [processed, self.job_id],
            )

    def close(self) -> None:
        if self.own is None:
            return
        try:
            if self.claimed:
                # With DATABASE_POOL the connection goes back to the pool still open, and a
                # session lock would stay with it: another worker could never claim the job.
                with self.own.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [self.CLAIM_SPACE, self.job_id]
                    )
                self.claimed = False
        finally:
            self.own.close()


class ChunkWriter:
    """A file-like target for the CSV writer that saves every settings.JOB_CHUNK_BYTES of text
    as the next result chunk, so memory holds one chunk whatever the export's length."""

    def __init__(self, job: Job):
        self.job = job
        self.buffer = io.StringIO()
        self.seq = 0

    def write(self, text: str) -> None:
        self.buffer.write(text)

    def full(self) -> bool:
        return self.buffer.tell() >= settings.JOB_CHUNK_BYTES

    def save(self) -> None:
        data = self.buffer.getvalue().encode()
        if data:
            JobChunk.objects.create(
                job=self.job, part=JobChunk.Part.RESULT, seq=self.seq, data=data
            )
            self.seq += 1
        self.buffer = io.StringIO()


def job_give_up(*, job_id: int) -> None:
    """Mark a job failed after its last try raised (the error itself is in the worker's log),
    unless another run finished it: the check waits for that run's row lock, so a job that
    run is finishing is not finished (and its owner told) a second time."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if not job.is_finished:
            job_finish(
                job,
                status=Job.Status.FAILED,
                problems=["The job stopped on an error; try again, or ask an admin."],
            )


def job_finish(
    job: Job, *, status: str, result_count: int = 0, problems: Sequence[str] = ()
) -> None:
    """Record the outcome (inside the caller's transaction), drop the upload, tell the owner.
    Each caller makes sure a job finishes once: the import's endings and job_give_up re-check
    `is_finished` under the job's row lock; an export checks it once, under its run's claim."""
    kept = list(problems[:MAX_JOB_PROBLEMS])
    if len(problems) > MAX_JOB_PROBLEMS:
        kept.append(f"… and {len(problems) - MAX_JOB_PROBLEMS:,} more problems.")
    job.status, job.stage, job.finished_at = status, "", timezone.now()
    job.result_count, job.problems = result_count, kept
    if status == Job.Status.DONE:
        job.processed = job.total
    job.save(
        update_fields=["status", "stage", "finished_at", "result_count", "problems", "processed"]
    )
    JobChunk.objects.filter(job=job, part=JobChunk.Part.UPLOAD).delete()
    notify_job_done(job)
    outbox.emit(organization_id=job.organization_id, type=outbox.JOB_FINISHED, data=job_data(job))


def job_data(job: Job) -> dict:
    """A finished job as the outbox tells it: its outcome and counts. Its problems are left
    out: an import's line errors quote the uploaded file."""
    return {
        "job": {
            "id": job.pk,
            "kind": job.kind,
            "status": job.status,
            "owner_id": job.owner_id,
            "result_count": job.result_count,
            "problem_count": len(job.problems),
            "created_at": job.created_at,
            "finished_at": job.finished_at,
        }
    }


def notify_job_done(job: Job) -> None:
    """The one place a finished job tells its owner, in-app and (unless they turned it off) by
    email; called in the transaction that finishes the job, so a retried job tells once."""
    what = job.kind_label.lower()
    outcome = "is done" if job.status == Job.Status.DONE else "failed"
    notify(
        recipients=[job.owner_id],
        kind=NotificationKind.JOB_DONE,
        actor=None,
        organization_id=job.organization_id,
        summary=f"Your {what} #{job.pk} {outcome}",
        url=reverse("jobs:job_detail", args=[job.pk]),
        email_key=f"job-done:{job.pk}",
    )


def jobs_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete jobs finished more than settings.JOB_RESULT_DAYS ago, with their files and
    results. Returns how many jobs went."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.JOB_RESULT_DAYS)
    old = Job.objects.filter(finished_at__lt=cutoff)
    JobChunk.objects.filter(job__in=old).delete()
    deleted, _ = old.delete()
    return deleted
