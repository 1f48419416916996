"""The job queue (core/tasks.py on django-tasks-db): retries with back-off, the sweeper of jobs
whose worker died, the admins' failed-job count, and enqueueing inside a transaction."""

import datetime
import logging
import threading
from io import StringIO
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.models import SentEmail, User
from accounts.selectors import actor_for
from accounts.services import user_create
from core.tasks import failed_job_count, retry_delay
from events.selectors import dashboard
from jobs.leases import tasks_sweep
from tests import taskqueue
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def retry_settings(settings):
    settings.TASK_MAX_ATTEMPTS = 3
    settings.TASK_RETRY_BACKOFF = 10
    settings.TASK_RETRY_BACKOFF_MAX = 15
    return settings


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 10), (2, 20), (3, 40), (4, 60), (10, 60)])
def test_retry_delay_doubles_from_the_backoff_up_to_its_cap(settings, attempts, seconds):
    settings.TASK_RETRY_BACKOFF = 10
    settings.TASK_RETRY_BACKOFF_MAX = 60
    assert retry_delay(attempts) == datetime.timedelta(seconds=seconds)


def _assert_due_in(row, before, after, seconds):
    # Bounds taken around the worker run, not a timing: run_after = (time of failure) + delay.
    delay = datetime.timedelta(seconds=seconds)
    assert before + delay <= row.run_after <= after + delay


def test_a_failing_job_is_retried_with_back_off_then_failed_for_good(retry_settings, caplog):
    result = taskqueue.always_fails.enqueue(organization_id=None)

    before = timezone.now()
    taskqueue.run_worker()
    after = timezone.now()
    row = taskqueue.job_row(result)
    assert (row.status, len(row.worker_ids)) == (TaskResultStatus.READY, 1)
    assert row.exception_class_path == "builtins.RuntimeError"  # the last error stays readable
    _assert_due_in(row, before, after, 10)

    taskqueue.run_worker()  # not due yet: the worker leaves it alone
    assert len(taskqueue.job_row(result).worker_ids) == 1

    taskqueue.make_due(result)
    before = timezone.now()
    taskqueue.run_worker()
    after = timezone.now()
    row = taskqueue.job_row(result)
    assert (row.status, len(row.worker_ids)) == (TaskResultStatus.READY, 2)
    _assert_due_in(row, before, after, 15)  # 20 s, capped at 15

    taskqueue.make_due(result)
    with caplog.at_level(logging.ERROR, logger="trunkpool.tasks"):
        taskqueue.run_worker()
    row = taskqueue.job_row(result)
    assert (row.status, len(row.worker_ids)) == (TaskResultStatus.FAILED, 3)
    assert "failed for good after 3 attempt(s)" in caplog.text

    taskqueue.make_due(result)
    taskqueue.run_worker()  # a job failed for good is never picked up again
    assert len(taskqueue.job_row(result).worker_ids) == 3


def test_a_job_that_succeeds_on_its_retry_ends_successful(retry_settings):
    result = taskqueue.fails_first_time.enqueue(key="flaky")
    taskqueue.run_worker()
    assert taskqueue.job_row(result).status == TaskResultStatus.READY
    taskqueue.make_due(result)
    taskqueue.run_worker()
    row = taskqueue.job_row(result)
    assert (row.status, row.return_value, len(row.worker_ids)) == ("SUCCESSFUL", "done", 2)
    assert row.exception_class_path == ""


@pytest.mark.parametrize(
    "declared", [taskqueue.fails_once_only_declared, taskqueue.plain_failing_task]
)
def test_a_job_allowed_one_attempt_fails_at_once(retry_settings, declared):
    result = declared.enqueue()
    taskqueue.run_worker()
    row = taskqueue.job_row(result)
    assert (row.status, len(row.worker_ids)) == (TaskResultStatus.FAILED, 1)


def _left_running(result, *, minutes_ago, attempts=1):
    DBTaskResult.objects.filter(id=result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        worker_ids=[f"dead-{i}" for i in range(attempts)],
    )


def test_the_sweeper_requeues_a_job_whose_worker_died_and_a_worker_then_runs_it(
    retry_settings,
):
    retry_settings.TASK_LEASE = 600  # neither was ever leased: its claim is its lease
    stale = taskqueue.fails_first_time.enqueue(key="marked-before-the-worker-died")
    SentEmail.objects.create(
        key="marked-before-the-worker-died", recipient=taskqueue.PROBE_RECIPIENT
    )
    fresh = taskqueue.always_fails.enqueue()
    _left_running(stale, minutes_ago=11)
    _left_running(fresh, minutes_ago=9)  # may still be running: left alone

    out = StringIO()
    call_command("sweep_tasks", stdout=out)

    assert out.getvalue().strip() == "1 requeued, 0 failed."
    row = taskqueue.job_row(stale)
    assert row.status == TaskResultStatus.READY
    assert row.run_after <= timezone.now()
    assert taskqueue.job_row(fresh).status == TaskResultStatus.RUNNING
    taskqueue.run_worker()
    row = taskqueue.job_row(stale)
    assert (row.status, len(row.worker_ids)) == (TaskResultStatus.SUCCESSFUL, 2)
    assert taskqueue.job_row(fresh).status == TaskResultStatus.RUNNING


def test_the_sweeper_fails_a_stale_job_with_no_attempts_left(retry_settings):
    retry_settings.TASK_LEASE = 1800
    result = taskqueue.always_fails.enqueue()
    _left_running(result, minutes_ago=60, attempts=3)

    assert tasks_sweep() == {
        "requeued": 0,
        "failed": 1,
    }
    row = taskqueue.job_row(result)
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "core.tasks.WorkerLost"
    assert row.finished_at is not None


def test_the_sweeper_leaves_alone_a_job_claimed_again_while_it_looked(retry_settings):
    retry_settings.TASK_LEASE = 1800
    result = taskqueue.always_fails.enqueue()
    _left_running(result, minutes_ago=60)

    def another_sweeper_and_a_worker_got_there_first(job):
        DBTaskResult.objects.filter(id=job.id).update(
            started_at=timezone.now(), worker_ids=["dead-0", "alive"]
        )

    with mock.patch("core.tasks._import_task", another_sweeper_and_a_worker_got_there_first):
        counts = tasks_sweep()

    assert counts == {"requeued": 0, "failed": 0}
    row = taskqueue.job_row(result)
    assert (row.status, row.worker_ids) == (TaskResultStatus.RUNNING, ["dead-0", "alive"])


def test_admins_see_their_organizations_failed_jobs_of_the_last_week(retry_settings):
    org, other = OrganizationFactory(), OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    old = taskqueue.fails_once_only_declared.enqueue(organization_id=org.pk)
    taskqueue.fails_once_only_declared.enqueue(organization_id=org.pk)
    taskqueue.fails_once_only_declared.enqueue(organization_id=other.pk)
    taskqueue.fails_once_only_declared.enqueue(organization_id=None)
    retrying = taskqueue.always_fails.enqueue(organization_id=org.pk)  # failed once, will retry
    taskqueue.run_worker()
    DBTaskResult.objects.filter(id=old.id).update(
        finished_at=timezone.now() - datetime.timedelta(days=8)
    )
    assert taskqueue.job_row(retrying).status == TaskResultStatus.READY

    assert failed_job_count(organization_id=org.pk) == 1
    assert failed_job_count(organization_id=other.pk) == 1
    assert dashboard(user=admin, actor=actor_for(admin))["failed_jobs"] == 1
    rep = UserFactory(organization=org)
    assert "failed_jobs" not in dashboard(user=rep, actor=actor_for(rep))  # not even counted


def test_the_failed_job_count_shows_on_the_admin_dashboard_only(client):
    org = OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    rep = UserFactory(organization=org)
    taskqueue.fails_once_only_declared.enqueue(organization_id=org.pk)
    taskqueue.fails_once_only_declared.enqueue(organization_id=org.pk)
    taskqueue.run_worker()

    client.force_login(admin)
    page = client.get("/").content.decode()
    assert 'data-testid="failed-jobs"' in page
    assert "Background jobs failed, last 7 days" in page
    assert '<div class="display-6 fw-semibold">2</div>' in page
    client.force_login(rep)
    assert 'data-testid="failed-jobs"' not in client.get("/").content.decode()


def _jobs_seen_by_another_connection() -> int:
    seen = []

    def look():
        try:
            seen.append(DBTaskResult.objects.count())
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return seen[0]


def _invite(admin, username):
    # The real action: creating a user enqueues the invitation email (accounts.mail).
    user_create(
        actor=admin,
        organization=admin.organization,
        username=username,
        role="rep",
        email=f"{username}@example.com",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_action_leaves_no_job_and_sends_no_email():
    admin = UserFactory(organization=OrganizationFactory(), admin=True)

    with pytest.raises(RuntimeError), transaction.atomic():
        _invite(admin, "rolled-back")
        assert DBTaskResult.objects.count() == 1  # inside the transaction, the row is there
        assert _jobs_seen_by_another_connection() == 0  # no worker can see it before commit
        raise RuntimeError("the action fails after enqueueing its email")

    assert not User.objects.filter(username="rolled-back").exists()
    assert not DBTaskResult.objects.exists()
    taskqueue.run_worker()
    assert mail.outbox == []

    with transaction.atomic():  # the same action, committed: one job, one email
        _invite(admin, "committed")
    assert _jobs_seen_by_another_connection() == 1
    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["committed@example.com"]]
