"""The sent-log (accounts.SentEmail): a retried job never sends the same email twice."""

from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django_tasks import TaskResultStatus

from accounts.mail import email_send_once, send_email_once
from accounts.models import SentEmail
from tests import taskqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def fails_on_second_email(settings):
    settings.EMAIL_BACKEND = "tests.taskqueue.FailsOnSecondEmail"
    taskqueue.FailsOnSecondEmail.emails_tried = 0


def test_a_job_retried_after_a_failed_email_sends_each_email_once(fails_on_second_email):
    result = taskqueue.email_three.enqueue(
        key="transfer:7", to=["a@x.test", "b@x.test", "c@x.test"]
    )

    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["a@x.test"]]
    assert taskqueue.job_row(result).status == TaskResultStatus.READY  # to be retried

    taskqueue.make_due(result)
    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["a@x.test"], ["b@x.test"], ["c@x.test"]]
    assert taskqueue.job_row(result).status == TaskResultStatus.SUCCESSFUL
    assert SentEmail.objects.filter(key="transfer:7").count() == 3


def test_a_failed_send_leaves_no_sent_log_row(fails_on_second_email):
    email_send_once(key="k", to="a@x.test", subject="s", body="b")
    with pytest.raises(SMTPServerDisconnected):
        email_send_once(key="k", to="b@x.test", subject="s", body="b")
    assert list(SentEmail.objects.values_list("recipient", flat=True)) == ["a@x.test"]


def test_the_same_email_job_enqueued_twice_sends_once():
    for _ in range(2):
        send_email_once.enqueue(
            organization_id=None, key="reset:3", to="Riley@X.test", subject="s", body="b"
        )
    taskqueue.run_worker()

    assert [m.to for m in mail.outbox] == [["Riley@X.test"]]
    returns = sorted(r.return_value for r in taskqueue.DBTaskResult.objects.all())
    assert returns == [False, True]
    assert not email_send_once(key="reset:3", to="riley@x.TEST ", subject="s", body="b")
    # Same key, another recipient; same recipient, another key: both are new emails.
    assert email_send_once(key="reset:3", to="sam@x.test", subject="s", body="b")
    assert email_send_once(key="reset:4", to="riley@x.test", subject="s", body="b")
    assert len(mail.outbox) == 3


def test_the_database_refuses_a_second_sent_log_row():
    SentEmail.objects.create(key="k", recipient="a@x.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        SentEmail.objects.create(key="k", recipient="a@x.test")


def test_a_job_enqueued_with_a_line_break_in_its_subject_still_sends_a_one_line_subject():
    send_email_once.enqueue(
        organization_id=None, key="k", to="a@x.test", subject="Hi\r\nBcc: v@x.test", body="b"
    )
    taskqueue.run_worker()
    [message] = mail.outbox
    assert message.subject == "Hi Bcc: v@x.test" and message.message()["Bcc"] is None
