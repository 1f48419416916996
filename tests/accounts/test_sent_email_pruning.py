"""The sent-log (accounts.SentEmail) is pruned with the job results, but only past the longest
time a job that sent an email could still be retried (core.tasks.longest_retry_window): a row
pruned sooner would let the retry send the same email twice."""

import datetime
import io

import pytest
from django.core import checks, mail
from django.core.management import call_command
from django.utils import timezone

from accounts.mail import send_email_once, sent_emails_prune
from accounts.models import SentEmail
from core.tasks import longest_retry_window
from tests import taskqueue

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _sent(key, age):
    row = SentEmail.objects.create(key=key, recipient=f"{key}@x.test")
    SentEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now() - age)
    return row


def test_old_rows_go_and_rows_inside_the_window_stay(settings):
    settings.SENT_EMAIL_DAYS = 7
    old = _sent("old", 8 * DAY)
    recent = _sent("recent", 6 * DAY)
    fresh = _sent("fresh", datetime.timedelta(minutes=1))
    out = io.StringIO()
    call_command("prune_job_results", stdout=out)
    assert set(SentEmail.objects.all()) == {recent, fresh}
    assert old.pk not in SentEmail.objects.values_list("pk", flat=True)
    assert "Pruned 1 sent-email log row(s)." in out.getvalue()


def test_the_window_covers_every_retry_and_a_lost_worker_of_the_email_task(settings):
    settings.TASK_MAX_ATTEMPTS = 5
    settings.TASK_RETRY_BACKOFF = 30
    settings.TASK_RETRY_BACKOFF_MAX = 3600
    settings.TASK_LEASE = 1800
    settings.TASK_LEASE_SWEEP = 300
    # Four waits (30+60+120+240 s) and five attempts, each of which may sit RUNNING on a dead
    # worker until its lease (TASK_LEASE) runs out and the next sweep (TASK_LEASE_SWEEP) finds it.
    expected = 450 + 5 * (1800 + 300)
    assert longest_retry_window(send_email_once.module_path) == datetime.timedelta(seconds=expected)


def test_a_keep_time_shorter_than_the_retry_window_is_refused(settings):
    settings.SENT_EMAIL_DAYS = 0
    errors = [e for e in checks.run_checks() if e.id == "accounts.E001"]
    assert errors and "SENT_EMAIL_DAYS" in errors[0].msg
    _sent("inside", datetime.timedelta(minutes=5))
    with pytest.raises(Exception, match="SENT_EMAIL_DAYS"):
        sent_emails_prune()
    assert SentEmail.objects.count() == 1


def test_the_default_keep_time_passes_the_check():
    assert not [e for e in checks.run_checks() if e.id == "accounts.E001"]


def test_a_retry_at_the_end_of_the_window_after_a_prune_does_not_send_twice(settings):
    settings.EMAIL_BACKEND = "tests.taskqueue.FailsOnSecondEmail"
    taskqueue.FailsOnSecondEmail.emails_tried = 0
    result = taskqueue.email_three.enqueue(key="transfer:9", to=["a@x.test", "b@x.test"])
    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["a@x.test"]]
    # The daily prune runs at the last moment the retry could still come.
    latest_retry = timezone.now() + longest_retry_window(taskqueue.email_three.module_path)
    sent_emails_prune(now=latest_retry)
    taskqueue.make_due(result)
    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["a@x.test"], ["b@x.test"]]
