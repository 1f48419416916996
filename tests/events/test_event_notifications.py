"""A representative hears when someone else edits, submits or reopens their event; their own
changes notify nobody."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Notification, NotificationKind
from events.services.events import event_reopen, event_submit, event_update
from tests.events.factories import open_event
from tests.factories import DistributorFactory, RepFactory, UserFactory
from tests.taskqueue import run_worker


@pytest.fixture
def people(org):
    dana = DistributorFactory(organization=org, username="dana", display_name="Dana")
    riley = RepFactory(organization=org, username="riley", display_name="Riley", assigned_to=dana)
    alex = UserFactory(organization=org, admin=True, username="alex", display_name="Alex")
    event = open_event(riley, name="Knee for Dr. A")
    return {"dana": dana, "riley": riley, "alex": alex, "event": event}


def event_notices():
    return list(
        Notification.objects.filter(kind=NotificationKind.EVENT_CHANGED)
        .order_by("pk")
        .values_list("user__username", "summary", "event_id", "url")
    )


def test_a_distributor_editing_her_reps_event_tells_the_rep(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    event = people["event"]
    with django_capture_on_commit_callbacks(execute=True):
        event_update(actor=people["dana"], event=event, notes="Bring the long stems")

    url = reverse("events:event_detail", args=[event.pk])
    assert event_notices() == [("riley", "Dana edited your event Knee for Dr. A", event.pk, url)]
    run_worker()  # email leaves through the job queue
    (message,) = mailoutbox
    assert message.to == [people["riley"].email] and url in message.body


def test_submitting_and_reopening_for_the_rep_tell_the_rep(people):
    event = people["event"]
    event_submit(actor=people["alex"], event=event)
    event_reopen(actor=people["dana"], event=event)

    assert [row[:2] for row in event_notices()] == [
        ("riley", "Alex submitted your event Knee for Dr. A"),
        ("riley", "Dana reopened your event Knee for Dr. A"),
    ]


def test_the_representatives_own_changes_notify_nobody(people):
    event = people["event"]
    event_update(actor=people["riley"], event=event, notes="mine")
    event_submit(actor=people["riley"], event=event)

    assert event_notices() == []


def test_a_refused_edit_notifies_nobody(people):
    with pytest.raises(ValidationError, match="procedure"):
        event_update(actor=people["dana"], event=people["event"], procedure=None)

    assert event_notices() == []
