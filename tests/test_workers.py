"""Two real worker processes share one queue on PostgreSQL, and every job runs exactly once."""

import pytest
from django.db.models import Count
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.models import SentEmail
from tests import taskqueue
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
