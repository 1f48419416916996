"""Email never breaks a saved action: line breaks in user-typed text stay out of headers, and a
failure to send after commit is logged, never a 500 (the attack run's @mention case)."""

import logging
import smtplib

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from accounts import services as account_services
from config.mail import header_safe
from events.models import Comment
from tests.events.factories import FacilityFactory, ProcedureFactory, open_event

CRLF = "\r\nBcc: victim@example.com\r\n"


class FailingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection lost")


FAILING = f"{__name__}.FailingBackend"


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


def _comment(client, author, event, body, capture):
    client.force_login(author)
    with capture(execute=True):
        return client.post(reverse("events:comment_add", args=[event.pk]), {"body": body})


def test_a_mention_comment_is_saved_and_answers_normally_when_email_fails(
    client, rep, mentioned, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING
    event = open_event(rep)
    with caplog.at_level(logging.ERROR, logger="trunkpool.mail"):
        response = _comment(
            client, rep, event, f"@{mentioned.username} check", django_capture_on_commit_callbacks
        )
    assert response.status_code == 302
    assert Comment.objects.filter(event=event).count() == 1
    assert "could not be sent" in caplog.text and mentioned.email in caplog.text


def test_line_breaks_in_every_typed_field_that_reaches_the_mention_email(
    client, org, rep, mentioned, mailoutbox, django_capture_on_commit_callbacks
):
    rep.display_name = f"Riley{CRLF}Rep"
    rep.save(update_fields=["display_name"])
    facility = FacilityFactory(organization=org, name=f"St. Mary's{CRLF}")
    procedure = ProcedureFactory(organization=org, name=f"TKA{CRLF}")
    named = open_event(rep, name=f"=Knee{CRLF}case")
    generated = open_event(rep, facility=facility, procedure=procedure)  # name from the directory
    for event in (named, generated):
        response = _comment(
            client, rep, event, f"@{mentioned.username}\r\nhi", django_capture_on_commit_callbacks
        )
        assert response.status_code == 302
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert "\r" not in message.subject and "\n" not in message.subject
        assert message.bcc == [] and message.to == [mentioned.email]
        assert "victim@example.com" not in message.message()["To"]
        assert message.message()["Bcc"] is None
    assert "St. Mary's Bcc: victim@example.com" in mailoutbox[1].subject
    assert Comment.objects.count() == 2


def test_the_invitation_survives_line_breaks_in_names_and_a_failing_server(
    admin_user, org, settings, caplog, mailoutbox, django_capture_on_commit_callbacks
):
    org.name = f"Demo{CRLF}Ortho"
    org.save()
    admin_user.display_name = f"Avery{CRLF}"
    admin_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        account_services.user_create(
            actor=admin_user,
            organization=org,
            username="newbie",
            role="rep",
            display_name=f"New{CRLF}",
            email="newbie@example.com",
        )
    [message] = mailoutbox
    assert "\n" not in message.subject and message.message()["Bcc"] is None

    settings.EMAIL_BACKEND = FAILING
    with (
        caplog.at_level(logging.ERROR, logger="trunkpool.mail"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        user = account_services.user_create(
            actor=admin_user,
            organization=org,
            username="second",
            role="rep",
            email="second@example.com",
        )
    assert user.pk and "could not be sent" in caplog.text


def test_a_password_reset_request_answers_normally_when_email_fails(
    client, rep, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING
    with (
        caplog.at_level(logging.ERROR, logger="trunkpool.mail"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(reverse("password_reset"), {"email": rep.email})
    assert response.status_code == 302
    assert "could not be sent" in caplog.text
