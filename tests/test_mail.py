"""accounts.mail: every email is a job per recipient, enqueued with the action and sent once by a
worker, however often that job is retried."""

import pytest
from django.core import mail
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.mail import send_after_commit
from accounts.models import SentEmail
from tests import taskqueue

pytestmark = pytest.mark.django_db


def _kwargs():
    return [row.args_kwargs["kwargs"] for row in DBTaskResult.objects.order_by("enqueued_at")]


def test_each_recipient_gets_a_job_sharing_one_key_made_at_enqueue_time(org):
    send_after_commit(
        subject="Riley\r\nBcc: victim@example.com",
        body="Hello",
        to=["a@x.test", "", "b@x.test", "a@x.test"],
        organization_id=org.pk,
    )
    assert mail.outbox == []  # the caller only enqueued it

    queued = _kwargs()
    assert [k["to"] for k in queued] == ["a@x.test", "b@x.test"]
    assert {k["subject"] for k in queued} == {"Riley Bcc: victim@example.com"}
    assert {k["organization_id"] for k in queued} == {org.pk}
    (key,) = {k["key"] for k in queued}
    assert key.startswith("mail:")

    send_after_commit(subject="s", body="b", to=["a@x.test"])
    assert _kwargs()[-1]["key"] != key  # another call, another email
    taskqueue.run_worker()
    assert sorted(m.to[0] for m in mail.outbox) == ["a@x.test", "a@x.test", "b@x.test"]


def test_a_retried_send_reaches_each_recipient_exactly_once(settings):
    settings.EMAIL_BACKEND = "tests.taskqueue.FailsOnSecondEmail"
    taskqueue.FailsOnSecondEmail.emails_tried = 0
    send_after_commit(subject="Transfer", body="b", to=["a@x.test", "b@x.test", "c@x.test"])

    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["a@x.test"], ["c@x.test"]]
    (failed,) = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    assert failed.args_kwargs["kwargs"]["to"] == "b@x.test"

    taskqueue.make_due(failed)
    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["a@x.test"], ["c@x.test"], ["b@x.test"]]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}

    # Every job run again, as after a worker that died before recording its success: the key
    # they were enqueued with is in the sent-log, so nothing goes out twice.
    DBTaskResult.objects.update(status=TaskResultStatus.READY, finished_at=None)
    taskqueue.run_worker()
    assert len(mail.outbox) == 3
    assert SentEmail.objects.count() == 3


def test_the_callers_key_makes_a_second_enqueue_of_the_same_email_send_nothing():
    for _ in range(2):
        send_after_commit(subject="Reset", body="b", to=["riley@x.test"], key="reset:7")
    taskqueue.run_worker()
    assert [m.to for m in mail.outbox] == [["riley@x.test"]]


def test_the_html_alternative_goes_out_with_the_text():
    send_after_commit(subject="s", body="plain", to=["a@x.test"], html="<p>rich</p>")
    taskqueue.run_worker()
    [message] = mail.outbox
    assert message.body == "plain"
    assert message.alternatives == [("<p>rich</p>", "text/html")]
