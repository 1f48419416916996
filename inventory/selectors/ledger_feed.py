"""The custody ledger as a change feed: every entry a user may follow, in an order that a
reader resuming from the last entry it saw never skips a row, even under concurrency.

Entry ids are taken before commit, so ids commit out of order: transaction T1 takes id 10, T2
takes id 11 and commits first; a reader that saw 11 and resumes at `id > 11` never sees 10.
So on PostgreSQL each entry records its transaction id (`CustodyEntry.xact`, set by a trigger),
the feed reads in (xact, id) order, and it returns only entries of transactions older than the
oldest transaction still open (the snapshot's xmin, the *horizon*). Any transaction that has
not committed yet has an id at or above the horizon, so its entries sort after everything the
reader was given. The price is a lag: one long-open transaction that wrote anything holds the
feed back until it ends.

On SQLite one transaction writes at a time, so id order is commit order: `xact` is 0 there, the
horizon is None, and the same (xact, id) order is id order. One code path serves both.

Every read of the feed must see the horizon and the rows from the same server: a replica's
snapshot horizon says nothing about rows the primary committed since, so both are pinned to the
default (primary) database, whatever a future replica router decides for other reads.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from core.keyset import Keyset
from inventory.models import CustodyEntry

# The feed's order and cursor: (transaction, id). Both indexed with the organization and with
# each custodian column (CustodyEntry.Meta.indexes).
FEED_ORDER = (("xact", "asc"), ("pk", "asc"))

# A scope of at most this many holders is read one holder (and direction) at a time and merged
# (2 × holders queries a page, each walking an index from the cursor); a larger one, such as a
# distributor with many reps, holds a large share of the organization's entries, so walking
# the organization's index and filtering finds a page quickly.
FEED_PARTITION_HOLDERS = 4

# The feed's reads go to the primary (see the module docstring).
FEED_DATABASE = DEFAULT_DB_ALIAS


def feed_horizon() -> int | None:
    """The transaction id below which every transaction has ended (committed or rolled back):
    pg_snapshot_xmin of a fresh snapshot. None on a database without concurrent writers.

    Take it once per read, before reading rows: every entry below it is visible to any later
    statement. Comparing rows against a horizon taken *after* them could count a transaction
    that committed in between as ended although its rows were not read."""
    connection = connections[FEED_DATABASE]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def feed_entries(*, user, horizon: int | None) -> tuple[QuerySet[CustodyEntry], list[Q]]:
    """The entries `user` may follow, below `horizon`: a queryset, and partitions (conditions
    that, applied to it, give the scope, read apart and merged by `FeedReader`; they may
    overlap). With no partitions the queryset alone is the scope; with partitions only their
    union is.

    Scope: entries of the user's organization that move stock into, out of or within a holder
    in the user's scope (`holder_ids_in_scope`): the entry's custodian before or after it is
    such a holder. An admin follows the whole organization, organization custody included; a
    distributor their own and their reps' stock; a rep their own, and the distributor's while
    pooling is on. This is what an ERP mirroring stock per holder needs: it sees a unit leave
    (the entry's "from" is theirs), where "units I may see now" would drop that very entry
    once the unit had gone. The scope is the caller's scope now, applied to the whole history,
    as a unit's page shows its whole ledger to whoever may see the unit today: a rep whose pool
    is switched on, read from the start, gets the distributor's past entries too, and one
    whose pool is switched off no longer gets them. Entries stay in a feed whatever happens
    to the unit later.

    A user of no organization, or an inactive one, follows nothing."""
    entries = CustodyEntry.objects.using(FEED_DATABASE)
    if not user.is_authenticated or user.organization_id is None:
        return entries.none(), []
    actor = actor_for(user)
    if horizon is not None:
        entries = entries.filter(xact__lt=horizon)
    scope = holder_ids_in_scope(actor=actor)
    organization = entries.filter(organization_id=actor.organization_id)
    if scope is None:
        return organization, []
    if not scope:
        return entries.none(), []
    if len(scope) > FEED_PARTITION_HOLDERS:
        either = Q(from_custodian_id__any_of=scope) | Q(to_custodian_id__any_of=scope)
        return organization.filter(either), []
    holders = sorted(scope)
    # Together exactly the entries above; one between two holders of the scope is in two
    # partitions (FeedReader drops the second copy). Each condition is a plain "holder = h"
    # and nothing more, so that the planner walks that holder's (custodian, xact, id) index:
    # given the organization too (or "to NOT IN ..."), it walked the organization's index and
    # filtered out tens of thousands of other holders' entries a page. The organization goes
    # without saying: holders in scope are people of the actor's organization, and custody
    # never leaves its organization (ledger writes lock only units of the actor's own).
    partitions = [Q(to_custodian_id=h) for h in holders] + [Q(from_custodian_id=h) for h in holders]
    return entries, partitions


def _after(key) -> RawSQL:
    """(xact, id) > key, as one row comparison: a btree index on (..., xact, id) starts its scan
    right after the key. The equivalent "xact > x OR (xact = x AND id > i)" starts it at the
    first entry of transaction x, and one transaction may hold millions (a bulk load; every
    entry written before migration 0023 has xact 0): each page would scan them again. And
    with xact = x the order is plain id, so the planner walked the primary key instead."""
    quote = connections[FEED_DATABASE].ops.quote_name
    table = quote(CustodyEntry._meta.db_table)
    sql = f"({table}.{quote('xact')}, {table}.{quote('id')}) > (%s, %s)"
    return RawSQL(sql, tuple(key), output_field=BooleanField())


class FeedReader:
    """Reads the feed after a cursor, up to `limit` entries, in chunks: a caller streams each
    chunk out before the next is read, so memory holds a chunk per partition whatever the
    limit. Rows are dicts of `columns` (which must include "xact" and "pk").

    Each partition is read in batches, each one index range scan from the last key it gave
    (`_after`), and the partitions are merged in order as they are read. None is OFFSET, none
    is COUNT, and no long read transaction or server-side cursor is held open: the rows below
    the horizon never change, so batches read apart agree.

    Raises core.keyset.InvalidCursor at once for a cursor that is not one this feed gave.
    After the chunks are read, `cursor` is where to resume (the last entry's key, or the one
    given when nothing followed it) and `caught_up` says whether the read ended because no
    entry was left below the horizon, rather than at `limit`.
    """

    def __init__(
        self,
        qs: QuerySet[CustodyEntry],
        partitions: list[Q],
        *,
        columns: Sequence[str],
        after: str | None,
        limit: int,
        chunk: int = 500,
    ):
        self.keyset = Keyset(FEED_ORDER)
        self.key = self.keyset.decode(CustodyEntry, after) if after is not None else None
        self.qs = qs.values(*columns)
        self.partitions = partitions or [Q()]
        self.limit, self.chunk = limit, chunk
        self.cursor = after
        self.caught_up = False

    @staticmethod
    def _sort_key(row: dict) -> tuple[int, int]:
        return row["xact"], row["pk"]

    def _partition(self, part: Q, batch: int) -> Iterator[dict]:
        qs = self.qs.filter(part).order_by("xact", "pk")
        key = self.key
        while True:
            rows = list((qs if key is None else qs.filter(_after(key)))[:batch])
            yield from rows
            if len(rows) < batch:
                return
            key = self._sort_key(rows[-1])

    def chunks(self) -> Iterator[list[dict]]:
        # One row past the limit says whether more follow; a small page is one batch each.
        batch = min(self.chunk, self.limit + 1)
        streams = [self._partition(part, batch) for part in self.partitions]
        rows = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=self._sort_key)
        chunk: list[dict] = []
        taken, last = 0, None
        for row in rows:
            key = self._sort_key(row)
            if key == last:
                continue  # the same entry from a second partition
            last = key
            if taken == self.limit:
                break
            taken += 1
            chunk.append(row)
            if len(chunk) == self.chunk:
                self.cursor = self.keyset.cursor_for(chunk[-1])
                yield chunk
                chunk = []
        else:
            self.caught_up = True
        if chunk:
            self.cursor = self.keyset.cursor_for(chunk[-1])
            yield chunk
