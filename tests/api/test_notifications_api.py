"""The notifications API: the caller's own notifications, and marking them read."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Notification
from tests.api.test_api_permissions import token_for
from tests.factories import RepFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


def _notice(user, minutes_ago, *, read=False, actor=None, summary="Hello"):
    return Notification.objects.create(
        user=user,
        kind=Notification.Kind.MENTION,
        actor=actor,
        summary=summary,
        url="/events/1/",
        created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None,
    )


@pytest.fixture
def rep():
    return RepFactory()


def test_the_list_is_the_callers_own_newest_first_in_pages(rep):
    someone = UserFactory(organization=rep.organization)
    old = _notice(rep, 30, actor=someone, summary="old")
    new = _notice(rep, 1, summary="new")
    middle = _notice(rep, 10, read=True, summary="middle")
    _notice(someone, 0, summary="not yours")
    client = _client(rep)
    first = client.get(reverse("api:notification_list"), {"limit": 2}).json()
    assert [n["id"] for n in first["results"]] == [new.pk, middle.pk]
    second = client.get(first["next"]).json()
    assert [n["id"] for n in second["results"]] == [old.pk]
    assert second["results"][0]["actor"] == {"id": someone.pk, "name": someone.name}
    assert first["results"][0]["actor"] is None


def test_the_unread_filter(rep):
    unread = _notice(rep, 2)
    read = _notice(rep, 1, read=True)
    client = _client(rep)
    url = reverse("api:notification_list")
    assert [n["id"] for n in client.get(url, {"unread": "true"}).json()["results"]] == [unread.pk]
    assert [n["id"] for n in client.get(url, {"unread": "false"}).json()["results"]] == [read.pk]
    bad = client.get(url, {"unread": "perhaps"})
    assert bad.status_code == 400
    assert "unread" in bad.json()["error"]["fields"]


def test_marking_read_changes_only_the_callers_own(rep):
    mine = _notice(rep, 2)
    also_mine = _notice(rep, 1)
    someone = UserFactory(organization=rep.organization)
    theirs = _notice(someone, 1)
    client = _client(rep)
    response = client.post(
        reverse("api:notification_read"), {"ids": [mine.pk, theirs.pk]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"marked": 1}
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.read_at is None and mine.read_at is not None
    response = client.post(reverse("api:notification_read"), {"all": True}, format="json")
    assert response.json() == {"marked": 1}
    also_mine.refresh_from_db()
    assert also_mine.read_at is not None


@pytest.mark.parametrize("body", [{}, {"all": True, "ids": [1]}, {"ids": ["x"]}, [1, 2]])
def test_marking_read_needs_either_ids_or_all(rep, body):
    _notice(rep, 1)
    response = _client(rep).post(reverse("api:notification_read"), body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert Notification.objects.filter(user=rep, read_at__isnull=True).count() == 1


def test_the_notification_list_costs_the_same_queries_for_more_rows(rep):
    someone = UserFactory(organization=rep.organization)
    client = _client(rep)
    url = reverse("api:notification_list")
    _notice(rep, 1, actor=someone)
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(15):
        _notice(rep, n + 2, actor=UserFactory(organization=rep.organization))
    assert count() == few
