"""Keyset pagination (core/keyset.py): no OFFSET, a page plus one row, and no row skipped or
repeated while rows are added between clicks, with ties in the sort key and NULL expiry dates."""

import base64
import datetime
import json
import re

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from core.keyset import InvalidCursor, Keyset
from inventory.models import Unit
from tests.factories import UserFactory
from tests.inventory.factories import ProductFactory, receive_units

D1 = datetime.date(2031, 1, 10)
D2 = datetime.date(2031, 2, 20)
D3 = datetime.date(2031, 3, 30)

ASCENDING = [("expiration_date", "asc"), ("pk", "asc")]
DESCENDING = [("expiration_date", "desc"), ("pk", "desc")]


@pytest.fixture
def stock(org):
    """Eleven units: ties on three dates and three with no expiry date at all."""
    admin = UserFactory(organization=org, admin=True)
    product = ProductFactory(organization=org)

    def add(expiry, n=1):
        return receive_units(admin, None, n=n, product=product, expiration_date=expiry)

    add(D1, 3)
    add(D2, 3)
    add(None, 3)
    add(D3, 2)
    return add


def _sort_key(unit, descending):
    # NULL expiry sorts after every date, in both directions.
    missing = unit.expiration_date is None
    date = unit.expiration_date or datetime.date.min
    if descending:
        return (missing, -date.toordinal(), -unit.pk)
    return (missing, date.toordinal(), unit.pk)


def _expected(descending):
    return sorted(Unit.objects.all(), key=lambda u: _sort_key(u, descending))


def test_a_page_reads_one_row_past_the_page_and_never_uses_offset(stock):
    keyset = Keyset(ASCENDING, size=4)
    first = keyset.page(Unit.objects.all())
    with CaptureQueriesContext(connection) as ctx:
        second = keyset.page(Unit.objects.all(), after=first.next_cursor)
        keyset.page(Unit.objects.all(), before=second.previous_cursor)
    # Forward from a dated row: the dated rows past it, then the NULL-expiry rows (two range
    # scans instead of one "> x OR IS NULL" that an index cannot start at the cursor).
    assert len(ctx) == 3
    limits = []
    for query in ctx.captured_queries:
        sql = query["sql"].upper()
        assert "OFFSET" not in sql
        assert "COUNT(" not in sql
        assert " OR " not in sql.split("WHERE")[1].split("AND")[0]
        limits.append(int(re.search(r"LIMIT (\d+)$", sql.rstrip()).group(1)))
    # The forward page reads at most a page plus one row over its two segments: the NULL
    # segment asks only for what the dated segment left over.
    assert limits[0] == 5 and limits[0] + limits[1] <= 5 + 4
    assert limits[2] == 5


def test_a_full_first_segment_leaves_the_null_segment_unread(stock):
    keyset = Keyset(ASCENDING, size=1)
    first = keyset.page(Unit.objects.all())
    with CaptureQueriesContext(connection) as ctx:
        keyset.page(Unit.objects.all(), after=first.next_cursor)
    # Dated rows lie past the cursor: page plus one row came from the first range, so the
    # NULL-expiry rows were never asked for.
    assert len(ctx) == 1


def test_a_list_ordered_by_a_column_that_is_never_null_reads_one_query_a_page(org):
    UserFactory.create_batch(7, organization=org)
    keyset = Keyset([("username", "asc"), ("pk", "asc")], size=3)
    from accounts.models import User

    first = keyset.page(User.objects.all())
    with CaptureQueriesContext(connection) as ctx:
        keyset.page(User.objects.all(), after=first.next_cursor)
    (query,) = ctx.captured_queries
    assert "OFFSET" not in query["sql"].upper() and query["sql"].endswith("LIMIT 4")
    assert '"username" >= ' in query["sql"]  # a range an index can start at the cursor


@pytest.mark.parametrize("ordering", [ASCENDING, DESCENDING], ids=["asc", "desc"])
def test_walking_forward_and_back_neither_skips_nor_repeats_while_rows_arrive(stock, ordering):
    descending = ordering is DESCENDING
    keyset = Keyset(ordering, size=3)
    qs = Unit.objects.all()
    all_along = {u.pk for u in qs}

    def key(unit):
        return _sort_key(unit, descending)

    def insert_around(edge, past, behind):
        """Add units on both sides of the cursor row: a tie on its date (pk decides), an
        earlier and a later date, and a NULL expiry; note which side each one lands on."""
        for expiry in (edge.expiration_date, D1, D3, None):
            (unit,) = stock(expiry)
            (past if key(unit) > key(edge) else behind).add(unit.pk)

    # Forward, adding rows after each of the first clicks.
    seen, later, earlier = [], set(), set()
    page = keyset.page(qs)
    assert page.is_first_page and not page.has_previous
    for click in range(100):
        seen.extend(page.rows)
        if not page.has_next:
            break
        if click < 3:
            insert_around(page.rows[-1], later, earlier)
        page = keyset.page(qs, after=page.next_cursor)
        assert not page.is_first_page and page.has_previous
    pks = [u.pk for u in seen]
    assert len(pks) == len(set(pks)), "a row was shown twice"
    assert all_along <= set(pks), "a row that was there all along was skipped"
    assert later <= set(pks), "a row added past the cursor was skipped"
    assert not earlier & set(pks)
    assert [key(u) for u in seen] == sorted(key(u) for u in seen)

    # Back from the last page to the first, adding rows on both sides of each cursor.
    back, behind, past = list(page.rows), set(), set()
    for click in range(100):
        if not page.has_previous:
            break
        if click < 3:
            insert_around(page.rows[0], past, behind)
        page = keyset.page(qs, before=page.previous_cursor)
        assert page.has_next
        back[:0] = page.rows
    assert page.is_first_page
    back_pks = [u.pk for u in back]
    assert len(back_pks) == len(set(back_pks)), "a row was shown twice going back"
    assert set(pks) | behind <= set(back_pks), "going back skipped a row"
    assert [key(u) for u in back] == sorted(key(u) for u in back)
    # Everything in order, except what arrived behind the person's back (past their cursor).
    assert back_pks == [u.pk for u in _expected(descending) if u.pk not in past]


def test_going_back_reaches_the_first_page_and_next_from_it_continues(stock):
    keyset = Keyset(ASCENDING, size=4)
    qs = Unit.objects.all()
    order = [u.pk for u in _expected(False)]
    p1 = keyset.page(qs)
    p2 = keyset.page(qs, after=p1.next_cursor)
    p3 = keyset.page(qs, after=p2.next_cursor)
    assert [u.pk for u in p1.rows + p2.rows + p3.rows] == order
    assert not p3.has_next
    back2 = keyset.page(qs, before=p3.previous_cursor)
    assert [u.pk for u in back2.rows] == [u.pk for u in p2.rows]
    back1 = keyset.page(qs, before=back2.previous_cursor)
    assert [u.pk for u in back1.rows] == [u.pk for u in p1.rows]
    assert back1.is_first_page and not back1.has_previous
    assert [u.pk for u in keyset.page(qs, after=back1.next_cursor).rows] == order[4:8]


def test_a_cursor_past_the_end_gives_an_empty_page_that_leads_back_to_page_one(stock):
    keyset = Keyset(ASCENDING, size=20)
    cursor = keyset.cursor_for(_expected(False)[-1])
    page = keyset.page(Unit.objects.all(), after=cursor)
    assert page.rows == [] and not page.has_next and not page.has_previous
    assert not page.is_first_page  # so the pager still shows "Page 1"


def _b64(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%%",
        "a" * 2000,
        _b64({"date": "2031-01-10"}),
        _b64(["2031-01-10"]),  # too short
        _b64(["2031-01-10", 1, 2]),  # too long
        _b64(["the day after", 1]),
        _b64(["2031-02-30", 1]),
        _b64(["2031-01-10", None]),  # a primary key is never NULL
        _b64(["2031-01-10", "one"]),
        _b64(["2031-01-10", 2**70]),
        _b64(["2031-01-10", True]),
        _b64([["nested"], 1]),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_malformed_cursor_is_refused_with_a_clear_message(org, cursor):
    with pytest.raises(InvalidCursor, match="broken or out of date"):
        Keyset(ASCENDING).page(Unit.objects.all(), after=cursor)
    with pytest.raises(InvalidCursor):
        Keyset(ASCENDING).page(Unit.objects.all(), before=cursor)


def test_an_ordering_must_end_with_the_primary_key():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        Keyset([("expiration_date", "asc")])
    with pytest.raises(ImproperlyConfigured):
        Keyset([("expiration_date", "up"), ("pk", "asc")])


@pytest.mark.parametrize("ordering", [[("serial_number", "asc"), ("pk", "asc")], ASCENDING])
@pytest.mark.parametrize("text", ["a\x00", "\x00", "2031-01-10\x00"])
def test_a_cursor_with_a_nul_character_is_refused_not_sent_to_the_database(org, ordering, text):
    # PostgreSQL cannot hold NUL in text: passing one through would be a 500, not a message.
    cursor = _b64([text, 1])
    with pytest.raises(InvalidCursor, match="broken or out of date"):
        Keyset(ordering).page(Unit.objects.all(), after=cursor)
    with pytest.raises(InvalidCursor):
        Keyset(ordering).page(Unit.objects.all(), before=cursor)


def test_a_nul_character_in_a_user_list_cursor_shows_the_first_page(client, org):
    from django.urls import reverse

    admin = UserFactory(organization=org, admin=True)
    client.force_login(admin)
    resp = client.get(reverse("accounts:user_list"), {"after": _b64(["a\x00", "b", 1])})
    assert resp.status_code == 200
    assert "broken or out of date" in resp.content.decode()


@pytest.mark.parametrize("ordering", [ASCENDING, DESCENDING], ids=["ascending", "descending"])
def test_partitions_read_apart_and_merged_give_the_same_pages_both_ways(org, ordering):
    """A list over a few holders is read one holder at a time and merged (so each read walks
    the (custodian, expiry) index): the pages, forward and back, are those of one query."""
    admin = UserFactory(organization=org, admin=True)
    holders = [UserFactory(organization=org), UserFactory(organization=org)]
    product = ProductFactory(organization=org)
    for i, holder in enumerate(holders):
        for expiry in (D1, D2, None, D3, D1):
            receive_units(admin, holder, n=1 + i, product=product, expiration_date=expiry)
    qs = Unit.objects.filter(custodian__in=holders)
    parts = [Q(custodian_id=h.pk) for h in holders]
    keyset = Keyset(ordering, size=4)

    def walk(**kwargs):
        pages, page = [], keyset.page(qs, **kwargs)
        pages.append([u.pk for u in page.rows])
        while page.next_cursor:
            page = keyset.page(qs, after=page.next_cursor, **kwargs)
            pages.append([u.pk for u in page.rows])
        back = []
        while page.previous_cursor:
            page = keyset.page(qs, before=page.previous_cursor, **kwargs)
            back.append([u.pk for u in page.rows])
        return pages, back

    merged, merged_back = walk(partitions=parts)
    whole, whole_back = walk()
    assert merged == whole and merged_back == whole_back
    assert len(merged) == 4  # 15 units, 4 a page: the walk crossed ties and the NULL rows


def test_a_partitioned_page_reads_each_holder_by_its_own_index_range(org):
    admin = UserFactory(organization=org, admin=True)
    holders = [UserFactory(organization=org), UserFactory(organization=org)]
    product = ProductFactory(organization=org)
    for holder in holders:
        receive_units(admin, holder, n=3, product=product, expiration_date=D1)
    qs = Unit.objects.filter(custodian__in=holders)
    with CaptureQueriesContext(connection) as ctx:
        Keyset(ASCENDING, size=2).page(qs, partitions=[Q(custodian_id=h.pk) for h in holders])
    assert len(ctx) == 2
    for holder, query in zip(holders, ctx.captured_queries, strict=True):
        assert f'"custodian_id" = {holder.pk}' in query["sql"]
        assert query["sql"].rstrip().endswith("LIMIT 3")
