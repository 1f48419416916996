"""A full export of one organization: everything it holds, for an admin to take away.

The organization's data is theirs (issue 19): units, the custody ledger, transfers, events and
their lines and comments, recalls, par levels, label mismatches, the catalog and the directory
(products, locations, facilities, physicians, procedures), and its people and groups. It is a
background job (jobs app) whose result is one zip file, kept as JobChunk rows like every job's:

- CSV: one `<table>.csv` per table, a header row of column names then one row per record, every
  cell through core.csvsafe (formula-safe, quoted). Dates and times are ISO 8601, booleans
  true/false, JSON values (a recall's lot numbers) JSON text, an empty cell NULL.
- JSON: one `<table>.jsonl` per table, JSON Lines: one object per record, keyed by column, so a
  program reads a table of millions of rows a line at a time. Dates and times are ISO 8601.
- Both end with `manifest.json`: the organization, when, the format, each table's file, columns
  and row count, and what is left out and why.

Columns are the tables' own (foreign keys as `<name>_id`), so the files join as the database
does. Left out: password hashes, the ledger's transaction id (meaningful only inside this
database), and the tables in LEFT_OUT, none of them the organization's records. Events keep
their patient reference: admins see it on every event and recall page, and a patient
reference is anonymous by rule ("never a name"); the file goes only to admins.

Flat memory: each table is read in primary-key order through a server-side cursor and written
straight into the zip, whose compressed bytes are stored a chunk (JOB_CHUNK_BYTES) at a time.
On PostgreSQL every table is read in one REPEATABLE READ transaction, so the files agree with
each other (every unit's last ledger entry is in the ledger file) however long the export runs;
that transaction only reads (chunks and progress go through connections of their own), so it
never holds back the ledger feed, which waits for every older transaction that wrote.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone

from accounts.models import DistributorGroup, GroupChange, GroupMembership, Organization, User
from accounts.policies import can_export_organization
from accounts.selectors import actor_for
from core import csvsafe
from events.models import Comment, Event, EventLine, Mention, Physician, Procedure
from inventory.models import (
    CustodyEntry,
    Facility,
    LabelMismatch,
    Location,
    ParLevel,
    Product,
    Recall,
    RecallReturn,
    RecallUnit,
    Transfer,
    TransferLine,
    Unit,
)
from jobs.models import Job, JobChunk
from jobs.services import CommittedProgress, job_finish, job_start

# The job kind (registered in api.apps).
ORG_EXPORT_JOB = "org_export"

FORMATS = {
    "csv": "CSV: a zip of one CSV file per table",
    "json": "JSON Lines: a zip of one .jsonl file per table, one object a line",
}


@dataclass(frozen=True)
class Table:
    """One file of the export: a model's rows of the organization, all its own columns but
    `leave_out`."""

    name: str
    model: type[models.Model]
    of_organization: Callable[[int], models.QuerySet]
    leave_out: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [f.attname for f in self.model._meta.concrete_fields if f.name not in self.leave_out]

    def rows(self, organization_id: int) -> models.QuerySet:
        return self.of_organization(organization_id).order_by("pk").values_list(*self.columns)


def _owned(model: type[models.Model], path: str = "organization_id"):
    """The model's rows whose `path` (its organization, or its parent's) is the organization."""
    return lambda org: model._default_manager.filter(**{path: org})


TABLES: tuple[Table, ...] = (
    Table("organization", Organization, _owned(Organization, "pk")),
    Table("users", User, _owned(User), leave_out=("password",)),
    Table("distributor_groups", DistributorGroup, _owned(DistributorGroup)),
    Table("group_memberships", GroupMembership, _owned(GroupMembership, "group__organization_id")),
    Table("group_changes", GroupChange, _owned(GroupChange, "group__organization_id")),
    Table("products", Product, _owned(Product)),
    Table("locations", Location, _owned(Location)),
    Table("facilities", Facility, _owned(Facility)),
    Table("physicians", Physician, _owned(Physician)),
    Table("procedures", Procedure, _owned(Procedure)),
    Table("par_levels", ParLevel, _owned(ParLevel)),
    Table("units", Unit, _owned(Unit)),
    Table("ledger", CustodyEntry, _owned(CustodyEntry), leave_out=("xact",)),
    Table("transfers", Transfer, _owned(Transfer)),
    Table("transfer_lines", TransferLine, _owned(TransferLine, "transfer__organization_id")),
    Table("recalls", Recall, _owned(Recall)),
    Table("recall_units", RecallUnit, _owned(RecallUnit, "recall__organization_id")),
    Table("recall_returns", RecallReturn, _owned(RecallReturn, "recall__organization_id")),
    Table("events", Event, _owned(Event)),
    Table("event_lines", EventLine, _owned(EventLine, "event__organization_id")),
    Table("comments", Comment, _owned(Comment, "event__organization_id")),
    Table("mentions", Mention, _owned(Mention, "comment__event__organization_id")),
    Table("label_mismatches", LabelMismatch, _owned(LabelMismatch)),
)

# Models of this project's apps that are not in the export, and why. A model in neither list
# fails tests/api/test_org_export.py: whoever adds one decides whether it is the organization's.
LEFT_OUT = {
    "accounts.Notification": "each person's inbox, made from the records exported",
    "accounts.NotificationPreference": "each person's email switches",
    "accounts.SentEmail": "the mail log that stops an email going twice",
    "accounts.RateCounter": "request counters",
    "accounts.ReadPin": "when a user last wrote, to keep their reads on the primary for seconds",
    "events.ClientOperation": "phones' and API callers' replay records (their answers)",
    "jobs.Job": "imports and exports themselves, this one too",
    "jobs.JobChunk": "the files of imports and exports",
    "jobs.TaskLease": "workers' leases on running jobs, of no organization",
    "api.ApiToken": "credentials (digests)",
    "api.WebhookSubscription": "delivery settings with their signing secrets",
    "api.WebhookEvent": "copies of what the records exported already say, queued to send",
    "api.WebhookDelivery": "the delivery log of those copies",
}


def org_export_begin(*, actor: User, fmt: str) -> Job:
    """Enqueue a full export of the actor's organization in `fmt` ("csv" or "json").

    Raises PermissionDenied unless the actor may export the organization (an active admin),
    ValidationError for an unknown format. The worker checks again when it runs."""
    if not can_export_organization(actor=actor_for(actor)):
        raise PermissionDenied("Only an admin exports the organization's data.")
    if fmt not in FORMATS:
        raise ValidationError({"format": "Choose CSV or JSON."})
    with transaction.atomic():
        return job_start(actor=actor, kind=ORG_EXPORT_JOB, params={"format": fmt})


def job_run_org_export(*, job_id: int) -> None:
    """Run a full export (one run at a time: the run claims the job first, as unit exports do,
    and a second run of a claimed job does nothing). A retried run starts over: it drops what
    an earlier try stored. The job is done only once every chunk has committed."""
    progress = CommittedProgress(job_id)
    try:
        if progress.claim():
            _export(job_id, progress)
    finally:
        progress.close()


@contextlib.contextmanager
def _one_snapshot(nested: bool):
    """A transaction that reads every table as of one moment (REPEATABLE READ on PostgreSQL;
    SQLite's transactions already are). Inside an outer transaction (tests) it is a savepoint
    of that transaction's snapshot."""
    with transaction.atomic():
        if connection.vendor == "postgresql" and not nested:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _export(job_id: int, progress: CommittedProgress) -> None:
    job = Job.objects.select_related("owner", "organization").get(pk=job_id)
    if job.is_finished:
        return
    fmt = job.params.get("format")
    if fmt not in FORMATS or not can_export_organization(actor=actor_for(job.owner)):
        with transaction.atomic():
            job_finish(job, status=Job.Status.FAILED, problems=["The export could not start."])
        return
    org = job.organization_id
    JobChunk.objects.filter(job=job, part=JobChunk.Part.RESULT).delete()  # an earlier try's
    # The total is for the progress bar only: counted before the snapshot, it may differ a
    # little from what the snapshot holds.
    total = sum(table.of_organization(org).count() for table in TABLES)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, stage="Writing tables", processed=0, total=total
    )
    # The snapshot only reads: the result is stored through a connection of its own (as the
    # progress is), so the snapshot's transaction never takes a transaction id. One that did
    # would hold the ledger feed back (inventory.selectors.ledger_feed waits for every older
    # transaction) for as long as the export runs. Inside an outer transaction (tests) the
    # job row is not committed, so the result goes through that transaction instead.
    nested = connection.in_atomic_block
    own = None
    if connection.vendor == "postgresql" and not nested:
        own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with _one_snapshot(nested):
            written = write_export(job, fmt, on_progress=progress.set, store_through=own)
    finally:
        if own is not None:
            own.close()
    # Finished after the chunks commit, in a transaction of its own: the snapshot's would find
    # the job row changed by the progress connection, and REPEATABLE READ refuses that update.
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if not job.is_finished:
            job_finish(job, status=Job.Status.DONE, result_count=written)


class ChunkSink(io.RawIOBase):
    """The zip's output: bytes kept until a JOB_CHUNK_BYTES chunk is full, then stored as the
    job's next result chunk (through `store_through`, a connection of its own, when given).
    Not seekable, so zipfile writes each member's sizes after its data instead of going back
    for them."""

    def __init__(self, job: Job, store_through=None):
        self.job, self.seq, self.position = job, 0, 0
        self.own = store_through
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def write(self, data) -> int:
        self.buffer += data
        self.position += len(data)
        while len(self.buffer) >= settings.JOB_CHUNK_BYTES:
            self._save(bytes(self.buffer[: settings.JOB_CHUNK_BYTES]))
            del self.buffer[: settings.JOB_CHUNK_BYTES]
        return len(data)

    def _save(self, data: bytes) -> None:
        if self.own is None:
            JobChunk.objects.create(
                job=self.job, part=JobChunk.Part.RESULT, seq=self.seq, data=data
            )
        else:
            with self.own.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {JobChunk._meta.db_table} (job_id, part, seq, data) "  # noqa: S608 (our own table name)
                    "VALUES (%s, %s, %s, %s)",
                    [self.job.pk, JobChunk.Part.RESULT, self.seq, data],
                )
        self.seq += 1

    def finish(self) -> None:
        if self.buffer:
            self._save(bytes(self.buffer))
            self.buffer.clear()


def _text(value) -> str:
    """A CSV cell's text (then made formula-safe by csvsafe)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json_value(value):
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not exported")


PROGRESS_EVERY = 2000  # rows between two progress commits


def write_export(
    job: Job, fmt: str, *, on_progress: Callable[[int], None], store_through=None
) -> int:
    """Write the job's organization as a zip in `fmt` into the job's result chunks; the number
    of records written. Reads inside the caller's transaction; stores through `store_through`
    (a connection) when given."""
    org = job.organization_id
    sink = ChunkSink(job, store_through)
    written = 0
    manifest_tables = {}
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in TABLES:
            name = f"{table.name}.{'csv' if fmt == 'csv' else 'jsonl'}"
            rows = table.rows(org).iterator(chunk_size=2000)
            # Zip64 sizes: a ledger of millions of rows may pass 4 GB before compression.
            with archive.open(name, "w", force_zip64=True) as member:
                count = _write_table(member, fmt, table.columns, rows, written, on_progress)
            written += count
            manifest_tables[table.name] = {"file": name, "rows": count, "columns": table.columns}
        manifest = {
            "organization": {"id": org, "name": job.organization.name},
            "exported_at": timezone.now().isoformat(),
            "format": "csv" if fmt == "csv" else "jsonl",
            "tables": manifest_tables,
            "left_out": {
                "users.password": "password hashes",
                "ledger.xact": "the transaction id, meaningful only inside this database",
                **LEFT_OUT,
            },
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    sink.finish()
    return written


def _write_table(member, fmt, columns, rows: Iterable[tuple], before: int, on_progress) -> int:
    count = 0
    if fmt == "csv":
        text = io.TextIOWrapper(member, encoding="utf-8", newline="", write_through=True)
        writer = csvsafe.writer(text)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(value) for value in row])
            count += 1
            if count % PROGRESS_EVERY == 0:
                on_progress(before + count)
        text.flush()
        text.detach()  # the zip member is closed by its own `with`
        return count
    for row in rows:
        line = json.dumps(
            dict(zip(columns, row, strict=True)), ensure_ascii=False, default=_json_value
        )
        member.write(line.encode() + b"\n")
        count += 1
        if count % PROGRESS_EVERY == 0:
            on_progress(before + count)
    return count
