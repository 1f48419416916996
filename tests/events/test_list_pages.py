"""The event list and Mark Used page by cursor: no OFFSET, a page plus one row, fixed queries,
nothing skipped or repeated when rows arrive between clicks; and the event list's unit counts
are right for the rows shown."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from events.services.usage import event_unmark
from tests.events.factories import FacilityFactory, mark_used, open_event
from tests.factories import RepFactory
from tests.inventory.factories import ProductFactory, receive_units

WHEN = timezone.make_aware(datetime.datetime(2025, 6, 1, 12, 0))


def _next_link(body):
    return re.search(r'rel="next" href="([^"]+)"', body).group(1).replace("&amp;", "&")


def _list_sql(ctx, table):
    return [
        q["sql"]
        for q in ctx.captured_queries
        if f'FROM "{table}"' in q["sql"] and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
    ]


def _event_ids(body):
    return [int(pk) for pk in re.findall(r'data-event="(\d+)"', body)]


@pytest.fixture
def many_events(org, distributor, rep):
    """60 events of dana's group; ten share each time, so only the pk orders them."""
    sam = RepFactory(organization=org, assigned_to=distributor)
    events = []
    for i in range(60):
        events.append(
            open_event(
                distributor,
                representative=(rep, sam, distributor)[i % 3],
                scheduled_at=WHEN - datetime.timedelta(hours=i // 10),
            )
        )
    return events


@pytest.mark.parametrize("params", [{}, {"status": "open"}])
def test_event_list_pages_by_cursor_and_rows_arriving_are_neither_skipped_nor_repeated(
    client, distributor, rep, many_events, params
):
    client.force_login(distributor)
    url = reverse("events:event_list")
    with CaptureQueriesContext(connection) as first:
        body = client.get(url, params).content.decode()
    page_one = _event_ids(body)
    assert len(page_one) == 50
    # Between clicks: one event newer than everything, one older than everything.
    newest = open_event(rep, scheduled_at=WHEN + datetime.timedelta(days=1))
    oldest = open_event(rep, scheduled_at=WHEN - datetime.timedelta(days=30))
    with CaptureQueriesContext(connection) as second:
        body = client.get(url + _next_link(body)).content.decode()
    page_two = _event_ids(body)

    assert not set(page_one) & set(page_two)
    assert set(page_one) | set(page_two) == {e.pk for e in many_events} | {oldest.pk}
    assert newest.pk not in page_two
    assert len(second) == len(first)
    for ctx in (first, second):
        (sql,) = _list_sql(ctx, "events_event")
        assert "OFFSET" not in sql.upper() and sql.rstrip().endswith("LIMIT 51")
    assert "Page 1" in body and 'rel="next"' not in body


def test_event_list_query_count_is_the_same_for_one_row_and_a_full_page(
    client, org, admin_user, distributor, rep
):
    units = iter(receive_units(admin_user, rep, n=60))
    event = open_event(rep)
    mark_used(rep, event, [next(units)])
    client.force_login(admin_user)
    url = reverse("events:event_list")
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _ in range(55):
        mark_used(rep, open_event(rep), [next(units)])
    with CaptureQueriesContext(connection) as large:
        body = client.get(url).content.decode()
    assert len(_event_ids(body)) == 50
    assert len(large) == len(small)


def test_each_event_row_counts_its_units_in_use_and_only_those(client, admin_user, rep):
    units = receive_units(admin_user, rep, n=6)
    three = open_event(rep, scheduled_at=WHEN)
    mark_used(rep, three, units[:4])
    event_unmark(actor=rep, event=three, unit_ids=[units[3].pk])  # unmarked: not counted
    one = open_event(rep, scheduled_at=WHEN - datetime.timedelta(days=1))
    mark_used(rep, one, units[4:5])
    none = open_event(rep, scheduled_at=WHEN - datetime.timedelta(days=2))
    client.force_login(rep)

    body = client.get(reverse("events:event_list")).content.decode()

    counts = {
        int(pk): int(n)
        for pk, n in re.findall(
            r'<tr data-event="(\d+)">.*?<td data-label="Units">(\d+)</td>\s*<td data-label="Status"><span class="badge',
            body,
            re.S,
        )
    }
    assert counts == {three.pk: 3, one.pk: 1, none.pk: 0}


def test_an_admin_filters_the_event_list_by_typing_a_representatives_name(
    client, org, admin_user, distributor, rep
):
    sam = RepFactory(organization=org, assigned_to=distributor, username="samwise")
    hers = open_event(rep)
    his = open_event(sam)
    client.force_login(admin_user)
    url = reverse("events:event_list")

    assert set(_event_ids(client.get(url, {"representative": "samwise"}).content.decode())) == {
        his.pk
    }
    assert set(_event_ids(client.get(url, {"representative": rep.pk}).content.decode())) == {
        hers.pk
    }
    form = client.get(url).context["form"]
    assert "<option" not in str(form["representative"])
    assert Event.objects.count() == 2


def test_mark_used_pages_by_cursor_earliest_expiry_first_nothing_skipped_or_repeated(
    client, org, admin_user, rep
):
    case = open_event(rep, facility=FacilityFactory(organization=org))
    product = ProductFactory(organization=org)
    today = timezone.localdate()
    for days in range(30):  # two units per expiry date: ties ordered by pk
        receive_units(
            admin_user, rep, n=2, product=product, expiration_date=today + datetime.timedelta(days)
        )
    receive_units(admin_user, rep, n=5, product=product, expiration_date=None)
    client.force_login(rep)
    url = reverse("events:mark_used", args=[case.pk])
    with CaptureQueriesContext(connection) as first:
        body = client.get(url).content.decode()
    page_one = re.findall(r'name="unit" value="(\d+)"', body)
    assert len(page_one) == 50
    late = receive_units(
        admin_user, rep, n=1, product=product, expiration_date=today + datetime.timedelta(99)
    )[0]
    early = receive_units(admin_user, rep, n=1, product=product, expiration_date=today)[0]
    with CaptureQueriesContext(connection) as second:
        body = client.get(url + _next_link(body)).content.decode()
    page_two = re.findall(r'name="unit" value="(\d+)"', body)

    assert not set(page_one) & set(page_two)
    assert str(late.pk) in page_two and str(early.pk) not in page_two
    assert len(set(page_one) | set(page_two)) == 66
    # Page two reaches the units without an expiry date: it reads the dated rows, then the
    # undated ones (core.keyset: "value > x OR value IS NULL" would read like OFFSET).
    for ctx in (first, second):
        limits = []
        for sql in _list_sql(ctx, "inventory_unit"):
            assert "OFFSET" not in sql.upper()
            limits.append(int(re.search(r"LIMIT (\d+)$", sql.rstrip()).group(1)))
        assert limits[0] == 51 and sum(limits) <= 51 + 50  # never more than a page plus one
