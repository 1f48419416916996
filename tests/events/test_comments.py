"""Comments, @mentions and notifications.

A mention must name someone who can see the event; each mentioned person gets an in-app
notification at once and an email job, enqueued in the same transaction, that a worker sends.
"""

import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.models import Notification
from events import selectors
from events.models import Comment, Mention
from events.services.comments import comment_add, comment_edit
from tests.events.factories import open_event
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.taskqueue import run_worker


@pytest.fixture
def cast(org):
    """riley's Case; dana is her distributor; alex an admin. Everyone else cannot see it."""
    dana = DistributorFactory(organization=org, username="dana", display_name="Dana Distributor")
    riley = RepFactory(
        organization=org, username="riley", display_name="Riley Rep", assigned_to=dana
    )
    group = dana.distributor_group
    group.pooling_enabled = True  # pooling shares stock, never events
    group.save(update_fields=["pooling_enabled"])
    other_org = OrganizationFactory()
    return {
        "riley": riley,
        "dana": dana,
        "alex": UserFactory(organization=org, admin=True, username="alex", display_name="Alex"),
        "sam": RepFactory(organization=org, username="sam", assigned_to=dana),
        "casey": RepFactory(
            organization=org,
            username="casey",
            assigned_to=DistributorFactory(organization=org, username="drew"),
        ),
        "gone": UserFactory(organization=org, admin=True, username="gone", is_active=False),
        "olga": UserFactory(organization=other_org, admin=True, username="olga"),
        "event": open_event(riley, name="Knee for Dr. A"),
    }


def nothing_stored():
    return (Comment.objects.count(), Mention.objects.count(), Notification.objects.count()) == (
        0,
        0,
        0,
    )


# --- comment_add ------------------------------------------------------------------------------


def test_mentioning_someone_who_can_see_the_event_notifies_them_and_emails_through_a_job(
    cast, mailoutbox
):
    riley, dana, event = cast["riley"], cast["dana"], cast["event"]

    comment = comment_add(actor=riley, event=event, body="@dana can you bring a tray?")
    assert mailoutbox == []  # the action only enqueued the email
    (job,) = DBTaskResult.objects.all()
    assert job.task_path == "accounts.mail.send_email_once"
    assert job.args_kwargs["kwargs"]["organization_id"] == event.organization_id
    run_worker()

    assert list(comment.mentions.values_list("user_id", flat=True)) == [dana.pk]
    (notification,) = Notification.objects.all()
    assert (
        notification.user_id,
        notification.event_id,
        notification.comment_id,
        notification.actor_id,
        notification.kind,
        notification.read_at,
    ) == (dana.pk, event.pk, comment.pk, riley.pk, Notification.Kind.MENTION, None)
    (email,) = mailoutbox
    assert email.to == [dana.email]
    assert email.subject == "Riley Rep mentioned you on Knee for Dr. A"
    assert "@dana can you bring a tray?" in email.body
    assert f"/events/{event.pk}/#comment-{comment.pk}" in email.body


def test_no_email_is_sent_when_the_transaction_does_not_commit(cast, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        comment_add(actor=cast["riley"], event=cast["event"], body="@dana hello")
        assert DBTaskResult.objects.count() == 1
        raise RuntimeError("whatever the comment was part of failed")

    assert nothing_stored()
    assert not DBTaskResult.objects.exists()
    run_worker()
    assert mailoutbox == []


def test_each_mentioned_person_gets_one_notification_and_one_email(cast, mailoutbox):
    comment_add(
        actor=cast["riley"],
        event=cast["event"],
        body="@Dana and @ALEX, see this. @dana again.",
    )
    run_worker()

    assert sorted(Notification.objects.values_list("user__username", flat=True)) == [
        "alex",
        "dana",
    ]
    assert sorted(email.to[0] for email in mailoutbox) == [
        cast["alex"].email,
        cast["dana"].email,
    ]


def test_the_distributor_can_mention_her_rep_on_the_reps_event(cast, mailoutbox):
    comment_add(actor=cast["dana"], event=cast["event"], body="@riley done?")
    run_worker()

    assert list(Notification.objects.values_list("user_id", "actor_id")) == [
        (cast["riley"].pk, cast["dana"].pk)
    ]
    assert [email.to for email in mailoutbox] == [[cast["riley"].email]]


def test_mentioning_yourself_notifies_nobody(cast, mailoutbox):
    comment_add(actor=cast["riley"], event=cast["event"], body="note to @riley")
    run_worker()

    assert not Notification.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("@casey take a look", "@casey cannot see this event, so they cannot be mentioned here."),
        ("@sam take a look", "@sam cannot see this event, so they cannot be mentioned here."),
        # A distributor speaks only for her own group's reps.
        ("@drew take a look", "@drew cannot see this event, so they cannot be mentioned here."),
        ("@gone take a look", "@gone cannot see this event, so they cannot be mentioned here."),
        # Another organization's user is "unknown": nothing across organizations leaks.
        ("@olga take a look", "There is no user @olga in your organization."),
        ("@nobody take a look", "There is no user @nobody in your organization."),
        ("@dana and @casey", "@casey cannot see this event, so they cannot be mentioned here."),
    ],
)
def test_mentioning_someone_who_cannot_see_the_event_is_refused_and_stores_nothing(
    cast, mailoutbox, body, message
):
    with pytest.raises(ValidationError) as refused:
        comment_add(actor=cast["riley"], event=cast["event"], body=body)

    assert message in refused.value.message_dict["body"]
    assert nothing_stored()
    assert not DBTaskResult.objects.exists()
    run_worker()
    assert mailoutbox == []


def test_every_refused_name_is_listed(cast):
    with pytest.raises(ValidationError) as refused:
        comment_add(actor=cast["riley"], event=cast["event"], body="@casey @nobody @dana @olga")

    assert refused.value.message_dict["body"] == [
        "@casey cannot see this event, so they cannot be mentioned here.",
        "There is no user @nobody in your organization.",
        "There is no user @olga in your organization.",
    ]


def test_an_email_address_in_a_comment_is_not_a_mention(cast):
    comment = comment_add(
        actor=cast["riley"], event=cast["event"], body="write to casey@example.com"
    )
    assert not comment.mentions.exists()


@pytest.mark.parametrize("body", ["", "   \n "])
def test_an_empty_comment_is_refused(cast, body):
    with pytest.raises(ValidationError):
        comment_add(actor=cast["riley"], event=cast["event"], body=body)
    assert nothing_stored()


def test_a_comment_is_shown_escaped_with_its_mentions_highlighted(client, cast):
    comment_add(
        actor=cast["riley"], event=cast["event"], body="<script>alert(1)</script> @dana <b>x</b>"
    )
    client.force_login(cast["dana"])

    body = client.get(reverse("events:event_detail", args=[cast["event"].pk])).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>x</b>" not in body
    assert "@dana</span>" in body


# --- resolve_mentions --------------------------------------------------------------------------


def test_resolve_mentions_is_one_query(cast, django_assert_num_queries):
    event = cast["event"]

    with django_assert_num_queries(1):
        visible, hidden, unknown = selectors.resolve_mentions(
            event=event, names=["dana", "casey", "nobody", "alex", "olga", "riley", "sam"]
        )

    assert [u.username for u in visible] == ["dana", "alex", "riley"]
    assert hidden == ["casey", "sam"]
    assert unknown == ["nobody", "olga"]


def test_resolve_mentions_of_nothing_asks_nothing(cast, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.resolve_mentions(event=cast["event"], names=[]) == ([], [], [])


def test_mentions_match_usernames_whatever_their_case(org, cast):
    mixed = UserFactory(organization=org, admin=True, username="Jo.Smith")

    comment = comment_add(actor=cast["riley"], event=cast["event"], body="ping @jo.smith")

    assert list(comment.mentions.values_list("user_id", flat=True)) == [mixed.pk]


def test_mentions_match_usernames_with_non_ascii_capitals(org, cast):
    # Usernames may hold any letters; "@élodie" names Élodie on every supported database.
    elodie = UserFactory(organization=org, admin=True, username="Élodie")

    comment = comment_add(actor=cast["riley"], event=cast["event"], body="ping @élodie")

    assert list(comment.mentions.values_list("user_id", flat=True)) == [elodie.pk]


# --- comment_edit -------------------------------------------------------------------------------


def test_editing_a_comment_notifies_only_the_newly_mentioned(cast, mailoutbox):
    riley, dana, alex = cast["riley"], cast["dana"], cast["alex"]
    comment = comment_add(actor=riley, event=cast["event"], body="@dana first")
    run_worker()
    mailoutbox.clear()

    comment_edit(actor=riley, comment=comment, body="@dana first, and @alex too")
    run_worker()

    assert sorted(comment.mentions.values_list("user_id", flat=True)) == sorted([dana.pk, alex.pk])
    assert Notification.objects.filter(user=dana).count() == 1
    assert Notification.objects.filter(user=alex).count() == 1
    assert [email.to for email in mailoutbox] == [[alex.email]]
    comment.refresh_from_db()
    assert comment.body == "@dana first, and @alex too"
    assert comment.edited_at is not None


def test_editing_away_a_mention_removes_it_and_notifies_nobody(cast, mailoutbox):
    riley, alex = cast["riley"], cast["alex"]
    comment = comment_add(actor=riley, event=cast["event"], body="@dana @alex")
    run_worker()
    mailoutbox.clear()

    comment_edit(actor=riley, comment=comment, body="only @alex now")
    run_worker()

    assert list(comment.mentions.values_list("user_id", flat=True)) == [alex.pk]
    assert Notification.objects.count() == 2  # the two from the original comment
    assert mailoutbox == []


def test_editing_in_a_mention_of_someone_who_cannot_see_is_refused_and_keeps_the_comment(cast):
    riley = cast["riley"]
    comment = comment_add(actor=riley, event=cast["event"], body="@dana first")

    with pytest.raises(ValidationError) as refused:
        comment_edit(actor=riley, comment=comment, body="@dana and @casey")

    assert "@casey cannot see this event" in " ".join(refused.value.messages)
    comment.refresh_from_db()
    assert (comment.body, comment.edited_at) == ("@dana first", None)
    assert list(comment.mentions.values_list("user__username", flat=True)) == ["dana"]
    assert Notification.objects.count() == 1


def test_only_the_author_edits_a_comment(cast):
    comment = comment_add(actor=cast["riley"], event=cast["event"], body="mine")

    with pytest.raises(PermissionDenied):
        comment_edit(actor=cast["dana"], comment=comment, body="@alex hijacked")

    comment.refresh_from_db()
    assert comment.body == "mine"
    assert not Notification.objects.exists()


# --- Pages: comment form, autocomplete, bell ----------------------------------------------------


def test_a_refused_comment_on_the_page_says_who_and_keeps_the_draft(client, cast):
    client.force_login(cast["riley"])
    url = reverse("events:comment_add", args=[cast["event"].pk])

    response = client.post(url, {"body": "@casey look at this"}, follow=True)

    body = response.content.decode()
    assert "@casey cannot see this event, so they cannot be mentioned here." in body
    assert "@casey look at this</textarea>" in body
    assert nothing_stored()


def test_a_comment_on_the_page_lands_at_its_anchor_and_lists_its_mentions(client, cast):
    client.force_login(cast["riley"])
    url = reverse("events:comment_add", args=[cast["event"].pk])

    response = client.post(url, {"body": "@dana thanks"})

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response.url.endswith(f"/events/{cast['event'].pk}/#comment-{comment.pk}")
    page = client.get(response.url).content.decode()
    assert f'id="comment-{comment.pk}"' in page
    assert "@dana</span>" in page


def autocomplete(client, user, event, q=""):
    client.force_login(user)
    response = client.get(reverse("events:mention_autocomplete", args=[event.pk]), {"q": q})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [row["username"] for row in json.loads(response.content)["results"]]


def test_autocomplete_offers_only_people_who_can_see_the_event(client, cast):
    assert autocomplete(client, cast["riley"], cast["event"]) == ["alex", "dana", "riley"]
    # The same list, whoever of them asks.
    assert autocomplete(client, cast["dana"], cast["event"]) == ["alex", "dana", "riley"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("d", ["dana"]),  # not drew (another group's distributor), not dave (another org)
        ("@da", ["dana"]),
        ("DANA", ["dana"]),
        ("Riley R", ["riley"]),  # display name prefix
        ("c", []),  # casey cannot see it
        ("s", []),  # nor can sam, though pooling is on
        ("o", []),  # nor olga, of another organization
    ],
)
def test_autocomplete_narrows_by_username_or_name_prefix(client, cast, q, expected):
    UserFactory(organization=cast["olga"].organization, admin=True, username="dave")
    assert autocomplete(client, cast["riley"], cast["event"], q) == expected


def test_autocomplete_of_an_event_one_cannot_see_is_404(client, cast):
    client.force_login(cast["casey"])
    url = reverse("events:mention_autocomplete", args=[cast["event"].pk])
    assert client.get(url, {"q": "r"}).status_code == 404


def unread_badge(client):
    body = client.get(reverse("home")).content.decode()
    match = re.search(r'data-testid="unread-count">\s*(\d+)\s*<', body)
    return int(match.group(1)) if match else None


@pytest.fixture
def dana_mentioned_twice(cast):
    riley, event = cast["riley"], cast["event"]
    first = comment_add(actor=riley, event=event, body="@dana one")
    second = comment_add(actor=riley, event=event, body="@dana two")
    comment_add(actor=riley, event=event, body="@alex not for dana")
    return [
        Notification.objects.get(user=cast["dana"], comment_id=first.pk),
        Notification.objects.get(user=cast["dana"], comment_id=second.pk),
    ]


def test_the_bell_counts_ones_own_unread_notifications(client, cast, dana_mentioned_twice):
    client.force_login(cast["dana"])
    assert unread_badge(client) == 2

    client.force_login(cast["riley"])
    assert unread_badge(client) is None


def test_marking_a_notification_read_lowers_the_count(client, cast, dana_mentioned_twice):
    first, second = dana_mentioned_twice
    client.force_login(cast["dana"])

    response = client.post(reverse("accounts:notification_read"), {"id": first.pk})

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert unread_badge(client) == 1

    client.post(reverse("accounts:notification_read"), {"all": "1"})
    assert unread_badge(client) is None
    assert not Notification.objects.filter(user=cast["dana"], read_at__isnull=True).exists()
    # Alex's notification is Alex's: nobody else reads it for him.
    assert Notification.objects.filter(user=cast["alex"], read_at__isnull=True).count() == 1


def test_marking_someone_elses_notification_read_does_nothing(client, cast, dana_mentioned_twice):
    first, _ = dana_mentioned_twice
    client.force_login(cast["alex"])

    client.post(reverse("accounts:notification_read"), {"id": first.pk})

    first.refresh_from_db()
    assert first.read_at is None


def test_opening_a_notification_marks_it_read_and_goes_to_the_comment(
    client, cast, dana_mentioned_twice
):
    first, second = dana_mentioned_twice
    client.force_login(cast["dana"])

    response = client.get(reverse("accounts:notification_open", args=[first.pk]))

    assert response.status_code == 302
    assert response.url == (
        reverse("events:event_detail", args=[cast["event"].pk]) + f"#comment-{first.comment_id}"
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_opening_someone_elses_notification_is_404(client, cast, dana_mentioned_twice):
    first, _ = dana_mentioned_twice
    client.force_login(cast["riley"])

    assert client.get(reverse("accounts:notification_open", args=[first.pk])).status_code == 404
    first.refresh_from_db()
    assert first.read_at is None


def test_the_notification_list_shows_ones_own_notifications(client, cast, dana_mentioned_twice):
    client.force_login(cast["dana"])

    body = client.get(reverse("accounts:notification_list")).content.decode()

    assert body.count("Riley Rep mentioned you on Knee for Dr. A") == 2
    assert "not for dana" not in body
