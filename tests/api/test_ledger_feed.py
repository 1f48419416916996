"""The ledger feed (/api/v1/ledger/): order, resuming, scope, bad input, and no skipped entry
when transactions commit out of order.

Every test commits its rows (transaction=True): on PostgreSQL the feed shows an entry only
once the transaction that wrote it, and every older one, has ended, and a test's own open
transaction would hold back everything it wrote. The horizon is the whole server's, so another
session's open transaction (another test run) can hold the feed back a moment: `follow` waits
for the entries a test knows are committed, within a deadline.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import threading
import time
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.serializers.units import LedgerEntrySerializer
from inventory.models import CustodyEntry, EntryKind, Recall
from inventory.selectors import ledger_feed
from inventory.services.transfers import transfer_accept, transfer_create
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units

pytestmark = pytest.mark.django_db(transaction=True)

FEED = reverse("api:ledger_feed")
DEADLINE = 60  # seconds another session's open transaction may hold the horizon back


def _page(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300] if not response.streaming else ""
    if response.streaming:
        assert response["Content-Type"] == "application/json"
        return json.loads(b"".join(response.streaming_content))
    return response.json()


def read_until_caught_up(client, url) -> tuple[list[dict], str]:
    """Follow `next` from `url` until a page says caught up: the entries, and where to resume."""
    entries = []
    for _ in range(1000):
        page = _page(client, url)
        entries += page["results"]
        assert page["next"], "a feed page always says where to continue"
        url = page["next"]
        if page["caught_up"]:
            return entries, url
    raise AssertionError("the feed never caught up")


def follow(client, url=None, *, until: set[int] = frozenset(), limit: int = 2):
    """Read the feed from `url` (the start: pages of `limit`) until the entries with ids
    `until` were given, waiting out other sessions' open transactions. Returns the entries
    read, in order, and where to resume."""
    url = url or f"{FEED}?limit={limit}"
    entries: list[dict] = []
    started = time.monotonic()
    while True:
        more, url = read_until_caught_up(client, url)
        entries += more
        if until <= {e["id"] for e in entries} or time.monotonic() - started > DEADLINE:
            return entries, url
        time.sleep(0.2)


def ids(entries) -> list[int]:
    return [e["id"] for e in entries]


def feed_ids_of(client, user, expected: set[int]) -> set[int]:
    """Everything `user` reads from the start, once `expected` (committed) is readable; fails
    on an entry given twice."""
    client.force_login(user)
    entries, _ = follow(client, until=expected)
    assert len(ids(entries)) == len(set(ids(entries))), "an entry was given twice"
    # Read again as one page: an entry given twice within a page shows there.
    assert _page(client, f"{FEED}?limit=200")["results"] == entries
    return set(ids(entries))


def entry_ids(*units) -> set[int]:
    return set(CustodyEntry.objects.filter(unit__in=units).values_list("pk", flat=True))


# Order and resuming --------------------------------------------------------------------------


def test_following_next_gives_every_entry_once_in_commit_order_and_resumes_after_the_last(
    client,
):
    admin = UserFactory(admin=True)
    product = ProductFactory(organization=admin.organization)
    rep = RepFactory(organization=admin.organization)
    first = receive_units(admin, rep, n=3, product=product)
    second = receive_units(admin, None, n=2, product=product)
    transfer_create(actor=admin, unit_ids=[first[0].pk], recipient=None)
    expected = list(
        CustodyEntry.objects.filter(organization=admin.organization)
        .order_by("xact", "pk")
        .values_list("pk", flat=True)
    )
    assert len(expected) == 7  # five received; sent and accepted at once (the admin answers)

    client.force_login(admin)
    entries, resume = follow(client, until=set(expected), limit=2)

    assert ids(entries) == expected, "every entry once, in (transaction, id) order"
    # The batches committed one after the other: each transaction's entries come together,
    # and a later transaction's after an earlier one's.
    received = CustodyEntry.objects.filter(kind=EntryKind.RECEIVED)
    assert ids(entries)[:3] == sorted(received.filter(unit__in=first).values_list("pk", flat=True))
    assert ids(entries)[3:5] == sorted(entry_ids(*second))
    assert entries[0]["kind"] == "received" and entries[0]["to_custodian"] == rep.pk

    # Nothing new: resuming gives nothing and stays put.
    again = _page(client, resume)
    assert again["results"] == [] and again["caught_up"] and again["next"] == resume

    (later,) = receive_units(admin, rep, n=1, product=product)
    more, _ = follow(client, resume, until=entry_ids(later))
    assert ids(more) == sorted(entry_ids(later)), "resuming gives only what came after"


def test_a_page_over_200_is_streamed_and_holds_what_small_pages_hold(client):
    admin = UserFactory(admin=True)
    receive_units(admin, None, n=30)
    receive_units(admin, RepFactory(organization=admin.organization), n=20)
    expected = set(
        CustodyEntry.objects.filter(organization=admin.organization).values_list("pk", flat=True)
    )
    client.force_login(admin)
    small, resume = follow(client, until=expected, limit=7)

    response = client.get(f"{FEED}?limit=5000")
    assert response.status_code == 200 and response.streaming
    streamed = json.loads(b"".join(response.streaming_content))

    assert streamed["results"] == small, "the same entries, in the same order and shape"
    assert streamed["caught_up"] is True
    assert streamed["next"] == resume.replace("limit=7", "limit=5000")
    # A page built in memory has the same shape, and a streamed page that stops at its limit
    # is not caught up.
    built = _page(client, f"{FEED}?limit=200")
    assert built["results"] == small and built["caught_up"] is True
    cut = _page(client, f"{FEED}?limit=201")  # streamed; fewer rows than the limit: caught up
    assert cut["results"] == small
    partial = _page(client, f"{FEED}?limit=30")
    assert ids(partial["results"]) == ids(small)[:30] and partial["caught_up"] is False


def test_a_streamed_page_holds_one_chunk_of_entries_at_a_time(client, monkeypatch):
    """Memory stays flat: the stream reads the feed in keyset chunks, each its own query."""
    admin = UserFactory(admin=True)
    receive_units(admin, None, n=25)
    expected = set(
        CustodyEntry.objects.filter(organization=admin.organization).values_list("pk", flat=True)
    )
    client.force_login(admin)
    follow(client, until=expected)  # the horizon has passed them
    chunk_sizes = []
    real_chunks = ledger_feed.FeedReader.chunks

    def spy(reader):
        reader.chunk = 10
        for chunk in real_chunks(reader):
            chunk_sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr(ledger_feed.FeedReader, "chunks", spy)
    page = _page(client, f"{FEED}?limit=1000")
    assert len(page["results"]) == 25
    assert chunk_sizes == [10, 10, 5]


def test_a_feed_entry_reads_exactly_as_the_units_ledger_shows_it(client):
    """The feed writes entries from plain rows (api.serializers.ledger.feed_entry); they must
    read as LedgerEntrySerializer writes them, for an entry with every field filled."""
    admin = UserFactory(admin=True)
    org = admin.organization
    rep = RepFactory(organization=org)
    product = ProductFactory(organization=org)
    here, there = LocationFactory(organization=org), LocationFactory(organization=org)
    unit, other = receive_units(admin, rep, n=2, product=product)
    (transfer,) = transfer_create(actor=admin, unit_ids=[other.pk], recipient=None)
    recall = Recall.objects.create(
        organization=org,
        reference="=HYPERLINK(1)",
        reason="Sterility",
        recall_class="II",
        product=product,
        recall_date=datetime.date(2026, 1, 2),
        created_by=admin,
    )
    CustodyEntry.objects.bulk_create(
        [
            CustodyEntry(
                organization=org,
                unit=unit,
                sequence=unit.ledger_seq + 1,
                kind=EntryKind.MARKED_USED,
                from_custodian=rep,
                to_custodian=admin,
                from_state="available",
                to_state="allocated",
                actor=admin,
                on_behalf_of=rep,
                transfer=transfer,
                event_id=123,
                recall=recall,
                from_location=here,
                to_location=there,
                identified_by="scan",
                at=datetime.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC),
                reported_at=datetime.datetime(2026, 3, 4, 5, 0, tzinfo=datetime.UTC),
                note='Ünïcode, "quotes" and a =formula',
            )
        ]
    )
    full = CustodyEntry.objects.get(unit=unit, kind=EntryKind.MARKED_USED)
    assert all(getattr(full, f.attname) not in (None, "") for f in CustodyEntry._meta.fields)
    client.force_login(admin)
    entries, _ = follow(client, until={full.pk})
    by_id = {e["id"]: e for e in entries}
    for entry in CustodyEntry.objects.filter(organization=org):
        shown = json.loads(json.dumps(LedgerEntrySerializer(entry).data))
        assert by_id[entry.pk] == shown
        assert list(by_id[entry.pk]) == list(shown), "the same fields in the same order"
    streamed = _page(client, f"{FEED}?limit=1000")
    assert streamed["results"] == entries


# Scope ---------------------------------------------------------------------------------------


STRATEGIES = ("by holder", "whole organization filtered")


@contextlib.contextmanager
def reading(strategy: str):
    """A small scope is read one holder at a time and merged, a large one by filtering the
    organization's entries: each test checks both give exactly the same entries."""
    most = ledger_feed.FEED_PARTITION_HOLDERS if strategy == "by holder" else 0
    with mock.patch.object(ledger_feed, "FEED_PARTITION_HOLDERS", most):
        yield


@pytest.fixture
def org_world():
    org = OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    dana = DistributorFactory(organization=org)
    riley = RepFactory(organization=org, assigned_to=dana)
    drew = DistributorFactory(organization=org)
    casey = RepFactory(organization=org, assigned_to=drew)
    group = dana.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    product = ProductFactory(organization=org)
    w = {
        "admin": admin,
        "dana": dana,
        "riley": riley,
        "drew": drew,
        "casey": casey,
        "org_unit": receive_units(admin, None, n=1, product=product)[0],
        "riley_unit": receive_units(admin, riley, n=1, product=product)[0],
        "dana_unit": receive_units(admin, dana, n=1, product=product)[0],
        "casey_unit": receive_units(admin, casey, n=1, product=product)[0],
        "moved": receive_units(admin, riley, n=1, product=product)[0],
    }
    # Riley's unit goes to casey, in another group: riley's feed keeps its way out.
    (transfer,) = transfer_create(actor=riley, unit_ids=[w["moved"].pk], recipient=casey)
    transfer_accept(actor=casey, transfer=transfer)
    other_admin = UserFactory(admin=True)
    w["other_admin"] = other_admin
    w["other_unit"] = receive_units(other_admin, None, n=1)[0]
    return w


def test_an_admin_follows_the_whole_organization_and_nothing_of_another(client, org_world):
    w = org_world
    org_entries = set(
        CustodyEntry.objects.filter(organization=w["admin"].organization).values_list(
            "pk", flat=True
        )
    )
    other = entry_ids(w["other_unit"])
    for strategy in STRATEGIES:
        with reading(strategy):
            assert feed_ids_of(client, w["admin"], org_entries) == org_entries, strategy
            assert feed_ids_of(client, w["other_admin"], other) == other, strategy


def test_a_pooled_rep_follows_own_and_the_distributors_stock_and_sees_a_unit_leave(
    client, org_world
):
    w = org_world
    moved = w["moved"]
    accepted = CustodyEntry.objects.get(unit=moved, kind=EntryKind.TRANSFER_ACCEPTED)
    assert (accepted.from_custodian_id, accepted.to_custodian_id) == (w["riley"].pk, w["casey"].pk)
    expected = entry_ids(w["riley_unit"], w["dana_unit"], moved)

    # Casey follows the moved unit from when it reached them, not riley's earlier entries.
    casey = entry_ids(w["casey_unit"]) | {accepted.pk}
    for strategy in STRATEGIES:
        with reading(strategy):
            assert feed_ids_of(client, w["riley"], expected) == expected, strategy
            assert feed_ids_of(client, w["casey"], casey) == casey, strategy


def test_a_distributor_follows_own_and_their_reps_stock_not_another_groups(client, org_world):
    w = org_world
    dana = entry_ids(w["riley_unit"], w["dana_unit"], w["moved"])
    drew = entry_ids(w["casey_unit"]) | {
        CustodyEntry.objects.get(unit=w["moved"], kind=EntryKind.TRANSFER_ACCEPTED).pk
    }
    for strategy in STRATEGIES:
        with reading(strategy):
            assert feed_ids_of(client, w["dana"], dana) == dana, strategy
            assert feed_ids_of(client, w["drew"], drew) == drew, strategy


def test_without_pooling_a_rep_no_longer_follows_the_distributors_stock(client, org_world):
    w = org_world
    group = w["dana"].distributor_group
    group.pooling_enabled = False
    group.save(update_fields=["pooling_enabled"])
    expected = entry_ids(w["riley_unit"], w["moved"])
    for strategy in STRATEGIES:
        with reading(strategy):
            assert feed_ids_of(client, w["riley"], expected) == expected, strategy


def test_a_rep_of_another_organization_or_nobody_signed_in_follows_nothing(client, org_world):
    w = org_world
    outsider = RepFactory(organization=w["other_admin"].organization)
    client.force_login(outsider)
    page = _page(client, FEED)
    assert page["results"] == [] and page["caught_up"] is True
    client.logout()
    response = client.get(FEED)
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


# Bad input -----------------------------------------------------------------------------------


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query,field",
    [
        ("after=not-a-cursor", "after"),
        ("after=" + "A" * 2000, "after"),
        (f"after={_b64([1, 2, 3])}", "after"),  # three keys: not this feed's
        (f"after={_b64(['2026-01-01', 5])}", "after"),  # the unit list's (expiry, id)
        (f"after={_b64([2**70, 1])}", "after"),  # past a bigint
        (f"after={_b64([True, 1])}", "after"),
        (f"after={_b64([None, 1])}", "after"),
        ("limit=0", "limit"),
        ("limit=5001", "limit"),
        ("limit=many", "limit"),
    ],
)
@pytest.mark.django_db  # nothing is read: no rows need committing
def test_a_cursor_or_limit_that_cannot_be_read_is_a_400_naming_the_field(client, query, field):
    client.force_login(UserFactory(admin=True))
    response = client.get(f"{FEED}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "invalid"
    assert list(body["error"]["fields"]) == [field]


# Indexes -------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_each_feed_read_walks_an_index_in_order_without_sorting_or_offset(client, org_world):
    """With sequential scans, bitmap scans and sorts priced out, every feed query is still
    answered by walking a (holder or organization, xact, id) index in its order: no Sort node,
    no OFFSET, no COUNT."""
    newest = CustodyEntry.objects.aggregate(Max("xact"))["xact__max"]
    deadline = time.monotonic() + DEADLINE
    while ledger_feed.feed_horizon() <= newest and time.monotonic() < deadline:
        time.sleep(0.2)  # another session's open transaction holds the horizon back
    for who in ("admin", "riley", "dana"):
        for strategy in STRATEGIES:
            client.force_login(org_world[who])
            with reading(strategy):
                first = _page(client, f"{FEED}?limit=2")
                assert "after=" in first["next"]
                with CaptureQueriesContext(connection) as ctx:
                    _page(client, first["next"])
            selects = [
                q["sql"]
                for q in ctx.captured_queries
                if q["sql"].startswith("SELECT") and "inventory_custodyentry" in q["sql"]
            ]
            assert selects, (who, strategy)
            for sql in selects:
                assert " OFFSET " not in sql and "COUNT(" not in sql
                plan = _plan_without_seqscan_bitmap_or_sort(sql)
                assert "ledger_feed_" in plan and "Sort" not in plan, (who, strategy, plan)


def _plan_without_seqscan_bitmap_or_sort(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off"
        )
        try:
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort")


# The transaction id ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_each_entry_records_the_transaction_that_inserted_it_whatever_the_insert_says():
    admin = UserFactory(admin=True)
    with transaction.atomic():
        (unit,) = receive_units(admin, None, n=1)
        entry = CustodyEntry.objects.get(unit=unit)
        forged = CustodyEntry(
            organization=entry.organization,
            unit=unit,
            sequence=2,
            kind=EntryKind.ADJUSTED,
            from_state=unit.state,
            to_state=unit.state,
            actor=admin,
            xact=1,
        )
        CustodyEntry.objects.bulk_create([forged])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            (xid,) = cursor.fetchone()
    assert set(CustodyEntry.objects.filter(unit=unit).values_list("xact", flat=True)) == {xid}
    # The ledger stays append-only: not even the transaction id can be rewritten.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE inventory_custodyentry SET xact = 0 WHERE id = %s", [entry.pk])


# Transactions that commit out of order ---------------------------------------------------------


class Step:
    """Runs `body(proceed)` in a thread on its own connection and transaction; `body` calls
    `proceed(name)` to say it reached a point and wait for the test to let it go on."""

    def __init__(self, body):
        self.reached: dict[str, threading.Event] = {}
        self.go: dict[str, threading.Event] = {}
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(body,))

    def _event(self, table, name):
        return table.setdefault(name, threading.Event())

    def _proceed(self, name):
        self._event(self.reached, name).set()
        assert self._event(self.go, name).wait(30), f"never let go past {name}"

    def _run(self, body):
        try:
            with transaction.atomic():
                body(self._proceed)
        except BaseException as exc:  # noqa: BLE001 - the test re-raises it
            self.error = exc
        finally:
            connection.close()
            self.done.set()

    def start(self):
        self.thread.start()
        return self

    def at(self, name):
        """Wait until the thread has reached `name`."""
        assert self._event(self.reached, name).wait(30), f"never reached {name}"
        assert self.error is None, self.error

    def release(self, name):
        self._event(self.go, name).set()

    def finish(self):
        assert self.done.wait(30), "the transaction never ended"
        self.thread.join(5)
        if self.error:
            raise self.error


def _xact_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()")


@pytest.mark.postgres
def test_an_entry_with_a_lower_id_that_commits_later_is_never_skipped(client):
    """T1 writes its entry first (lower id) and commits after T2 (higher id). A follower that
    reads between the two commits and after both gets both: T2's entry waits until T1 has
    ended. Following `id > cursor` would have passed T1's entry for good."""
    admin = UserFactory(admin=True)
    product = ProductFactory(organization=admin.organization)
    client.force_login(admin)
    _, resume = follow(client)
    made = {}

    def t1(proceed):
        made["t1"] = receive_units(admin, None, n=1, product=product)
        proceed("inserted")

    def t2(proceed):
        made["t2"] = receive_units(admin, None, n=1, product=product)

    first = Step(t1).start()
    first.at("inserted")
    second = Step(t2).start()
    second.finish()  # T2 has committed; T1 is still open
    (t2_entry,) = entry_ids(*made["t2"])
    assert not entry_ids(*made["t1"]), "T1 has not committed yet"

    between, resume = read_until_caught_up(client, resume)
    assert t2_entry not in ids(between), "T2's entry is held back while the older T1 is open"

    first.release("inserted")
    first.finish()
    (t1_entry,) = entry_ids(*made["t1"])
    assert t1_entry < t2_entry, "T1 took the lower id"

    after, _ = follow(client, resume, until={t2_entry})
    seen = ids(between) + ids(after)
    assert t1_entry in seen, "T1's entry was skipped"
    assert seen.index(t1_entry) < seen.index(t2_entry)


@pytest.mark.postgres
def test_an_older_transaction_that_writes_later_is_given_before_a_newer_one(client):
    """T1 begins first (older transaction id) but writes its entry after T2 has written (so a
    higher id), and commits first, while T2 is still open. A follower given T1's entry must
    still get T2's when it commits: ordering by id alone would have passed it."""
    admin = UserFactory(admin=True)
    product = ProductFactory(organization=admin.organization)
    client.force_login(admin)
    _, resume = follow(client)
    made = {}

    def t1(proceed):
        _xact_now()  # takes T1's transaction id now
        proceed("began")
        made["t1"] = receive_units(admin, None, n=1, product=product)

    def t2(proceed):
        _xact_now()
        made["t2"] = receive_units(admin, None, n=1, product=product)
        proceed("inserted")

    first = Step(t1).start()
    first.at("began")
    second = Step(t2).start()
    second.at("inserted")
    first.release("began")
    first.finish()  # T1 committed; T2 (newer, lower entry id) still open
    (t1_entry,) = entry_ids(*made["t1"])

    between, resume = follow(client, resume, until={t1_entry})
    assert t1_entry in ids(between), "T1 is older than every open transaction: it is given"

    second.release("inserted")
    second.finish()
    (t2_entry,) = entry_ids(*made["t2"])
    assert t2_entry < t1_entry, "T2 took the lower id"
    after, _ = follow(client, resume, until={t2_entry})
    assert t2_entry in ids(after), "T2's entry was skipped"
