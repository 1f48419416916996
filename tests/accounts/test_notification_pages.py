"""The notification list pages by cursor: fixed queries, no OFFSET, nothing skipped or repeated
when new notifications arrive between clicks (they land on page 1, newest first)."""

import datetime
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from tests.events.factories import open_event


def _notify(user, event, when, n=1):
    return [
        Notification.objects.create(
            user=user,
            kind=Notification.Kind.MENTION,
            summary=f"mentioned on {event.name}",
            url=f"/events/{event.pk}/",
            event_id=event.pk,
            actor=event.representative,
            created_at=when,
        )
        for _ in range(n)
    ]


def test_notifications_page_by_cursor_with_fixed_queries(client, rep, distributor):
    event = open_event(rep)
    now = timezone.now()
    # Ties: ten notifications share each timestamp, so only the pk orders them.
    for minutes in range(6):
        _notify(rep, event, now - datetime.timedelta(minutes=minutes), n=10)
    _notify(distributor, event, now, n=3)  # someone else's: never listed
    client.force_login(rep)
    url = reverse("accounts:notification_list")
    with CaptureQueriesContext(connection) as first:
        body = client.get(url).content.decode()
    ids = re.findall(r'name="id" value="(\d+)"', body)
    assert len(ids) == 50
    fresh = _notify(rep, event, now + datetime.timedelta(minutes=1))[0]
    older_than_all = _notify(rep, event, now - datetime.timedelta(days=1))[0]
    next_url = re.search(r'rel="next" href="([^"]+)"', body).group(1).replace("&amp;", "&")
    with CaptureQueriesContext(connection) as second:
        body = client.get(url + next_url).content.decode()
    more = re.findall(r'name="id" value="(\d+)"', body)
    assert len(second) == len(first)
    assert not set(ids) & set(more)
    assert str(older_than_all.pk) in more and str(fresh.pk) not in more
    assert len(set(ids) | set(more)) == 61
    sql = [
        q["sql"]
        for q in second.captured_queries
        if 'FROM "accounts_notification"' in q["sql"]
        and "LIMIT" in q["sql"]
        and not q["sql"].startswith("SELECT COUNT")  # the bell's bounded count
    ][-1]
    assert "OFFSET" not in sql.upper() and sql.rstrip().endswith("LIMIT 51")
