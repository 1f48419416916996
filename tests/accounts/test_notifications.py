"""accounts.services.notify (the one way every app notifies), the email switches per kind, the
bell, opening a notification, and the migration that moved the old rows here."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, NotificationKind, NotificationPreference
from accounts.selectors import email_preferences, unread_count
from accounts.services import notification_preferences_set, notify
from tests.factories import OrganizationFactory, RepFactory, UserFactory
from tests.taskqueue import run_worker

K = NotificationKind


def _notify(actor, recipients, **kwargs):
    return notify(
        recipients=recipients,
        kind=kwargs.pop("kind", K.TRANSFER_WAITING),
        actor=actor,
        summary=kwargs.pop("summary", "Transfer #7 waits on you"),
        url=kwargs.pop("url", "/inventory/transfers/7/"),
        transfer_id=7,
        **kwargs,
    )


def test_notify_creates_one_row_per_person_and_emails_after_commit(
    org, rep, distributor, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = _notify(admin_user, [rep, rep.pk, distributor, None], detail="Two trays")
        assert mailoutbox == []

    assert sorted(n.user_id for n in rows) == sorted([rep.pk, distributor.pk])
    n = Notification.objects.get(user=rep)
    assert (n.kind, n.actor_id, n.transfer_id, n.event_id, n.read_at) == (
        K.TRANSFER_WAITING,
        admin_user.pk,
        7,
        None,
        None,
    )
    run_worker()  # email leaves through the job queue
    assert sorted(m.to[0] for m in mailoutbox) == sorted([rep.email, distributor.email])
    message = mailoutbox[0]
    assert message.subject == "Transfer #7 waits on you"
    assert "Two trays" in message.body
    assert f"Open it: {settings.SITE_URL}/inventory/transfers/7/" in message.body


def test_notify_leaves_out_the_actor_the_deactivated_and_other_organizations(
    org, rep, admin_user, mailoutbox
):
    gone = RepFactory(organization=org, is_active=False)
    stranger = UserFactory(organization=OrganizationFactory())

    rows = _notify(admin_user, [admin_user, gone, stranger, rep])

    assert [n.user_id for n in rows] == [rep.pk]
    assert Notification.objects.count() == 1


def test_notify_refuses_an_unknown_kind(rep, admin_user):
    with pytest.raises(ValueError, match="kind"):
        _notify(admin_user, [rep], kind="birthday")
    assert not Notification.objects.exists()


def test_email_is_on_for_every_kind_until_turned_off(rep):
    assert email_preferences(user=rep) == {kind: True for kind in K.values}

    notification_preferences_set(user=rep, email_kinds={K.MENTION})

    prefs = email_preferences(user=rep)
    assert prefs[K.MENTION] is True
    assert [kind for kind, on in prefs.items() if on] == [K.MENTION]


def test_turning_email_off_keeps_the_in_app_notification(
    rep, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    notification_preferences_set(user=rep, email_kinds=set(K.values) - {K.TRANSFER_WAITING})
    with django_capture_on_commit_callbacks(execute=True):
        _notify(admin_user, [rep])
        _notify(admin_user, [rep], kind=K.TRANSFER_ACCEPTED)

    assert Notification.objects.filter(user=rep).count() == 2
    run_worker()  # email leaves through the job queue
    assert [m.subject for m in mailoutbox] == ["Transfer #7 waits on you"]
    assert len(mailoutbox) == 1
    assert Notification.objects.filter(user=rep, kind=K.TRANSFER_ACCEPTED).exists()


def test_an_unknown_kind_in_the_settings_is_refused_and_changes_nothing(rep):
    with pytest.raises(ValidationError, match="birthday"):
        notification_preferences_set(user=rep, email_kinds={"birthday", K.MENTION})
    assert not NotificationPreference.objects.exists()


def test_the_settings_page_turns_email_off_and_on_per_kind(client, rep):
    client.force_login(rep)
    url = reverse("accounts:notification_settings")
    page = client.get(url).content.decode()
    for kind in K:
        assert f'name="{kind.value}"' in page and kind.label in page
    assert page.count("checked") == len(K)

    response = client.post(url, {K.MENTION: "on", K.HOLD_RELEASED: "on"})

    assert response.status_code == 302
    prefs = email_preferences(user=rep)
    assert {kind for kind, on in prefs.items() if on} == {K.MENTION, K.HOLD_RELEASED}
    assert client.get(url).content.decode().count("checked") == 2


def test_the_menu_links_to_the_settings_page(client, rep):
    client.force_login(rep)
    page = client.get(reverse("home")).content.decode()
    assert reverse("accounts:notification_settings") in page


def test_the_bell_is_one_query_whatever_the_count(rep, admin_user):
    for _ in range(30):
        _notify(admin_user, [rep])
    Notification.objects.filter(pk=Notification.objects.filter(user=rep).first().pk).update(
        read_at=timezone.now()
    )
    with CaptureQueriesContext(connection) as queries:
        assert unread_count(user=rep) == 29
    assert len(queries) == 1


def _unread(user, n):
    Notification.objects.bulk_create(
        Notification(user=user, kind=K.TRANSFER_WAITING, summary=f"n{i}", url="/") for i in range(n)
    )


@pytest.mark.parametrize("unread, badge", [(99, "99"), (100, "99+"), (250, "99+")])
def test_the_bell_counts_to_99_then_says_99_plus(client, rep, unread, badge):
    """A pile of unread notifications costs each page a bounded read, and the badge says so."""
    _unread(rep, unread)
    with CaptureQueriesContext(connection) as queries:
        assert unread_count(user=rep) == min(unread, 100)
    assert "LIMIT 100" in queries[0]["sql"] and "ORDER BY" not in queries[0]["sql"]
    client.force_login(rep)
    page = client.get(reverse("home")).content.decode()
    assert f'data-testid="unread-count">{badge}</span>' in page
    assert f"Notifications, {badge} unread" in page


def test_opening_a_notification_marks_it_read_and_goes_to_what_it_is_about(client, rep, admin_user):
    (n,) = _notify(admin_user, [rep])
    client.force_login(rep)

    response = client.get(reverse("accounts:notification_open", args=[n.pk]))

    assert response.status_code == 302 and response["Location"] == "/inventory/transfers/7/"
    n.refresh_from_db()
    assert n.read_at is not None


@pytest.mark.parametrize(
    "url", ["https://evil.example/", "//evil.example/x", "", "javascript:1", "inventory/x/"]
)
def test_a_notification_never_sends_anyone_off_site(client, rep, admin_user, url):
    (n,) = _notify(admin_user, [rep], url=url)
    client.force_login(rep)

    response = client.get(reverse("accounts:notification_open", args=[n.pk]))

    assert response["Location"] == reverse("accounts:notification_list")


def test_the_list_shows_the_summary_and_links_each_notification(client, rep, admin_user):
    (n,) = _notify(admin_user, [rep], detail="Reason: wrong size")
    client.force_login(rep)

    body = client.get(reverse("accounts:notification_list")).content.decode()

    assert "Transfer #7 waits on you" in body and "Reason: wrong size" in body
    assert reverse("accounts:notification_open", args=[n.pk]) in body


# --- The move from events: existing rows are kept ---------------------------------------------

BEFORE = [
    ("accounts", "0004_sent_email"),
    ("inventory", "0009_case_insensitive_catalog_number_location_name"),
    ("events", "0003_event_list_status_indexes"),
]
AFTER = [
    *BEFORE[1:2],
    ("accounts", "0005_notifications"),
    ("events", "0005_delete_events_notification"),
]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_mention_notification():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Org, User = old.get_model("accounts", "Organization"), old.get_model("accounts", "User")
    Event, Comment = old.get_model("events", "Event"), old.get_model("events", "Comment")
    Facility = old.get_model("inventory", "Facility")
    org = Org.objects.create(name="Migrating")
    riley = User.objects.create(username="riley", organization=org, display_name="Riley")
    dana = User.objects.create(username="dana", organization=org, role="distributor")
    facility = Facility.objects.create(organization=org, name="St. M")
    event = Event.objects.create(
        organization=org,
        type="other",
        name="Knee",
        representative=riley,
        facility=facility,
        scheduled_at=timezone.now(),
        created_by=riley,
    )
    comment = Comment.objects.create(event=event, author=riley, body="@dana tray please")
    read_at = timezone.now()
    OldNotification = old.get_model("events", "Notification")
    OldNotification.objects.create(user=dana, event=event, comment=comment, actor=riley)
    OldNotification.objects.create(user=dana, event=event, actor=riley, read_at=read_at)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rows = list(new.get_model("accounts", "Notification").objects.order_by("pk").values())
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert [
        (r["user_id"], r["actor_id"], r["kind"], r["event_id"], r["comment_id"], r["url"])
        for r in rows
    ] == [
        (
            dana.pk,
            riley.pk,
            "mention",
            event.pk,
            comment.pk,
            f"/events/{event.pk}/#comment-{comment.pk}",
        ),
        (dana.pk, riley.pk, "mention", event.pk, None, f"/events/{event.pk}/"),
    ]
    assert [r["summary"] for r in rows] == ["Riley mentioned you on Knee"] * 2
    assert [r["detail"] for r in rows] == ["@dana tray please", ""]
    assert rows[0]["read_at"] is None and rows[1]["read_at"] == read_at
