"""Reads of background jobs: a finished job's stored result, chunk by chunk."""

from __future__ import annotations

from collections.abc import Iterator

from jobs.models import JobChunk


def job_result_chunks(*, job) -> Iterator[bytes]:
    """A job's result, one chunk (one query) at a time, so a download holds one in memory."""
    ids = list(
        JobChunk.objects.filter(job=job, part=JobChunk.Part.RESULT)
        .order_by("seq")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        yield bytes(JobChunk.objects.values_list("data", flat=True).get(pk=pk))
