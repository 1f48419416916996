"""Email never breaks a saved action: line breaks in user-typed text stay out of headers, and no
request waits for SMTP. The action enqueues its email; a worker sends it, and a failure there is
logged, retried, then counted on the admins' dashboard (the attack run's @mention case)."""

import logging
import smtplib

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts import services as account_services
from accounts.mail import header_safe
from core.tasks import failed_job_count
from events.models import Comment
from tests.events.factories import FacilityFactory, ProcedureFactory, open_event
from tests.taskqueue import make_due, run_worker

CRLF = "\r\nBcc: victim@example.com\r\n"


class FailingBackend(BaseEmailBackend):
    """An SMTP server that is down. It records who it was asked to reach, and when a request
    (rather than a worker) asked, the test sees it."""

    tried: list[str] = []

    def send_messages(self, email_messages):
        for message in email_messages:
            type(self).tried.extend(message.to)
        raise smtplib.SMTPServerDisconnected("connection lost")


FAILING = f"{__name__}.FailingBackend"


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = FAILING
    settings.TASK_MAX_ATTEMPTS = 2
    FailingBackend.tried = []
    return FailingBackend.tried


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("Knee\r\nBcc: x@example.com", "Knee Bcc: x@example.com"),
        ("a\nb\rc", "a b c"),
        ("a\u2028b\x85c\x0bd", "a b c d"),
        ("  plain  ", "plain"),
    ],
)
def test_header_safe(text, safe):
    assert header_safe(text) == safe


@pytest.fixture
def mentioned(distributor, rep):
    return distributor  # can see rep's events, so may be mentioned there


def _comment(client, author, event, body):
    client.force_login(author)
    return client.post(reverse("events:comment_add", args=[event.pk]), {"body": body})


def _email_jobs():
    return DBTaskResult.objects.filter(task_path="accounts.mail.send_email_once")


def test_a_mention_request_never_waits_for_smtp_and_the_worker_retries_then_fails_the_email(
    client, org, admin_user, rep, mentioned, smtp_down, caplog
):
    event = open_event(rep)
    response = _comment(client, rep, event, f"@{mentioned.username} check")

    assert response.status_code == 302
    assert Comment.objects.filter(event=event).count() == 1
    assert smtp_down == []  # the request never talked to the mail server
    (job,) = _email_jobs()
    assert job.status == TaskResultStatus.READY

    with caplog.at_level(logging.WARNING):
        run_worker()
    assert smtp_down == [mentioned.email]
    job.refresh_from_db()
    assert (job.status, len(job.worker_ids)) == (TaskResultStatus.READY, 1)  # to be retried
    assert "could not be sent" in caplog.text and mentioned.email in caplog.text
    assert failed_job_count(organization_id=org.pk) == 0  # not failed for good yet

    make_due(job)
    with caplog.at_level(logging.ERROR, logger="trunkpool.tasks"):
        run_worker()
    job.refresh_from_db()
    assert (job.status, len(job.worker_ids)) == (TaskResultStatus.FAILED, 2)
    assert "failed for good after 2 attempt(s)" in caplog.text
    assert failed_job_count(organization_id=org.pk) == 1
    assert Comment.objects.filter(event=event).count() == 1  # the action stays saved

    client.force_login(admin_user)
    page = client.get(reverse("home")).content.decode()
    assert 'data-testid="failed-jobs"' in page
    assert '<div class="display-6 fw-semibold">1</div>' in page


def test_line_breaks_in_every_typed_field_that_reaches_the_mention_email(
    client, org, rep, mentioned, mailoutbox
):
    rep.display_name = f"Riley{CRLF}Rep"
    rep.save(update_fields=["display_name"])
    facility = FacilityFactory(organization=org, name=f"St. Mary's{CRLF}")
    procedure = ProcedureFactory(organization=org, name=f"TKA{CRLF}")
    named = open_event(rep, name=f"=Knee{CRLF}case")
    generated = open_event(rep, facility=facility, procedure=procedure)  # name from the directory
    for event in (named, generated):
        response = _comment(client, rep, event, f"@{mentioned.username}\r\nhi")
        assert response.status_code == 302
    run_worker()
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert "\r" not in message.subject and "\n" not in message.subject
        assert message.bcc == [] and message.to == [mentioned.email]
        assert "victim@example.com" not in message.message()["To"]
        assert message.message()["Bcc"] is None
    assert "St. Mary's Bcc: victim@example.com" in mailoutbox[1].subject
    assert Comment.objects.count() == 2


def test_the_invitation_survives_line_breaks_in_names_and_a_failing_server(
    admin_user, org, settings, caplog, mailoutbox
):
    org.name = f"Demo{CRLF}Ortho"
    org.save()
    admin_user.display_name = f"Avery{CRLF}"
    admin_user.save()
    account_services.user_create(
        actor=admin_user,
        organization=org,
        username="newbie",
        role="rep",
        display_name=f"New{CRLF}",
        email="newbie@example.com",
    )
    run_worker()
    [message] = mailoutbox
    assert "\n" not in message.subject and message.message()["Bcc"] is None

    settings.EMAIL_BACKEND = FAILING
    FailingBackend.tried = []
    user = account_services.user_create(
        actor=admin_user,
        organization=org,
        username="second",
        role="rep",
        email="second@example.com",
    )
    assert user.pk and FailingBackend.tried == []
    with caplog.at_level(logging.ERROR, logger="trunkpool.mail"):
        run_worker()
    assert FailingBackend.tried == ["second@example.com"]
    assert "could not be sent" in caplog.text
    (job,) = _email_jobs().filter(args_kwargs__kwargs__to="second@example.com")
    assert job.args_kwargs["kwargs"]["organization_id"] == org.pk


def test_a_password_reset_request_answers_normally_when_email_fails(client, rep, smtp_down, caplog):
    response = client.post(reverse("password_reset"), {"email": rep.email})
    assert response.status_code == 302
    assert smtp_down == []
    with caplog.at_level(logging.ERROR, logger="trunkpool.mail"):
        run_worker()
    assert smtp_down == [rep.email]
    assert "could not be sent" in caplog.text
    (job,) = _email_jobs()
    assert job.args_kwargs["kwargs"]["organization_id"] == rep.organization_id
