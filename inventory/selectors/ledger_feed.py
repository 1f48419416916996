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

from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q, QuerySet

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
    """The entries `user` may follow, below `horizon`, and the partitions to read them by
    (conditions that split the queryset without overlap, for `core.keyset`; empty to read it
    whole).

    Scope: entries of the user's organization that move stock into, out of or within a holder
    in the user's scope (`holder_ids_in_scope`): the entry's custodian before or after it is
    such a holder. An admin follows the whole organization, organization custody included; a
    distributor their own and their reps' stock; a rep their own, and the distributor's while
    pooling is on. This is what an ERP mirroring stock per holder needs: it sees a unit leave
    (the entry's "from" is theirs), where "units I may see now" would drop that very entry
    once the unit had gone. And it shows nothing the user could not see when it happened: just
    before or just after the entry, the unit was in their scope. Entries stay in a user's feed
    whatever happens to the unit later; a change of scope (pooling switched, a rep reassigned)
    changes which holders count from then on.

    A user of no organization, or an inactive one, follows nothing."""
    entries = CustodyEntry.objects.using(FEED_DATABASE)
    if not user.is_authenticated or user.organization_id is None:
        return entries.none(), []
    actor = actor_for(user)
    qs = entries.filter(organization_id=actor.organization_id)
    if horizon is not None:
        qs = qs.filter(xact__lt=horizon)
    scope = holder_ids_in_scope(actor=actor)
    if scope is None:
        return qs, []
    if not scope:
        return qs.none(), []
    qs = qs.filter(Q(from_custodian_id__in=scope) | Q(to_custodian_id__in=scope))
    if len(scope) > FEED_PARTITION_HOLDERS:
        return qs, []
    holders = sorted(scope)
    # Each entry in exactly one partition: by its new holder if that is in scope, else by the
    # holder it left.
    partitions = [Q(to_custodian_id=h) for h in holders] + [
        Q(from_custodian_id=h) & ~Q(to_custodian_id__in=holders) for h in holders
    ]
    return qs, partitions


class FeedReader:
    """Reads the feed after a cursor in chunks of keyset pages, up to `limit` entries, holding
    one chunk at a time whatever the limit: a caller streams each chunk out before the next is
    read. Each chunk is its own query from the last entry's key, walking an index; none is
    OFFSET, none is COUNT, and no long read transaction or server-side cursor is held open
    (the rows below the horizon never change, so chunks read apart agree).

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
        after: str | None,
        limit: int,
        chunk: int = 500,
    ):
        if after is not None:
            Keyset(FEED_ORDER).decode(CustodyEntry, after)
        self.qs, self.partitions, self.limit, self.chunk = qs, partitions, limit, chunk
        self.cursor = after
        self.caught_up = False

    def chunks(self) -> Iterator[list[CustodyEntry]]:
        remaining = self.limit
        while remaining > 0:
            keyset = Keyset(FEED_ORDER, size=min(self.chunk, remaining))
            page = keyset.page(self.qs, after=self.cursor, partitions=self.partitions)
            if page.rows:
                self.cursor = keyset.cursor_for(page.rows[-1])
                remaining -= len(page.rows)
                yield page.rows
            if page.next_cursor is None:
                self.caught_up = True
                return
