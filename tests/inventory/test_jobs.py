"""Large imports and exports run in the background (jobs.Job): which work goes there, the
all-or-nothing import with its numbered line errors, progress committed while the work goes on,
results kept in the database and streamed back, who sees which job, and pruning."""

import datetime
import io

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import Notification, NotificationKind
from inventory.models import CustodyEntry, Unit
from inventory.services import exports, imports
from inventory.services.exports import EXPORT_JOB, job_run_export, units_export_begin
from inventory.services.imports import (
    IMPORT_JOB,
    NO_DEFAULT,
    _csv_receive_line,
    _import_insert,
    units_import_begin,
)
from jobs.models import Job, JobChunk
from jobs.services import ChunkWriter
from tests import taskqueue
from tests.factories import RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units

HEADER = "catalog_number,serial_number,lot_number,expiration_date,quantity"


def _csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


@pytest.fixture
def small_caps(settings):
    """In-request imports take up to 5 units, background ones up to 40."""
    settings.IMPORT_MAX_UNITS = 5
    settings.IMPORT_BACKGROUND_MAX_UNITS = 40
    return settings


@pytest.fixture
def export_caps(settings):
    """Exports over 3 rows run in the background."""
    settings.EXPORT_BACKGROUND_ROWS = 3
    return settings


@pytest.fixture
def knee(org):
    return ProductFactory(organization=org, serial_tracked=True, catalog_number="KN-100")


@pytest.fixture
def screws(org):
    return ProductFactory(organization=org, lot_tracked=True, catalog_number="SCR-200")


def _serials(n, start=1):
    return [f"KN-100,S-{i},,2030-01-01," for i in range(start, start + n)]


# --- Which import goes to the background --------------------------------------------------------


def test_an_import_up_to_the_in_request_cap_runs_at_once(admin_user, distributor, knee, small_caps):
    outcome = units_import_begin(
        actor=admin_user, data=_csv(*_serials(5)), default_custodian=distributor
    )
    assert isinstance(outcome, list) and len(outcome) == 5
    assert not Job.objects.exists()


def test_an_import_over_the_in_request_cap_becomes_a_job_that_a_worker_runs(
    admin_user, distributor, screws, small_caps
):
    # Two rows, but 3 + 3 units: the cap counts rows x quantity.
    job = units_import_begin(
        actor=admin_user,
        data=_csv("SCR-200,,L1,2030-01-01,3", "SCR-200,,L2,2030-01-01,3"),
        default_custodian=distributor,
        filename="big.csv",
    )
    assert isinstance(job, Job) and job.kind == IMPORT_JOB and job.owner == admin_user
    assert not Unit.objects.exists()  # nothing happens in the request
    assert job.chunks.filter(part=JobChunk.Part.UPLOAD).exists()  # the file is in the database

    taskqueue.run_worker()

    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result_count == 6
    assert job.processed == job.total == 2
    assert Unit.objects.filter(custodian=distributor).count() == 6
    assert not job.chunks.exists()  # the upload goes once it is imported
    assert [m.to for m in mail.outbox] == [[admin_user.email]]
    assert f"/jobs/{job.pk}/" in mail.outbox[0].body
    (bell,) = Notification.objects.filter(user=admin_user, kind=NotificationKind.JOB_DONE)
    assert bell.url == f"/jobs/{job.pk}/"


def test_a_file_over_the_background_cap_is_refused_at_once(
    admin_user, distributor, screws, small_caps
):
    with pytest.raises(
        ValidationError, match="would create 41 units; one import creates at most 40"
    ):
        units_import_begin(
            actor=admin_user,
            data=_csv("SCR-200,,L1,,20", "SCR-200,,L2,,21"),
            default_custodian=None,
        )
    assert not Job.objects.exists() and not Unit.objects.exists()


def test_a_background_import_is_all_or_nothing_and_keeps_every_numbered_line_error(
    admin_user, distributor, rep, knee, small_caps
):
    (taken,) = receive_units(admin_user, rep, n=1, product=knee, serial_prefix="S-")
    units_before, entries_before = Unit.objects.count(), CustodyEntry.objects.count()
    # Lines 2-5 are good and go to the distributor: they are inserted first, then rolled back
    # when the rep's rows fail in the same insert.
    rows = [f"KN-100,S-{i},,2030-01-01,,{distributor.username}" for i in range(2, 6)]
    rows += [
        f"NOPE-1,X-1,,2030-01-01,,{rep.username}",
        f"KN-100,S-1,,2030-01-01,,{rep.username}",
        f"KN-100,S-20,,2030-01-01,,{rep.username}",
    ]
    data = ("\n".join([HEADER + ",custodian", *rows]) + "\n").encode()
    job = units_import_begin(actor=admin_user, data=data, default_custodian=None)

    taskqueue.run_worker()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "Line 6: unknown catalog number 'NOPE-1'." in job.problems
    # Found only by the insert (the serial is on record): the insert ran and was rolled back.
    assert f"Line 7: KN-100 serial {taken.serial_number} is already on record." in job.problems
    assert (Unit.objects.count(), CustodyEntry.objects.count()) == (units_before, entries_before)
    assert [m.to for m in mail.outbox] == [[admin_user.email]]
    assert "failed" in mail.outbox[0].subject


def test_a_background_import_without_default_custody_refuses_rows_naming_no_custodian(
    admin_user, distributor, knee, small_caps
):
    # "No default" is not organization custody: the job must remember which it was given.
    rows = [f"KN-100,S-{i},,2030-01-01,,{distributor.username}" for i in range(1, 7)]
    rows.append("KN-100,S-7,,2030-01-01,,")
    data = ("\n".join([HEADER + ",custodian", *rows]) + "\n").encode()
    job = units_import_begin(actor=admin_user, data=data, default_custodian=NO_DEFAULT)

    taskqueue.run_worker()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.problems == [
        "Line 8: no custodian: name one in the custodian column, or choose a default custody."
    ]
    assert not Unit.objects.exists()


def test_the_upload_page_sends_a_large_file_to_its_progress_page(
    client, admin_user, distributor, knee, small_caps
):
    upload = io.BytesIO(_csv(*_serials(8)))
    upload.name = "units.csv"
    client.force_login(admin_user)
    response = client.post(
        reverse("inventory:receive_csv"), {"csv-file": upload, "csv-custodian": "org"}
    )
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:job_detail", args=[job.pk])
    assert job.filename == "units.csv" and job.total == 8


# --- Progress, committed while the work goes on ------------------------------------------------


def _committed(job_id):
    """The job row as another connection sees it: only what has been committed."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT status, processed, total, "
                "(SELECT count(*) FROM jobs_jobchunk c WHERE c.job_id = j.id AND part = 'result') "
                "FROM jobs_job j WHERE id = %s",
                [job_id],
            )
            return cursor.fetchone()
    finally:
        other.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_import_progress_is_committed_row_by_row_before_the_one_atomic_insert(
    admin_user, distributor, knee, small_caps, monkeypatch
):
    job = units_import_begin(
        actor=admin_user, data=_csv(*_serials(20)), default_custodian=distributor
    )
    seen, at_insert = [], []
    check_row, insert = _csv_receive_line, _import_insert

    def spy_row(row, **kwargs):
        seen.append(_committed(job.pk)[1])
        return check_row(row, **kwargs)

    def spy_insert(actor, plan, **kwargs):
        at_insert.append(_committed(job.pk))
        units = insert(actor, plan, **kwargs)
        at_insert.append(Unit.objects.count())  # made, but not yet visible to anyone else
        at_insert.append(_committed(job.pk))
        return units

    monkeypatch.setattr(imports, "_csv_receive_line", spy_row)
    monkeypatch.setattr(imports, "_import_insert", spy_insert)
    taskqueue.run_worker()

    # Another connection saw the count of checked rows climb, one row at a time.
    assert seen == list(range(1, 21))
    assert at_insert[0] == ("running", 20, 20, 0)
    assert at_insert[1] == 20 and at_insert[2] == ("running", 20, 20, 0)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and Unit.objects.count() == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_export_progress_is_committed_while_the_result_commits_at_the_end(
    admin_user, distributor, knee, settings, monkeypatch
):
    settings.JOB_CHUNK_BYTES = 300
    receive_units(admin_user, distributor, n=30, product=knee, serial_prefix="E-")
    job = units_export_begin(actor=admin_user, params={})
    seen = []
    save = ChunkWriter.save

    def spy_save(writer):
        seen.append(_committed(job.pk))
        save(writer)

    monkeypatch.setattr(ChunkWriter, "save", spy_save)
    taskqueue.run_worker()

    processed = [row[1] for row in seen]
    # It moved at every chunk (the last save, of the tail, comes after the last count).
    assert len(seen) > 3 and processed[:-1] == sorted(set(processed[:-1]))
    assert 0 < processed[-2] <= processed[-1] <= 30
    # No chunk was visible before the end: the result commits with "done", all or nothing.
    assert all(row[0] == "running" and row[2] == 30 and row[3] == 0 for row in seen)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result_count == 30
    assert job.chunks.count() in (len(seen), len(seen) - 1)


def test_the_progress_page_shows_processed_of_total_and_works_without_javascript(
    client, admin_user
):
    job = Job.objects.create(
        organization=admin_user.organization,
        owner=admin_user,
        kind=IMPORT_JOB,
        status=Job.Status.RUNNING,
        processed=1200,
        total=20000,
    )
    client.force_login(admin_user)
    page = client.get(reverse("jobs:job_detail", args=[job.pk])).content.decode()
    assert '<progress class="job-progress" max="20000" value="1200"' in page
    assert "1,200</span> of <span data-job-total>20,000" in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert f'href="/jobs/{job.pk}/"' in page  # Refresh
    assert "js/job_progress.js" in page
    state = client.get(reverse("jobs:job_progress", args=[job.pk])).json()
    assert (state["processed"], state["total"], state["percent"]) == (1200, 20000, 6)
    assert state["finished"] is False


# --- Exports -------------------------------------------------------------------------------------


def test_an_export_up_to_the_threshold_downloads_at_once_and_a_larger_one_runs_as_a_job(
    client, admin_user, distributor, knee, export_caps
):
    receive_units(admin_user, distributor, n=3, product=knee, serial_prefix="X-")
    client.force_login(admin_user)
    url = reverse("inventory:unit_export")
    immediate = client.get(url)
    assert immediate["Content-Type"].startswith("text/csv")
    small = b"".join(immediate.streaming_content)

    receive_units(admin_user, distributor, n=1, product=knee, serial_prefix="Y-")
    asked = client.get(url)  # a GET only asks; it starts nothing
    assert asked.status_code == 200 and b"Start the export" in asked.content
    assert not Job.objects.exists()
    started = client.post(url)
    job = Job.objects.get()
    assert started["Location"] == reverse("jobs:job_detail", args=[job.pk])
    assert job.kind == EXPORT_JOB and job.status == Job.Status.QUEUED

    taskqueue.run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result_count == 4
    assert job.processed == job.total == 4  # a finished job's bar is full
    download = client.get(reverse("jobs:job_download", args=[job.pk]))
    body = b"".join(download.streaming_content)
    assert download["Content-Disposition"].startswith("attachment;")
    # The same columns and rows as the immediate export, one unit more.
    assert body.startswith(small.splitlines(keepends=True)[0])
    assert set(small.splitlines()) < set(body.splitlines())
    assert len(body.splitlines()) == 5
    assert [m.to for m in mail.outbox] == [[admin_user.email]]


def test_a_background_export_has_no_row_cap_and_is_kept_in_chunks(
    client, admin_user, distributor, knee, export_caps, monkeypatch
):
    monkeypatch.setattr("inventory.views.units.EXPORT_LIMIT", 2)  # the immediate export's cap
    export_caps.JOB_CHUNK_BYTES = 200
    receive_units(admin_user, distributor, n=25, product=knee, serial_prefix="C-")
    job = units_export_begin(actor=admin_user, params={})
    taskqueue.run_worker()
    assert JobChunk.objects.filter(job=job, part=JobChunk.Part.RESULT).count() > 5
    client.force_login(admin_user)
    body = b"".join(client.get(reverse("jobs:job_download", args=[job.pk])).streaming_content)
    lines = body.decode().splitlines()
    assert len(lines) == 26 and sorted(lines[1:]) == sorted(set(lines[1:]))


def test_a_background_export_keeps_the_filter_and_the_owners_view(
    client, admin_user, distributor, rep, knee, screws, export_caps
):
    receive_units(admin_user, rep, n=2, product=knee, serial_prefix="MINE-")
    receive_units(admin_user, rep, n=2, product=screws, lot_number="LOT-MINE")
    receive_units(admin_user, distributor, n=5, product=knee, serial_prefix="DIST-")
    other_rep = RepFactory(organization=rep.organization)
    receive_units(admin_user, other_rep, n=5, product=knee, serial_prefix="OTHER-")
    job = units_export_begin(actor=rep, params={"q": ["MINE-"]})
    taskqueue.run_worker()
    client.force_login(rep)
    body = b"".join(client.get(reverse("jobs:job_download", args=[job.pk])).streaming_content)
    text = body.decode()
    assert text.count("MINE-") == 2 and "LOT-MINE" not in text
    assert "DIST-" not in text and "OTHER-" not in text


# --- Who sees which job ---------------------------------------------------------------------------


def test_each_user_sees_their_own_jobs_and_admins_see_the_organizations(
    client, admin_user, distributor, rep
):
    def job_of(user):
        return Job.objects.create(organization=user.organization, owner=user, kind=EXPORT_JOB)

    reps_job, distributors_job, admins_job = job_of(rep), job_of(distributor), job_of(admin_user)
    outsider = UserFactory(admin=True)
    outsiders_job = job_of(outsider)

    assert list(Job.objects.visible_to(rep)) == [reps_job]
    assert list(Job.objects.visible_to(distributor)) == [distributors_job]
    assert set(Job.objects.visible_to(admin_user)) == {reps_job, distributors_job, admins_job}
    assert list(Job.objects.visible_to(outsider)) == [outsiders_job]

    client.force_login(distributor)
    assert client.get(reverse("jobs:job_detail", args=[reps_job.pk])).status_code == 404
    page = client.get(reverse("jobs:job_list")).content.decode()
    assert f"#{distributors_job.pk}<" in page and f"#{reps_job.pk}<" not in page


# --- Failing for good, and pruning ------------------------------------------------------------------


def test_an_export_that_fails_on_every_try_is_marked_failed_and_its_owner_told(
    admin_user, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(exports, "job_run_export", broken)
    job = units_export_begin(actor=admin_user, params={})
    queued = DBTaskResult.objects.get(task_path="inventory.tasks.export_units")
    for _ in range(3):
        job.refresh_from_db()
        assert job.status == Job.Status.QUEUED  # a try that fails with tries left changes nothing
        taskqueue.make_due(queued)
        taskqueue.run_worker()
    job.refresh_from_db()
    result_row = taskqueue.job_row(queued)
    assert len(result_row.worker_ids) == 3
    assert job.status == Job.Status.FAILED and job.problems
    assert [m.to for m in mail.outbox] == [[admin_user.email]]


def test_prune_job_results_removes_jobs_finished_days_ago_with_their_chunks(admin_user, settings):
    settings.JOB_RESULT_DAYS = 3
    now = timezone.now()

    def job(finished_days_ago):
        finished = now - datetime.timedelta(days=finished_days_ago) if finished_days_ago else None
        made = Job.objects.create(
            organization=admin_user.organization,
            owner=admin_user,
            kind=EXPORT_JOB,
            status=Job.Status.DONE if finished else Job.Status.RUNNING,
            finished_at=finished,
        )
        JobChunk.objects.create(job=made, part=JobChunk.Part.RESULT, seq=0, data=b"x")
        return made

    old, recent, running = job(4), job(2), job(None)
    out = io.StringIO()
    call_command("prune_job_results", stdout=out)
    assert set(Job.objects.all()) == {recent, running}
    assert not JobChunk.objects.filter(job_id=old.pk).exists()
    assert JobChunk.objects.count() == 2
    assert "1 job" in out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_run_of_an_export_already_running_does_nothing(
    admin_user, distributor, knee, settings, monkeypatch
):
    # The sweeper puts back a long export whose worker is slow, not dead: a second worker
    # then runs the same job while the first is still writing it.
    import threading

    from django.db import connection

    settings.JOB_CHUNK_BYTES = 300
    receive_units(admin_user, distributor, n=30, product=knee, serial_prefix="E-")
    job = units_export_begin(actor=admin_user, params={})
    first_is_writing, second_is_done = threading.Event(), threading.Event()
    save = ChunkWriter.save
    first = {}

    def paused_save(writer):
        if threading.current_thread() is first.get("thread"):
            first_is_writing.set()
            second_is_done.wait(timeout=20)
        save(writer)

    monkeypatch.setattr(ChunkWriter, "save", paused_save)

    def run_first():
        try:
            job_run_export(job_id=job.pk)
        finally:
            connection.close()

    first["thread"] = threading.Thread(target=run_first)
    first["thread"].start()
    try:
        assert first_is_writing.wait(timeout=20)
        job_run_export(job_id=job.pk)  # the second run, while the first writes
        row = Job.objects.get(pk=job.pk)
        assert row.status == Job.Status.RUNNING and row.result_count == 0
        assert not JobChunk.objects.filter(job=job, part=JobChunk.Part.RESULT).exists()
    finally:
        second_is_done.set()
        first["thread"].join(timeout=20)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result_count == 30
    assert Notification.objects.filter(kind=NotificationKind.JOB_DONE).count() == 1
