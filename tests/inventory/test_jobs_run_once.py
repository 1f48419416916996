"""Background jobs take effect once (inventory.services.imports.job_run_import,
inventory.services.exports.job_run_export, jobs.services.job_give_up): a job run again, or run
twice at once, because the sweeper put back a slow one, imports its units once, keeps its one
result, ends once and tells its owner once; and only a finished export can be downloaded."""

import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from accounts.models import Notification, NotificationKind
from inventory.models import Unit
from inventory.services import imports
from inventory.services.exports import EXPORT_JOB, units_export_begin
from inventory.services.imports import _import_plan, job_run_import, units_import_begin
from inventory.tasks import export_units
from jobs import services as job_services
from jobs.models import Job, JobChunk
from jobs.services import job_bytes, job_give_up, notify_job_done
from tests import taskqueue
from tests.concurrency import TIMEOUT, race
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units

HEADER = "catalog_number,serial_number,lot_number,expiration_date,quantity"
# Lot-tracked rows: an import that ran twice would make them twice (serials would clash).
ROWS = ["SCR-200,,L1,2030-01-01,4", "SCR-200,,L2,2030-01-01,4"]
UNITS = 8


@pytest.fixture
def screws(org):
    return ProductFactory(organization=org, lot_tracked=True, catalog_number="SCR-200")


@pytest.fixture
def import_job(admin_user, distributor, screws, settings):
    """A background import of 8 lot-tracked units into the distributor's custody."""
    settings.IMPORT_MAX_UNITS = 5  # over this, the import is a job
    settings.IMPORT_BACKGROUND_MAX_UNITS = 40
    data = ("\n".join([HEADER, *ROWS]) + "\n").encode()
    job = units_import_begin(actor=admin_user, data=data, default_custodian=distributor)
    assert isinstance(job, Job)
    return job


def _notices(job):
    return list(
        Notification.objects.filter(kind=NotificationKind.JOB_DONE, url__contains=f"/{job.pk}/")
        .order_by("pk")
        .values_list("summary", flat=True)
    )


def _done_once(job, distributor):
    """The job ended DONE with every unit imported once, and its owner was told once."""
    job.refresh_from_db()
    assert (job.status, job.problems, job.result_count) == (Job.Status.DONE, [], UNITS)
    assert (job.stage, job.processed) == ("", job.total)
    assert Unit.objects.filter(custodian=distributor).count() == UNITS
    assert _notices(job) == [f"Your unit import #{job.pk} is done"]
    assert ledger_problems() == []


# --- Imports ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_of_one_import_create_its_units_once(
    import_job, distributor, monkeypatch
):
    # Both runs check every row before either saves (real threads, real connections): the
    # slower one then finds the job done under its row lock and leaves it.
    both_checked = threading.Barrier(2)
    check = _import_plan

    def check_then_wait(**kwargs):
        plan = check(**kwargs)
        both_checked.wait(timeout=TIMEOUT)
        return plan

    monkeypatch.setattr(imports, "_import_plan", check_then_wait)

    outcomes = race(
        lambda: job_run_import(job_id=import_job.pk),
        lambda: job_run_import(job_id=import_job.pk),
    )

    assert outcomes == [("ok", None), ("ok", None)]
    _done_once(import_job, distributor)


def test_an_import_run_that_finds_the_upload_gone_leaves_the_job_another_run_finished(
    import_job, distributor, monkeypatch
):
    # Issue 15: the sweeper puts back a slow import; the second run passes the first
    # "finished?" check, then the first run completes and drops the upload, so the second
    # reads an empty file. It must not end the imported job as "failed".
    read = job_bytes

    def first_run_completes_meanwhile(job, part):
        monkeypatch.setattr(imports, "job_bytes", read)
        job_run_import(job_id=job.pk)  # the first run, to the end
        assert not JobChunk.objects.filter(job=job).exists()  # the upload is gone
        return read(job, part)

    monkeypatch.setattr(imports, "job_bytes", first_run_completes_meanwhile)

    job_run_import(job_id=import_job.pk)  # the second run

    _done_once(import_job, distributor)


def _a_second_call_arrives_while_the_import_finishes(job, monkeypatch, second):
    """Run the import in a thread and hold it inside its finishing transaction (the job row
    locked, DONE written but not committed) until `second`, in another thread, waits for that
    lock; then let both go. Returns the second call's outcome."""
    finishing, release = threading.Event(), threading.Event()
    first, other = {}, {}
    notify = notify_job_done

    def paused_notify(finished_job):
        if threading.current_thread() is first["thread"]:
            finishing.set()
            release.wait(timeout=TIMEOUT)
        notify(finished_job)

    monkeypatch.setattr(job_services, "notify_job_done", paused_notify)

    def run(call, into):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                into["pid"] = cursor.fetchone()[0]
            into["outcome"] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever was raised
            into["outcome"] = ("error", exc)
        finally:
            connection.close()

    first["thread"] = threading.Thread(
        target=run, args=(lambda: job_run_import(job_id=job.pk), first)
    )
    other["thread"] = threading.Thread(target=run, args=(second, other))
    first["thread"].start()
    try:
        assert finishing.wait(timeout=TIMEOUT)
        other["thread"].start()
        deadline = time.monotonic() + TIMEOUT
        while other["thread"].is_alive() and not _waits_for_a_lock(other.get("pid")):
            assert time.monotonic() < deadline, "the second call never reached the job's lock"
            time.sleep(0.01)
    finally:
        release.set()
        for thread in (first["thread"], other["thread"]):
            if thread.ident is not None:
                thread.join(timeout=TIMEOUT)
    assert first["outcome"] == ("ok", None)
    return other["outcome"]


def _waits_for_a_lock(pid):
    if pid is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_run_that_starts_while_the_first_finishes_does_not_reopen_the_job(
    import_job, distributor, monkeypatch
):
    # The second run read the job while the first was committing it: marking it "running"
    # now would reopen a finished job (then fail it on the upload the first run dropped).
    outcome = _a_second_call_arrives_while_the_import_finishes(
        import_job, monkeypatch, lambda: job_run_import(job_id=import_job.pk)
    )
    assert outcome == ("ok", None)
    _done_once(import_job, distributor)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_give_up_that_arrives_while_the_import_finishes_leaves_it_done_and_tells_once(
    import_job, distributor, monkeypatch
):
    # A stale try that raised on its last attempt gives the job up while another run is
    # committing it: the job would be finished twice (done, then failed), its owner told twice.
    outcome = _a_second_call_arrives_while_the_import_finishes(
        import_job, monkeypatch, lambda: job_give_up(job_id=import_job.pk)
    )
    assert outcome == ("ok", None)
    _done_once(import_job, distributor)


def test_giving_up_an_import_that_another_try_finished_changes_nothing(import_job, distributor):
    job_run_import(job_id=import_job.pk)

    job_give_up(job_id=import_job.pk)  # a stale try that raised on its last attempt

    _done_once(import_job, distributor)


# --- Exports ---------------------------------------------------------------------------------


def test_running_a_finished_export_again_changes_nothing_and_tells_once(
    admin_user, distributor, settings
):
    settings.JOB_CHUNK_BYTES = 300
    product = ProductFactory(organization=admin_user.organization, serial_tracked=True)
    receive_units(admin_user, distributor, n=20, product=product, serial_prefix="E-")
    job = units_export_begin(actor=admin_user, params={})
    taskqueue.run_worker()

    def result():
        finished = Job.objects.get(pk=job.pk)
        chunks = JobChunk.objects.filter(job=job).order_by("seq")
        return (
            (finished.status, finished.finished_at, finished.result_count, finished.processed),
            [(pk, seq, bytes(data)) for pk, seq, data in chunks.values_list("pk", "seq", "data")],
        )

    first = result()
    assert first[0][0] == Job.Status.DONE and len(first[1]) > 1

    # The same job once more, e.g. its queue entry put back after it had finished.
    export_units.enqueue(organization_id=admin_user.organization_id, job_id=job.pk)
    taskqueue.run_worker()

    assert result() == first  # the same chunks (same rows, same bytes), the same outcome
    assert _notices(job) == [f"Your unit export #{job.pk} is done"]
    assert [m.to for m in mail.outbox] == [[admin_user.email]]


@pytest.mark.parametrize("status", [Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.FAILED])
def test_an_export_that_is_not_done_cannot_be_downloaded(client, admin_user, status):
    job = Job.objects.create(
        organization=admin_user.organization, owner=admin_user, kind=EXPORT_JOB, status=status
    )
    # Even were part of a result stored, an unfinished or failed export serves none of it.
    JobChunk.objects.create(job=job, part=JobChunk.Part.RESULT, seq=0, data=b"catalog_number\n")
    client.force_login(admin_user)  # its owner, an admin

    response = client.get(reverse("jobs:job_download", args=[job.pk]))

    assert response.status_code == 404
