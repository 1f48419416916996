"""Background jobs: a long import or export a worker runs, its progress, and its stored files."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.selectors import actor_for

from . import kinds


class JobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Each user sees their own jobs; admins see every job of their organization."""
        if not user.is_authenticated or user.organization_id is None:
            return self.none()
        qs = self.filter(organization_id=user.organization_id)
        if actor_for(user).is_admin:
            return qs
        return qs.filter(owner_id=user.pk)


class Job(models.Model):
    """A long piece of work (a large import or export) that a worker runs in the background,
    with its progress. What it does is its `kind` (jobs.kinds), registered by the app it serves.

    The file it works on and the file it makes are `JobChunk` rows, never files on a server's
    disk, so any app server shows the progress and serves the result. `processed` of `total`
    is committed while the work goes on (jobs.services); results are pruned after
    settings.JOB_RESULT_DAYS (`manage.py prune_job_results`).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)  # a registered jobs.kinds name
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=60, blank=True)  # what the worker is at, for people
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # What the kind needs to run, e.g. an export's filter (GET lists).
    params = models.JSONField(default=dict, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    # What the job made (units imported, rows exported) and what stopped it (line errors).
    result_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind=""), name="jobs_job_kind_given"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="jobs_job_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "owner", "-created_at"]),
            models.Index(fields=["finished_at"]),
        ]

    def __str__(self):
        return f"{self.kind_label} #{self.pk}"

    @property
    def kind_info(self) -> kinds.JobKind:
        return kinds.describe(self.kind)

    @property
    def kind_label(self) -> str:
        return self.kind_info.label

    @property
    def done_text(self) -> str:
        return self.kind_info.done_message(self.result_count)

    @property
    def result_link_text(self) -> str:
        return self.kind_info.result_label(self.result_count)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(100, self.processed * 100 // self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class JobChunk(models.Model):
    """One piece (about settings.JOB_CHUNK_BYTES) of a job's uploaded file or of its result."""

    class Part(models.TextChoices):
        UPLOAD = "upload", "Upload"
        RESULT = "result", "Result"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    part = models.CharField(max_length=10, choices=Part.choices)
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "part", "seq"], name="jobs_chunk_unique_seq"),
        ]

    def __str__(self):
        return f"{self.job} {self.part} {self.seq}"


class TaskLease(models.Model):
    """The lease a worker holds on the queued task it runs (jobs.leases): renewed while the task
    runs; one that ran out means the worker is gone. django-tasks-db's DBTaskResult has no
    heartbeat column, so the lease lives beside it here, one row per running task."""

    # DBTaskResult.id. No foreign key: the library owns that table and deletes its rows.
    task_id = models.UUIDField(primary_key=True)
    worker_id = models.CharField(max_length=64)
    # The claim the lease is for (DBTaskResult.started_at): a task claimed again is a new claim.
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.task_id} held by {self.worker_id} until {self.expires_at}"
