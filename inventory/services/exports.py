"""Background export of the unit list as CSV, written in stored chunks with committed progress."""

from __future__ import annotations

import contextlib

from django.db import transaction
from django.http import QueryDict

from accounts.models import User
from accounts.selectors import actor_for
from core import csvsafe
from inventory.models import Unit
from inventory.selectors.units import (
    EXPORT_COLUMNS,
    UNIT_ORDER,
    export_row,
    filtered_units,
    unit_rows,
)
from jobs.models import Job, JobChunk
from jobs.services import ChunkWriter, CommittedProgress, job_finish, job_start

# The job kind of a background export (registered in inventory.apps).
EXPORT_JOB = "export"


@transaction.atomic
def units_export_begin(*, actor: User, params: dict[str, list[str]]) -> Job:
    """Enqueue an export of the unit list as filtered by `params` (the list's GET parameters,
    each a list of values). The worker applies them to what the user may see when it runs."""
    return job_start(actor=actor, kind=EXPORT_JOB, params={"filter": params})


def job_run_export(*, job_id: int) -> None:
    """Run a background export: every unit the owner may see that the saved filter matches,
    with no row cap, read through a server-side cursor (`iterator`) and written as ~1 MB
    result chunks; memory stays flat however many rows. The chunks and the "done" mark commit
    together (on PostgreSQL one read transaction holds the cursor), so a retried job starts
    over cleanly; progress commits on a connection of its own meanwhile.

    One run at a time: a run first claims the job (a lock held until it ends, released too if
    its worker dies); a second run of the same job, such as a slow export the sweeper put back,
    finds it claimed and does nothing."""
    progress = CommittedProgress(job_id)
    try:
        if progress.claim():
            _export(job_id, progress)
    finally:
        progress.close()


def _export(job_id: int, progress: CommittedProgress) -> None:
    job = Job.objects.select_related("owner").get(pk=job_id)
    if job.is_finished:
        return
    user = job.owner
    actor = actor_for(user)
    query = QueryDict(mutable=True)
    for name, values in job.params.get("filter", {}).items():
        query.setlist(name, values)
    _, qs, valid = filtered_units(params=query, actor=actor, queryset=Unit.objects.visible_to(user))
    if not user.is_active or not valid:
        with transaction.atomic():
            job_finish(job, status=Job.Status.FAILED, problems=["The export could not start."])
        return
    JobChunk.objects.filter(job=job, part=JobChunk.Part.RESULT).delete()  # an earlier try's
    job.total = qs.count()
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, stage="Writing rows", processed=0, total=job.total
    )
    rows = unit_rows(qs).order_by(*UNIT_ORDER)
    reading = transaction.atomic() if progress.own is not None else contextlib.nullcontext()
    with reading:
        out = ChunkWriter(job)
        writer = csvsafe.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        for unit in rows.iterator(chunk_size=2000):
            writer.writerow(export_row(unit=unit, actor=actor))
            count += 1
            if out.full():
                out.save()
                progress.set(count)
        out.save()
        with transaction.atomic():
            job_finish(job, status=Job.Status.DONE, result_count=count)
