"""Reads on a streaming replica that never show a user an older state than their own last write.

Only with DATABASE_REPLICA_URL set (config/settings.py adds the `replica` alias, this router and
`ReadPinMiddleware`). Writes always go to the primary. A read goes to the replica only when all
of these hold; otherwise it goes to the primary:

- it is made while a web request is answered (the middleware opens a *read scope*). Job
  workers, management commands and shells read the primary: a job runs right after the
  transaction that enqueued it committed, which a lagging replica may not show yet, and the
  ledger check and job claiming must see the primary's state;
- the request is a GET, HEAD or OPTIONS. A POST validates its form against the state its write
  will act on, so it reads the primary throughout;
- the primary connection is not inside a transaction (an atomic block): reads there see the
  transaction's own writes and are locked and checked together with them;
- the model is not in REPLICA_PRIMARY_MODELS: authentication and permission data (users,
  sessions, tokens, groups and membership with the pooling switch, axes), the job queue, the
  pins themselves. A revoked token or a removed rep loses access at once, however far the
  replica lags. Querysets built for writes or locks (`select_for_update`, `update`, `delete`,
  `get_or_create`) ask `db_for_write`, so locks are always taken on the primary, and raw SQL
  (`connection.cursor()`: the ledger feed's horizon, the throttle counters) runs on the primary;
- the user has not written within READ_PIN_SECONDS, and the replica has replayed their last
  write. A write pins the user: the rest of that request and each of their requests until then,
  on every app server, read the primary. The pin is a row in `accounts.ReadPin` on the primary,
  upserted with one INSERT ... ON CONFLICT before the response leaves and read once per request,
  both against the primary's clock, so app servers whose clocks differ agree on it. The row
  also keeps the primary's WAL position after the write: once the seconds have passed, one
  query asks the replica whether it has replayed that far; until it has (a replica lagging
  longer than the pin), the user stays on the primary, and once it has, the pin is deleted, so
  a user who has not written since costs no query but the pin lookup.

How a write is noticed: the middleware wraps the primary connection
(`connection.execute_wrapper`) for the request and looks at each statement that is not a plain
SELECT for INSERT INTO / UPDATE ... SET / DELETE FROM / TRUNCATE of a table. An explicit marker
in each service would be forgotten by the next raw-SQL write; the wrapper sees every statement
whatever wrote it. Writes to the REPLICA_PRIMARY_MODELS tables do not pin, since those tables are
read from the primary anyway: this is what keeps bookkeeping (last login, a token's last use,
sessions, axes' rows, throttle counters) from pinning every signed-in user. A database function
that writes behind a SELECT would not be noticed; the app has none.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA_DB_ALIAS = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_TABLE = r'(?:ONLY\s+)?"?([A-Za-z_][\w$]*)"?'
# An UPDATE names its table right before SET (an alias may sit between); this leaves out
# SELECT ... FOR UPDATE and INSERT ... ON CONFLICT DO UPDATE SET (whose INSERT is caught).
_WRITE = re.compile(
    rf"\bINSERT\s+INTO\s+{_TABLE}"
    rf"|\bDELETE\s+FROM\s+{_TABLE}"
    rf"|\bUPDATE\s+{_TABLE}(?:\s+(?:AS\s+)?\w+)?\s+SET\b"
    rf"|\bTRUNCATE\s+(?:TABLE\s+)?{_TABLE}",
    re.IGNORECASE,
)


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in settings.DATABASES


@cache
def _primary_models() -> frozenset[str]:
    """Lower-case labels of every model that always reads the primary."""
    labels = set()
    for name in settings.REPLICA_PRIMARY_MODELS:
        if "." in name:
            labels.add(apps.get_model(name)._meta.label_lower)
        else:  # a whole app, such as axes or sessions
            labels.update(m._meta.label_lower for m in apps.get_app_config(name).get_models())
    return frozenset(labels)


@cache
def _unpinning_tables() -> frozenset[str]:
    """Tables whose writes do not pin: those of the primary models, their many-to-many
    tables included (reads of them never reach the replica)."""
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label_lower in _primary_models():
            tables.add(model._meta.db_table.lower())
            tables.update(
                f.remote_field.through._meta.db_table.lower()
                for f in model._meta.local_many_to_many
            )
    return frozenset(tables)


def written_tables(sql: str) -> set[str]:
    """The tables a statement inserts into, updates, deletes from or truncates (lower case)."""
    if sql.lstrip()[:6].upper() == "SELECT":  # a plain SELECT writes nothing
        return set()
    return {next(t for t in match.groups() if t).lower() for match in _WRITE.finditer(sql)}


def pins_user(sql: str) -> bool:
    """Does this statement change data a later replica read could miss?"""
    return bool(written_tables(sql) - _unpinning_tables())


@dataclass
class _ReadScope:
    replica_allowed: bool
    user_id: int | None = None
    pinned: bool = False
    wrote: bool = False


_scope: ContextVar[_ReadScope | None] = ContextVar("trunkpool_read_scope", default=None)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        scope = _scope.get()
        if scope is None or not scope.replica_allowed or scope.pinned:
            return DEFAULT_DB_ALIAS
        if model._meta.label_lower in _primary_models():
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def note_user(user_id: int) -> None:
    """The request is answered for this user (a session or an API token): read their pin,
    once per request, from the primary. Outside a read scope (no replica, a worker) nothing."""
    scope = _scope.get()
    if scope is None or scope.user_id is not None:
        return
    scope.user_id = user_id
    if not scope.replica_allowed or scope.pinned:
        return  # already on the primary: the pin would change nothing
    from .models import ReadPin

    table = ReadPin._meta.db_table
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT until > now(), lsn FROM {table} WHERE user_id = %s", [user_id])
        pin = cursor.fetchone()
    if pin is None:
        return
    within_seconds, lsn = pin
    scope.pinned = within_seconds or not _replica_has_replayed(lsn)
    if not scope.pinned:
        # Bookkeeping (the pins' table never pins): the next request needs no replica query.
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s AND lsn = %s", [user_id, lsn])


def _replica_has_replayed(lsn: str) -> bool:
    """Has the replica replayed the primary's WAL up to `lsn`? A server that is not replaying
    (a test's mirror of the primary), or no replica at all, has all of it."""
    if REPLICA_DB_ALIAS not in connections.settings:
        return True
    with connections[REPLICA_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]
        )
        return bool(cursor.fetchone()[0])


def pin_user(user_id: int) -> None:
    """Send this user's reads to the primary for READ_PIN_SECONDS from now (the primary's now),
    and after that until the replica has replayed the primary's WAL as far as it is now (past
    this request's writes, which have committed by the time the response leaves)."""
    from .models import ReadPin

    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ReadPin._meta.db_table} (user_id, until, lsn) "
            "VALUES (%s, now() + %s * interval '1 second', pg_current_wal_insert_lsn()::text) "
            "ON CONFLICT (user_id) DO UPDATE SET until = EXCLUDED.until, lsn = EXCLUDED.lsn",
            [user_id, settings.READ_PIN_SECONDS],
        )


class _WriteWatcher:
    def __init__(self, scope: _ReadScope):
        self.scope = scope

    def __call__(self, execute, sql, params, many, context):
        if not self.scope.wrote and pins_user(sql):
            # Pinned before the statement runs: nothing later in this request reads the replica.
            self.scope.wrote = self.scope.pinned = True
        return execute(sql, params, many, context)


class ReadPinMiddleware:
    """Opens the request's read scope (after AuthenticationMiddleware, whose user it reads),
    watches the primary for writes, and pins the user before the response leaves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        scope = _ReadScope(replica_allowed=request.method in SAFE_METHODS)
        reset = _scope.set(scope)
        try:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                note_user(user.pk)
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(_WriteWatcher(scope)):
                response = self.get_response(request)
            if scope.wrote:
                user = getattr(request, "user", None)  # a token's user, set by the API's auth
                user_id = scope.user_id or (user.pk if user and user.is_authenticated else None)
                if user_id is not None:
                    pin_user(user_id)
            return response
        finally:
            _scope.reset(reset)
