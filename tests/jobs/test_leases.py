"""The lease sweep (jobs.leases) on rows as a worker leaves them: a live lease protects a task
however long it runs, a lapsed one puts it back and takes the lease away from its worker, and a
job out of attempts fails with its jobs.Job record and a notice to its owner. (The same with real
worker processes, killed: tests/test_workers.py.)"""

import datetime

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.models import Notification, NotificationKind
from inventory.services.exports import units_export_begin
from jobs.leases import lease_renew, lease_take, tasks_sweep
from jobs.models import Job, TaskLease
from tests import taskqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_lease(settings):
    settings.TASK_LEASE = 60
    settings.TASK_MAX_ATTEMPTS = 3
    return settings


def _claimed(result, *, worker_id, minutes_ago, attempts=1):
    """The row as a worker's claim leaves it, `minutes_ago`."""
    started = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=started,
        worker_ids=[f"earlier-{i}" for i in range(attempts - 1)] + [worker_id],
    )
    return started


def test_a_task_whose_lease_is_renewed_stays_running_however_long_ago_it_started(short_lease):
    long_job = taskqueue.always_fails.enqueue()
    started = _claimed(long_job, worker_id="alive", minutes_ago=600)
    lease_take(task_id=long_job.id, worker_id="alive", claimed_at=started)

    assert tasks_sweep() == {"requeued": 0, "failed": 0}
    assert lease_renew(task_id=long_job.id, worker_id="alive", claimed_at=started)
    assert taskqueue.job_row(long_job).status == TaskResultStatus.RUNNING


def test_a_lapsed_lease_puts_the_task_back_and_its_worker_learns_it_lost_it(short_lease):
    lost = taskqueue.always_fails.enqueue()
    started = _claimed(lost, worker_id="stalled", minutes_ago=5)
    lease_take(task_id=lost.id, worker_id="stalled", claimed_at=started)
    TaskLease.objects.filter(task_id=lost.id).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert tasks_sweep() == {"requeued": 1, "failed": 0}

    row = taskqueue.job_row(lost)
    assert (row.status, row.worker_ids) == (TaskResultStatus.READY, ["stalled"])
    assert row.run_after <= timezone.now()
    assert not lease_renew(task_id=lost.id, worker_id="stalled", claimed_at=started)


def test_a_job_out_of_attempts_whose_worker_died_fails_and_its_owner_is_told(
    short_lease, admin_user
):
    job = units_export_begin(actor=admin_user, params={})
    (queued,) = DBTaskResult.objects.all()
    _claimed(queued, worker_id="dead", minutes_ago=5, attempts=3)  # never leased: died first

    assert tasks_sweep() == {"requeued": 0, "failed": 1}

    assert taskqueue.job_row(queued).exception_class_path == "core.tasks.WorkerLost"
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED  # not "running" for ever
    notices = Notification.objects.filter(kind=NotificationKind.JOB_DONE, user=admin_user)
    assert list(notices.values_list("summary", flat=True)) == [f"Your unit export #{job.pk} failed"]


def test_a_lease_left_behind_by_a_worker_that_died_after_its_task_is_forgotten(short_lease):
    done = taskqueue.always_fails.enqueue()
    lease_take(task_id=done.id, worker_id="gone", claimed_at=timezone.now())
    TaskLease.objects.update(expires_at=timezone.now() - datetime.timedelta(hours=1))

    tasks_sweep()

    assert not TaskLease.objects.exists()
