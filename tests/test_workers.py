"""Real worker processes on PostgreSQL: two share one queue and every job runs exactly once; a
worker killed mid-job has its job put back when its lease runs out (jobs.leases), and another
worker runs it to one effect, while a long job on a live worker is never put back."""

import datetime

import pytest
from django.db.models import Count
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from accounts.models import Notification, SentEmail
from inventory.models import Unit
from inventory.services.imports import units_import_begin
from jobs.models import Job, TaskLease
from tests import taskqueue
from tests.inventory.factories import ProductFactory, ledger_problems
from tests.processes import start_worker, wait_until

JOBS = 200


@pytest.mark.postgres
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_run_200_jobs_each_exactly_once(tmp_path):
    for n in range(JOBS):
        taskqueue.record_once.enqueue(n=n)
    workers = [start_worker(tmp_path, f"worker-{i}", batch=True) for i in range(2)]
    try:
        # Each worker holds its first job until both have claimed one (tests/taskqueue.py), so the
        # jobs are always shared between the two processes.
        wait_until(
            lambda: DBTaskResult.objects.running().count() == 2,
            processes=workers,
            what="both workers to claim a job",
        )
        taskqueue.open_gate()
        exit_codes = [worker.wait(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            worker.stop()

    assert exit_codes == [0, 0], "\n".join(w.output() for w in workers)
    assert DBTaskResult.objects.count() == JOBS
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {
        TaskResultStatus.SUCCESSFUL
    }
    claims = list(DBTaskResult.objects.values_list("worker_ids", flat=True))
    assert all(len(ids) == 1 for ids in claims)  # claimed once, never retried
    assert {ids[0] for ids in claims} == {"worker-0", "worker-1"}
    effects = SentEmail.objects.filter(key__startswith="probe:").exclude(key=taskqueue.GATE_KEY)
    assert set(effects.values_list("key", flat=True)) == {f"probe:{n}" for n in range(JOBS)}
    assert not effects.values("key").annotate(n=Count("pk")).filter(n__gt=1).exists()


# A short lease, renewed every LEASE/3 s, and a sweep by every worker every SWEEP s (jobs.leases).
LEASE, SWEEP = 1.5, 0.2
SHORT_LEASES = {"TASK_LEASE": str(LEASE), "TASK_LEASE_SWEEP": str(SWEEP)}
HEALTHY_SECONDS = 3.5 * LEASE
IMPORT_CSV = "catalog_number,serial_number,lot_number,expiration_date,quantity\n" + "".join(
    f"KW-1,,L{n},2030-01-01,4\n" for n in range(2)
)


@pytest.mark.postgres
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_import_reruns_on_another_worker_once_and_a_long_live_job_stays_put(
    tmp_path, admin_user, distributor, settings
):
    ProductFactory(organization=admin_user.organization, lot_tracked=True, catalog_number="KW-1")
    settings.IMPORT_MAX_UNITS = 5  # 8 units: a background import
    job = units_import_begin(
        actor=admin_user, data=IMPORT_CSV.encode(), default_custodian=distributor
    )
    DBTaskResult.objects.all().delete()  # its queued task, replaced by the one that holds
    held = taskqueue.import_held_on_first_try.enqueue(
        organization_id=admin_user.organization_id, job_id=job.pk
    )
    # Queued second, so whichever worker starts first takes the import and the other this.
    healthy = taskqueue.slow_then_record.enqueue(key="probe:healthy", seconds=HEALTHY_SECONDS)
    workers = {name: start_worker(tmp_path, name, env=SHORT_LEASES) for name in ("w1", "w2")}
    everyone = list(workers.values())
    try:
        wait_until(
            lambda: any(taskqueue.HOLDING in w.output() for w in workers.values()),
            processes=workers.values(),
            what="the import's first try to hold",
        )
        (doomed_name,) = taskqueue.job_row(held).worker_ids
        doomed = workers.pop(doomed_name)
        doomed.popen.kill()  # SIGKILL: no handler, no goodbye
        doomed.popen.wait()
        last_lease = TaskLease.objects.get(task_id=held.id).expires_at
        # Until both tasks are recorded done and their leases dropped: the job's own status
        # turns DONE inside the task, a moment before its worker records the result and
        # drops the lease, and stopping the worker in that moment left the lease behind.
        wait_until(
            lambda: (
                Job.objects.get(pk=job.pk).status == Job.Status.DONE
                and all(
                    taskqueue.job_row(t).status == TaskResultStatus.SUCCESSFUL
                    for t in (held, healthy)
                )
                and not TaskLease.objects.filter(task_id__in=[held.id, healthy.id]).exists()
            ),
            processes=workers.values(),
            what="the other worker to finish the import and both leases to go",
        )
    finally:
        for worker in everyone:
            worker.stop()

    # The import: put back once its lease had run out, promptly (the worker that puts it
    # back sets run_after), then run to one effect by the other worker.
    row = taskqueue.job_row(held)
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.worker_ids == [doomed_name, *workers]
    # Scheduling slack on a busy machine; without leases it stayed put for TASK_STALE_AFTER.
    assert last_lease < row.run_after <= last_lease + datetime.timedelta(seconds=SWEEP + 3)
    job.refresh_from_db()
    assert (job.status, job.result_count) == (Job.Status.DONE, 8)
    assert Unit.objects.filter(custodian=distributor).count() == 8
    assert Notification.objects.filter(url__contains=f"/{job.pk}/").count() == 1
    assert ledger_problems() == []
    # The healthy job outlived three leases, and was never put back while its worker lived.
    row = taskqueue.job_row(healthy)
    assert (row.status, row.worker_ids) == (TaskResultStatus.SUCCESSFUL, [*workers])
    assert row.run_after == get_date_max()  # as queued: a put-back sets it to the sweep's now
    assert row.finished_at - row.started_at > datetime.timedelta(seconds=3 * LEASE)
    assert SentEmail.objects.filter(key="probe:healthy").count() == 1
    # Both leases are gone: the dead worker's swept, the live one's dropped at the end.
    assert not TaskLease.objects.filter(task_id__in=[held.id, healthy.id]).exists()
