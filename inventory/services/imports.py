"""CSV import of units: strict parsing, all or nothing, in the request or as a background job."""

from __future__ import annotations

import csv
import datetime
import enum
import io
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Role, User
from accounts.selectors import actor_for
from inventory import policies
from inventory.models import (
    Location,
    Product,
    Unit,
)
from inventory.services.receiving import ReceiveLine, receive_lines, units_planned
from jobs.models import Job, JobChunk
from jobs.services import job_bytes, job_finish, job_start

CSV_COLUMNS = [
    "catalog_number",
    "serial_number",
    "lot_number",
    "expiration_date",
    "quantity",
    "location",
    "custodian",
]


class NoDefault(enum.Enum):
    """No default custody was chosen: every row must then name its custodian. (None means
    organization custody, so "none chosen" needs a value of its own.)"""

    NONE = "none"


NO_DEFAULT = NoDefault.NONE
DefaultCustody = User | None | NoDefault

# The job kind of a background import (registered in inventory.apps).
IMPORT_JOB = "import"
CSV_MAX_BYTES = 5 * 1024 * 1024


@dataclass
class _CsvRow:
    line: int  # the line the row starts on, as a spreadsheet numbers it
    values: dict[str, str]


@dataclass
class _ImportLookups:
    """The organization's products, locations and holders, by the lower-cased names a file
    uses, fetched once per import."""

    products: dict[str, Product]
    locations: dict[str, Location]
    holders: dict[str, User]

    @classmethod
    def for_organization(cls, organization_id: int) -> _ImportLookups:
        return cls(
            products={
                p.catalog_number.lower(): p
                for p in Product.objects.filter(organization_id=organization_id)
            },
            locations={
                loc.name.lower(): loc
                for loc in Location.objects.filter(organization_id=organization_id)
            },
            holders={
                u.username.lower(): u
                for u in User.objects.filter(
                    organization_id=organization_id, role__in=[Role.DISTRIBUTOR, Role.REP]
                )
            },
        )


def _csv_text(data: bytes, max_bytes: int = CSV_MAX_BYTES) -> str:
    """The upload as text, or a ValidationError saying why it is not a CSV text file."""
    if len(data) > max_bytes:
        raise ValidationError(
            f"That file is larger than {max_bytes // (1024 * 1024)} MB; split it."
        )
    if b"\x00" in data:
        raise ValidationError("The file contains NUL bytes: it is not a CSV text file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text; save it as CSV (UTF-8).") from exc


def _csv_rows_strict(text: str, max_units: int | None = None) -> tuple[list[_CsvRow], list[str]]:
    """Parse strictly: the well-formed rows, and a numbered problem for each line that is not
    (a quote that never closes, text after a closing quote, more or fewer values than the
    header names), never guessed at. Blank lines are skipped. A file without a header, or
    with more rows than one import may create units for (each row creates at least one), is
    refused at once."""
    reader = csv.reader(io.StringIO(text), strict=True)
    max_units = settings.IMPORT_MAX_UNITS if max_units is None else max_units
    rows: list[_CsvRow] = []
    problems: list[str] = []
    header: list[str] | None = None
    last_line = 0
    try:
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(value.strip() for value in record):
                continue
            if header is None:
                header = _csv_header(record)
                continue
            if len(record) != len(header):
                problems.append(
                    f"Line {start}: {len(record)} value(s), but the header names "
                    f"{len(header)} column(s)."
                )
                continue
            rows.append(
                _CsvRow(
                    start, {col: value.strip() for col, value in zip(header, record, strict=True)}
                )
            )
            if len(rows) > max_units:
                raise ValidationError(
                    f"The file has more than {max_units:,} rows; one import creates at most "
                    f"{max_units:,} units. Split the file."
                )
    except csv.Error as exc:
        problems.append(
            f"Line {last_line + 1}: the file cannot be read from here ({exc}); "
            "is a quote left open?"
        )
    if header is None:
        raise ValidationError(
            "The first row must name the columns: " + ", ".join(CSV_COLUMNS) + "."
        )
    if not rows and not problems:
        raise ValidationError("The file has a header but no rows.")
    return rows, problems


def _csv_header(record: list[str]) -> list[str]:
    header = [h.strip().lower() for h in record]
    if "catalog_number" not in header:
        raise ValidationError(
            "The first row must name the columns: " + ", ".join(CSV_COLUMNS) + "."
        )
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown:
        raise ValidationError(f"Unknown column(s): {', '.join(unknown)}.")
    # A repeated column would let one value silently overwrite the other.
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ValidationError(
            f"Column(s) named more than once in the first row: {', '.join(repeated)}. "
            "Keep one of each."
        )
    return header


def _csv_receive_line(
    row: _CsvRow, *, who, lookups: _ImportLookups, default_custodian: DefaultCustody
) -> tuple[User | None, ReceiveLine | None, list[str]]:
    """One row checked against the organization: (custodian, the line to receive, problems)."""
    get = lambda col: row.values.get(col, "")  # noqa: E731
    problems = []
    product = lookups.products.get(get("catalog_number").lower())
    if product is None:
        problems.append(f"unknown catalog number '{get('catalog_number')}'")
    expiry = None
    if get("expiration_date"):
        try:
            expiry = datetime.date.fromisoformat(get("expiration_date"))
        except ValueError:
            problems.append(f"expiration_date '{get('expiration_date')}' is not YYYY-MM-DD")
    quantity = 1
    if get("quantity"):
        try:
            quantity = int(get("quantity"))
        except ValueError:
            problems.append(f"quantity '{get('quantity')}' is not a whole number")
    cap = settings.RECEIVE_MAX_QUANTITY
    if not 1 <= quantity <= cap:
        problems.append(f"quantity must be between 1 and {cap:,} per row (limit {cap:,})")
    location = None
    if get("location"):
        location = lookups.locations.get(get("location").lower())
        if location is None:
            problems.append(f"unknown location '{get('location')}'")
    custodian = None if default_custodian is NO_DEFAULT else default_custodian
    if not get("custodian") and default_custodian is NO_DEFAULT:
        problems.append(
            "no custodian: name one in the custodian column, or choose a default custody"
        )
    elif get("custodian"):
        if get("custodian").lower() == "organization":
            custodian = None
        else:
            custodian = lookups.holders.get(get("custodian").lower())
            if custodian is None:
                problems.append(f"unknown holder '{get('custodian')}'")
            elif not custodian.is_active:
                problems.append(f"holder '{get('custodian')}' is deactivated")
    if not problems and not policies.can_receive_into(
        actor=who, custodian_id=custodian.pk if custodian else None
    ):
        problems.append(
            f"you can receive only into your own custody, not {custodian or 'the organization'}'s"
        )
    if problems:
        return custodian, None, problems
    line = ReceiveLine(
        product=product,
        lot_number=get("lot_number"),
        serial_numbers=[get("serial_number")] if get("serial_number") else (),
        quantity=quantity,
        expiration_date=expiry,
        location=location,
        line=row.line,
    )
    return custodian, line, []


def _repeated_serial(line: ReceiveLine, first_line: dict[tuple[int, str], int]) -> str:
    """A problem when the row's serial appeared on an earlier row of the file (rows for
    different holders land in different receive calls, so no single call would see it)."""
    for serial in line.serial_numbers:
        key = (line.product.pk, serial.lower())  # serials are unique ignoring case
        if key in first_line:
            return (
                f"Line {line.line}: serial {serial} appears twice (also on line {first_line[key]})."
            )
        first_line[key] = line.line
    return ""


@transaction.atomic
def units_import_csv(*, actor: User, data: bytes, default_custodian: DefaultCustody) -> list[Unit]:
    """Import units from CSV: all or nothing, every bad row reported with its line number.

    Columns (header row required): catalog_number, serial_number, lot_number,
    expiration_date (YYYY-MM-DD), quantity (lot-tracked, default 1), location (name, optional),
    custodian (username or "organization", optional; defaults to `default_custodian`, None
    meaning organization custody; with NO_DEFAULT a row without one is a numbered problem).

    Permission is checked before the file is read. Parsing is strict (see _csv_rows_strict).
    One row creates at most settings.RECEIVE_MAX_QUANTITY units and one file at most
    settings.IMPORT_MAX_UNITS (rows x quantity); the messages name the limits. A larger file
    goes to the background (units_import_begin).
    """
    cap = settings.IMPORT_MAX_UNITS
    plan = _import_plan(
        actor=actor,
        data=data,
        default_custodian=default_custodian,
        cap=cap,
        max_bytes=CSV_MAX_BYTES,
    )
    return _import_insert(actor, plan, cap=cap)


@dataclass
class _ImportPlan:
    """The checked rows of an import, by custodian, and the problems found so far."""

    by_custodian: dict[int | None, tuple[User | None, list[ReceiveLine]]]
    problems: list[str]


def _import_plan(
    *,
    actor: User,
    data: bytes,
    default_custodian: DefaultCustody,
    cap: int,
    max_bytes: int,
    progress: Callable[[int, int], None] | None = None,
) -> _ImportPlan:
    """The validation pass of an import: reads only, so a background job runs it outside any
    transaction and commits `progress(rows checked, rows)` as it goes. Raises ValidationError
    when the file cannot be read at all or would create more than `cap` units."""
    who = actor_for(actor)
    if not policies.can_receive(actor=who):
        raise PermissionDenied("Only admins and distributors receive stock.")
    rows, problems = _csv_rows_strict(_csv_text(data, max_bytes), max_units=cap)
    lookups = _ImportLookups.for_organization(actor.organization_id)
    accepted: list[ReceiveLine] = []
    first_line: dict[tuple[int, str], int] = {}
    by_custodian: dict[int | None, tuple[User | None, list[ReceiveLine]]] = {}
    step = max(1, len(rows) // 100)
    for done, row in enumerate(rows, start=1):
        if progress is not None and (done % step == 0 or done == len(rows)):
            progress(done, len(rows))
        custodian, line, row_problems = _csv_receive_line(
            row, who=who, lookups=lookups, default_custodian=default_custodian
        )
        if row_problems:
            problems.append(f"Line {row.line}: " + "; ".join(row_problems) + ".")
            continue
        repeated = _repeated_serial(line, first_line)
        if repeated:
            problems.append(repeated)
            continue
        accepted.append(line)
        key = custodian.pk if custodian else None
        by_custodian.setdefault(key, (custodian, []))[1].append(line)
    planned = units_planned(accepted)
    if planned > cap:  # refused before any unit is made: the work itself is the harm
        raise ValidationError(
            [
                f"This file would create {planned:,} units; one import creates at most {cap:,}. "
                "Split the file.",
                *problems,
            ]
        )
    return _ImportPlan(by_custodian=by_custodian, problems=problems)


def _import_insert(actor: User, plan: _ImportPlan, *, cap: int) -> list[Unit]:
    """The insert of an import, inside the caller's transaction; raises ValidationError with
    every problem (the caller's rollback then undoes the units made)."""
    problems = list(plan.problems)
    # Rows that passed are still received (and rolled back by the caller) so that their own
    # problems, such as serials already on record, are reported together with the rest.
    received: list[Unit] = []
    for custodian, lines in plan.by_custodian.values():
        try:
            received += receive_lines(actor, lines, custodian=custodian, note="CSV import", cap=cap)
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ValidationError(problems)
    return received


def _rows_units(rows: list[_CsvRow]) -> int:
    """The units a parsed file asks for (rows x quantity), before any row is checked."""
    total = 0
    for row in rows:
        try:
            quantity = int(row.values.get("quantity") or 1)
        except ValueError:
            quantity = 1
        total += max(quantity, 1)
    return total


@transaction.atomic
def units_import_begin(
    *, actor: User, data: bytes, default_custodian: DefaultCustody, filename: str = ""
) -> list[Unit] | Job:
    """Import units from CSV at once (units_import_csv) when the file asks for at most
    settings.IMPORT_MAX_UNITS units, else store the file as a Job and enqueue its import.

    A background import takes up to settings.IMPORT_BACKGROUND_MAX_UNITS units and
    settings.IMPORT_BACKGROUND_MAX_BYTES; a file over those, or one that cannot be read, is
    refused at once with a ValidationError. The job row and its queue entry commit together.
    """
    if not policies.can_receive(actor=actor_for(actor)):
        raise PermissionDenied("Only admins and distributors receive stock.")
    cap = settings.IMPORT_BACKGROUND_MAX_UNITS
    rows, _ = _csv_rows_strict(_csv_text(data, settings.IMPORT_BACKGROUND_MAX_BYTES), max_units=cap)
    asked = _rows_units(rows)
    if asked <= settings.IMPORT_MAX_UNITS and len(data) <= CSV_MAX_BYTES:
        return units_import_csv(actor=actor, data=data, default_custodian=default_custodian)
    if asked > cap:
        raise ValidationError(
            f"This file would create {asked:,} units; one import creates at most {cap:,}. "
            "Split the file."
        )
    return job_start(
        actor=actor,
        kind=IMPORT_JOB,
        params={
            "default_custodian": (
                default_custodian.pk if isinstance(default_custodian, User) else None
            ),
            "no_default": default_custodian is NO_DEFAULT,
        },
        filename=filename,
        total=len(rows),
        upload=data,
    )


def job_run_import(*, job_id: int) -> None:
    """Run a background import: a validation pass that commits its progress row by row
    (outside any transaction), then one atomic insert that also marks the job done, so a
    retried job never imports twice. All or nothing: any problem fails the job with every
    numbered line error and creates no unit. The owner is told either way.

    Another run of the same job (the sweeper puts back a slow import) may finish it at any
    moment: every write below touches only an unfinished job, and both endings re-check under
    the job's row lock, so a finished job is never reopened, failed or told again."""
    job = Job.objects.select_related("owner").get(pk=job_id)
    unfinished = Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
    if not unfinished.update(status=Job.Status.RUNNING, stage="Checking rows", processed=0):
        return
    custodian_id = job.params.get("default_custodian")
    default_custodian: DefaultCustody = (
        User.objects.filter(pk=custodian_id, organization_id=job.organization_id).first()
        if custodian_id
        else None
    )
    if job.params.get("no_default"):  # absent from jobs queued before it existed
        default_custodian = NO_DEFAULT
    cap = settings.IMPORT_BACKGROUND_MAX_UNITS

    def progress(done: int, total: int) -> None:
        unfinished.update(processed=done, total=total)

    try:
        plan = _import_plan(
            actor=job.owner,
            data=job_bytes(job, JobChunk.Part.UPLOAD),
            default_custodian=default_custodian,
            cap=cap,
            max_bytes=settings.IMPORT_BACKGROUND_MAX_BYTES,
            progress=progress,
        )
        unfinished.update(stage="Saving units")
        with transaction.atomic():
            locked = Job.objects.select_for_update().select_related("owner").get(pk=job.pk)
            if locked.is_finished:
                return
            units = _import_insert(job.owner, plan, cap=cap)
            job_finish(locked, status=Job.Status.DONE, result_count=len(units))
    except (ValidationError, PermissionDenied) as exc:
        problems = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if locked.is_finished:
                return  # another run finished it, perhaps before this one read the file
            job_finish(locked, status=Job.Status.FAILED, problems=problems)
