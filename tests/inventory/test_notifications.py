"""Transfers and holds tell the people they touch, in-app and by email (after commit).

Cast: dana (distributor) with reps riley and sam; drew (another distributor) with casey; alex
an admin. Nobody is told of their own action.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Notification, NotificationKind
from accounts.services import notification_preferences_set
from inventory.services.holds import units_release_hold
from inventory.services.transfers import (
    transfer_accept,
    transfer_cancel,
    transfer_create,
    transfer_decline,
)
from tests.factories import DistributorFactory, RepFactory, UserFactory
from tests.inventory.factories import receive_units
from tests.taskqueue import run_worker

K = NotificationKind


@pytest.fixture
def cast(org):
    dana = DistributorFactory(organization=org, username="dana", display_name="Dana")
    drew = DistributorFactory(organization=org, username="drew", display_name="Drew")
    alex = UserFactory(organization=org, admin=True, username="alex", display_name="Alex")
    return {
        "dana": dana,
        "drew": drew,
        "alex": alex,
        "riley": RepFactory(organization=org, username="riley", assigned_to=dana),
        "sam": RepFactory(organization=org, username="sam", assigned_to=dana),
        "casey": RepFactory(organization=org, username="casey", assigned_to=drew),
    }


def told(kind=None):
    """{username: [summary, ...]} of every notification (of one kind)."""
    qs = Notification.objects.order_by("pk").select_related("user")
    if kind is not None:
        qs = qs.filter(kind=kind)
    out = {}
    for n in qs:
        out.setdefault(n.user.username, []).append(n.summary)
    return out


def mail_to(mailoutbox):
    run_worker()  # email leaves through the job queue
    return sorted(address for message in mailoutbox for address in message.to)


def units_of(cast, who, n=2):
    return receive_units(cast["alex"], cast[who], n=n)


def send(actor, units, recipient):
    (transfer,) = transfer_create(actor=actor, unit_ids=[u.pk for u in units], recipient=recipient)
    return transfer


def test_a_transfer_waiting_tells_the_recipient_and_their_distributor(
    cast, mailoutbox, django_capture_on_commit_callbacks
):
    units = units_of(cast, "casey")
    with django_capture_on_commit_callbacks(execute=True):
        transfer = send(cast["casey"], units, cast["riley"])

    assert told() == {
        "riley": [f"Transfer #{transfer.pk} from Casey waits on you: 2 units"],
        "dana": [f"Transfer #{transfer.pk} from Casey waits on Riley: 2 units"],
    }
    assert set(Notification.objects.values_list("kind", "transfer_id")) == {
        (K.TRANSFER_WAITING, transfer.pk)
    }
    assert mail_to(mailoutbox) == sorted([cast["riley"].email, cast["dana"].email])
    url = reverse("inventory:transfer_detail", args=[transfer.pk])
    assert all(url in message.body for message in mailoutbox)


def test_a_transfer_to_organization_custody_waits_on_the_admins(cast):
    transfer = send(cast["riley"], units_of(cast, "riley"), None)

    assert told(K.TRANSFER_WAITING) == {
        "alex": [f"Transfer #{transfer.pk} from Riley waits on organization custody: 2 units"]
    }


def test_dana_moving_rileys_units_tells_riley_and_the_recipient_it_waits_on(cast):
    units = units_of(cast, "riley")
    transfer = send(cast["dana"], units, cast["casey"])

    assert transfer.status == "pending"
    assert told(K.STOCK_MOVED) == {
        "riley": [f"Dana sent 2 units of yours to Casey (transfer #{transfer.pk})"]
    }
    assert told(K.TRANSFER_WAITING).keys() == {"casey", "drew"}
    assert "dana" not in told()  # her own action


def test_stock_moved_at_once_between_two_reps_tells_both_of_them(cast):
    units = units_of(cast, "riley", n=1)
    transfer = send(cast["dana"], units, cast["sam"])

    assert transfer.status == "completed"
    assert told() == {
        "riley": [f"Dana sent 1 unit of yours to Sam (transfer #{transfer.pk})"],
        "sam": [f"Dana took 1 unit from Riley into your custody (transfer #{transfer.pk})"],
    }
    assert not Notification.objects.filter(kind=K.TRANSFER_WAITING).exists()


def test_an_admin_moving_a_reps_stock_tells_the_rep(cast):
    units = units_of(cast, "casey", n=1)
    send(cast["alex"], units, None)

    assert told(K.STOCK_MOVED).keys() == {"casey"}


def test_a_rep_taking_from_the_pool_tells_nobody(cast):
    group = cast["dana"].distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    units = units_of(cast, "dana", n=1)
    send(cast["riley"], units, cast["riley"])

    assert told() == {}


def test_accepted_tells_the_sender_and_whoever_started_it_for_them(cast, mailoutbox):
    transfer = send(cast["dana"], units_of(cast, "riley"), cast["casey"])
    Notification.objects.all().delete()

    transfer_accept(actor=cast["casey"], transfer=transfer)

    summary = f"Casey accepted transfer #{transfer.pk} to Casey: 2 units"
    assert told() == {"riley": [summary], "dana": [summary]}
    assert set(Notification.objects.values_list("kind", flat=True)) == {K.TRANSFER_ACCEPTED}


def test_a_distributor_accepting_for_her_rep_tells_the_rep_the_stock_came_in(cast):
    transfer = send(cast["casey"], units_of(cast, "casey"), cast["riley"])
    Notification.objects.all().delete()

    transfer_accept(actor=cast["dana"], transfer=transfer)

    assert told(K.TRANSFER_ACCEPTED).keys() == {"casey"}
    assert told(K.STOCK_MOVED) == {
        "riley": [f"Dana took 2 units from Casey into your custody (transfer #{transfer.pk})"]
    }


def test_declined_tells_sender_and_starter_with_the_reason_and_the_hold(
    cast, mailoutbox, django_capture_on_commit_callbacks
):
    transfer = send(cast["dana"], units_of(cast, "riley"), cast["casey"])
    Notification.objects.all().delete()
    run_worker()  # send what earlier steps queued, then look only at what follows
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        transfer_decline(actor=cast["casey"], transfer=transfer, reason="Wrong size")

    assert told(K.TRANSFER_DECLINED) == {
        "riley": [
            f"Casey declined transfer #{transfer.pk}: your 2 units are on hold until an admin "
            "releases them"
        ],
        "dana": [
            f"Casey declined transfer #{transfer.pk}: Riley's 2 units are on hold until an "
            "admin releases them"
        ],
    }
    assert set(Notification.objects.values_list("detail", flat=True)) == {"Reason: Wrong size"}
    assert mail_to(mailoutbox) == sorted([cast["riley"].email, cast["dana"].email])
    assert all("Reason: Wrong size" in message.body for message in mailoutbox)


def test_declined_tells_a_sender_who_started_it_once(cast):
    transfer = send(cast["riley"], units_of(cast, "riley"), cast["casey"])
    Notification.objects.all().delete()

    transfer_decline(actor=cast["drew"], transfer=transfer, reason="Not ours")

    assert list(told(K.TRANSFER_DECLINED)) == ["riley"]
    assert len(told(K.TRANSFER_DECLINED)["riley"]) == 1


def test_cancelled_tells_whoever_it_waited_on_and_the_sender_when_someone_else_cancels(cast):
    transfer = send(cast["dana"], units_of(cast, "riley"), cast["casey"])
    Notification.objects.all().delete()

    transfer_cancel(actor=cast["dana"], transfer=transfer)

    summary = f"Dana cancelled transfer #{transfer.pk} from Riley to Casey: 2 units"
    assert told(K.TRANSFER_CANCELLED) == {"casey": [summary], "drew": [summary], "riley": [summary]}


def test_held_units_released_tell_their_holders(
    cast, mailoutbox, django_capture_on_commit_callbacks
):
    riley_units, sam_units = units_of(cast, "riley"), units_of(cast, "sam", n=1)
    for sender, units in (("riley", riley_units), ("sam", sam_units)):
        transfer = send(cast[sender], units, cast["casey"])
        transfer_decline(actor=cast["casey"], transfer=transfer, reason="No")
    Notification.objects.all().delete()
    run_worker()  # send what earlier steps queued, then look only at what follows
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        units_release_hold(actor=cast["alex"], unit_ids=[u.pk for u in riley_units + sam_units])

    summary = "Alex released your units on hold: they are available again"
    assert told(K.HOLD_RELEASED) == {"riley": [summary], "sam": [summary]}
    assert mail_to(mailoutbox) == sorted([cast["riley"].email, cast["sam"].email])


def test_a_kind_turned_off_still_notifies_in_app_but_sends_no_email(
    cast, mailoutbox, django_capture_on_commit_callbacks
):
    notification_preferences_set(
        user=cast["dana"], email_kinds=set(NotificationKind.values) - {K.TRANSFER_WAITING}
    )
    with django_capture_on_commit_callbacks(execute=True):
        send(cast["casey"], units_of(cast, "casey"), cast["riley"])

    assert told(K.TRANSFER_WAITING).keys() == {"riley", "dana"}
    assert mail_to(mailoutbox) == [cast["riley"].email]


def test_a_refused_transfer_tells_nobody(cast, mailoutbox, django_capture_on_commit_callbacks):
    units = units_of(cast, "riley")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        transfer_create(actor=cast["casey"], unit_ids=[u.pk for u in units], recipient=cast["dana"])

    assert told() == {}
    run_worker()  # email leaves through the job queue
    assert mailoutbox == []
