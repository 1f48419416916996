"""Background jobs take effect once (inventory.services job_run_import, job_run_export,
job_give_up): a job run again, or run twice at once, because the sweeper put back a slow one,
imports its units once, keeps its one result, ends once and tells its owner once; and only a
finished export can be downloaded."""

import threading

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Notification, NotificationKind
from inventory import services
from inventory.models import Job, JobChunk, Unit
from inventory.tasks import export_units
from tests import jobs
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
    job = services.units_import_begin(actor=admin_user, data=data, default_custodian=distributor)
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
    check = services._import_plan

    def check_then_wait(**kwargs):
        plan = check(**kwargs)
        both_checked.wait(timeout=TIMEOUT)
        return plan

    monkeypatch.setattr(services, "_import_plan", check_then_wait)

    outcomes = race(
        lambda: services.job_run_import(job_id=import_job.pk),
        lambda: services.job_run_import(job_id=import_job.pk),
    )

    assert outcomes == [("ok", None), ("ok", None)]
    _done_once(import_job, distributor)


# --- Exports ---------------------------------------------------------------------------------


def test_running_a_finished_export_again_changes_nothing_and_tells_once(
    admin_user, distributor, settings
):
    settings.JOB_CHUNK_BYTES = 300
    product = ProductFactory(organization=admin_user.organization, serial_tracked=True)
    receive_units(admin_user, distributor, n=20, product=product, serial_prefix="E-")
    job = services.units_export_begin(actor=admin_user, params={})
    jobs.run_worker()

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
    jobs.run_worker()

    assert result() == first  # the same chunks (same rows, same bytes), the same outcome
    assert _notices(job) == [f"Your unit export #{job.pk} is done"]
    assert [m.to for m in mail.outbox] == [[admin_user.email]]


@pytest.mark.parametrize("status", [Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.FAILED])
def test_an_export_that_is_not_done_cannot_be_downloaded(client, admin_user, status):
    job = Job.objects.create(
        organization=admin_user.organization, owner=admin_user, kind=Job.Kind.EXPORT, status=status
    )
    # Even were part of a result stored, an unfinished or failed export serves none of it.
    JobChunk.objects.create(job=job, part=JobChunk.Part.RESULT, seq=0, data=b"catalog_number\n")
    client.force_login(admin_user)  # its owner, an admin

    response = client.get(reverse("inventory:job_download", args=[job.pk]))

    assert response.status_code == 404
