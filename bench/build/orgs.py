"""Several full-size organizations on one database (`bench_scale --orgs N`), beside the demo.

Each organization starts as a copy of the demo's skeleton, made by the demo's own seeders (the
six people, their groups, products, locations, a few events), with every username ending in
`.oNN` so usernames and emails never collide across organizations; then `Builder` loads the
full size into it. Each organization commits on its own, so a stopped load resumes at the
first organization that has no bench rows yet.

Dropping and recreating the big tables' indexes for every organization would rebuild them over
all the rows loaded so far, ten times over; instead they are dropped once, the statements that
recreate them are kept in a scratch table (so a resumed load still knows them), and they are
recreated once at the end, which also checks every foreign key and unique index against all
rows. Only then is each organization's ledger replayed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from unittest import mock

from django.db import connection, transaction

from accounts import demo as accounts_demo
from accounts.models import DistributorGroup, GroupMembership, Organization, Role, User
from bench.build.builder import Builder
from bench.build.common import BENCH_EMAIL_DOMAIN, DEMO_USERNAMES, BenchError, Scale, model, qn
from bench.build.orgcheck import crossings
from bench.build.replay import replay_problems

PENDING = "bench_pending_ddl"


def org_name(k: int) -> str:
    return f"Bench Organization {k:02d}"


def org_tag(k: int) -> str:
    return f".o{k:02d}"


def org_usernames(k: int) -> dict[str, str]:
    """Demo name -> this organization's username ("dana" -> "dana.o03")."""
    return {name: name + org_tag(k) for name in DEMO_USERNAMES}


def seed_skeleton(k: int, *, events: bool = True) -> dict[str, User]:
    """The demo organization's people and stock (and events, unless `events` is False),
    again, as organization k (idempotent)."""
    from events import demo as events_demo
    from inventory import demo as inventory_demo

    template = User.objects.filter(username="admin").first()
    if template is None:
        raise BenchError("Run `manage.py seed_demo --force` first.")
    org, _ = Organization.objects.get_or_create(name=org_name(k))
    summary = accounts_demo.Summary(organization=org)
    names = org_usernames(k)
    for base, role, display, note in accounts_demo.USERS:
        user = User.objects.filter(username=names[base]).first()
        if user is None:
            # The demo's password hash, copied: hashing it again six times per organization
            # costs seconds and proves nothing.
            user = User.objects.create(
                username=names[base],
                organization=org,
                role=role,
                display_name=display,
                # Not the bench domain: Builder reads that as "already loaded".
                email=f"{names[base]}@demo-ortho.example",
                password=template.password,
            )
        if role == Role.DISTRIBUTOR:
            DistributorGroup.objects.get_or_create(distributor=user, defaults={"organization": org})
        summary.users[base] = user
        summary.logins.append((names[base], user.get_role_display(), note))
    for distributor, reps in accounts_demo.GROUPS.items():
        group = DistributorGroup.objects.get(distributor=summary.users[distributor])
        for rep in reps:
            GroupMembership.objects.get_or_create(rep=summary.users[rep], defaults={"group": group})
    inventory_demo.seed(summary)
    if not events:
        return summary.users
    # The demo's comments @mention its usernames; here they name this organization's.
    add = events_demo.comment_add
    mention = re.compile(r"@(" + "|".join(DEMO_USERNAMES) + r")\b")

    def comment_add(*, body, **kwargs):
        return add(body=mention.sub(lambda m: "@" + names[m.group(1)], body), **kwargs)

    with mock.patch.object(events_demo, "comment_add", comment_add):
        events_demo.seed(summary)
    return summary.users


def loaded(k: int) -> bool:
    """Organization k already holds its bench rows (users on the bench's email domain)."""
    return User.objects.filter(
        organization__name=org_name(k), email__endswith="@" + BENCH_EMAIL_DOMAIN
    ).exists()


def drop_indexes_once(log) -> None:
    """Drop the big tables' secondary indexes and foreign keys, keeping how to recreate them
    in a scratch table; a resumed load finds the table and drops nothing more."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [PENDING])
        if cursor.fetchone()[0] is not None:
            log("  indexes already dropped by an earlier run; continuing")
            return
        # DDL waits for no deferred check of rows written earlier in this transaction (a test's).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        started = time.perf_counter()
        statements = Builder(Scale()).drop_bulk_indexes(cursor)
        cursor.execute(f"CREATE TABLE {PENDING} (n serial PRIMARY KEY, statement text NOT NULL)")
        for statement in statements:
            cursor.execute(f"INSERT INTO {PENDING} (statement) VALUES (%s)", [statement])
        log(
            f"  dropped {len(statements)} indexes and foreign keys of the big tables "
            f"in {time.perf_counter() - started:.1f} s"
        )


def _restore_one(n: int, statement: str, log) -> None:
    """One index or foreign key back, committed with its row out of the scratch table, so a
    stopped restore resumes with what is left."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 1")
        cursor.execute(statement.replace("%", "%%"))
        cursor.execute(f"DELETE FROM {PENDING} WHERE n = %s", [n])
    log(f"  {time.perf_counter() - started:6.1f} s  {statement[:110]}")


def _in_parallel(todo: list[tuple[int, str]], workers: int, log) -> None:
    queue = list(reversed(todo))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work():
        try:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    n, statement = queue.pop()
                _restore_one(n, statement, log)
        except BaseException as exc:
            errors.append(exc)  # raised below, once the other workers stop
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def restore_indexes(log, workers: int = 2) -> None:
    """Recreate what `drop_indexes_once` dropped: indexes first, then foreign keys (checked
    against every row), each kind by `workers` connections at once (index builds on one
    table share their lock; foreign keys on one table wait for each other)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [PENDING])
        if cursor.fetchone()[0] is None:
            return
        cursor.execute(f"SELECT n, statement FROM {PENDING} ORDER BY n")
        pending = cursor.fetchall()
    for kind in ("CREATE", "ALTER"):
        todo = [(n, st) for n, st in pending if st.startswith(kind)]
        if connection.in_atomic_block or workers < 2:
            # A test's transaction: other connections would not see its rows.
            for n, statement in todo:
                _restore_one(n, statement, log)
            continue
        _in_parallel(todo, workers, log)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PENDING}")
        if cursor.fetchone()[0] == 0:
            cursor.execute(f"DROP TABLE {PENDING}")


def load_orgs(count: int, scale: Scale, *, log: Callable[[str], None]) -> dict[str, float]:
    """Load `count` full-size organizations; return seconds per organization and phase."""
    times: dict[str, float] = {}
    total = time.perf_counter()
    # The skeletons go in through the services, whose queries want the indexes: all of them
    # first, while the indexes are still there.
    todo = [k for k in range(1, count + 1) if not loaded(k)]
    skeletons = {}
    for k in todo:
        with transaction.atomic():
            skeletons[k] = seed_skeleton(k)
    log(f"  seeded {len(todo)} skeletons in {time.perf_counter() - total:.1f} s")
    # The demo's timed pages need dana's group pooling, as the one-organization load sets it.
    DistributorGroup.objects.filter(distributor__username="dana").update(pooling_enabled=True)
    if todo:  # a finished load run again drops nothing (a stopped one finds its scratch table)
        drop_indexes_once(log)
    for k in range(1, count + 1):
        if k not in skeletons:
            log(f"[{k}/{count}] {org_name(k)}: already loaded, skipped")
            continue
        started = time.perf_counter()
        log(f"[{k}/{count}] {org_name(k)}: {scale.units:,} units")
        with transaction.atomic():
            users = skeletons[k]
            Builder(
                Scale(
                    units=scale.units,
                    users=scale.users,
                    events=scale.events,
                    transfers=scale.transfers,
                    seed=scale.seed + k,
                ),
                log=log,
                org_users=users,
                tag=org_tag(k),
                indexes=False,
            ).run()
        times[org_name(k)] = time.perf_counter() - started
        log(
            f"[{k}/{count}] {org_name(k)}: loaded in {times[org_name(k)]:.1f} s "
            f"({time.perf_counter() - total:.0f} s so far)"
        )
    started = time.perf_counter()
    log("Recreating the big tables' indexes and foreign keys (once, over every row):")
    restore_indexes(log)
    times["recreate indexes and foreign keys"] = time.perf_counter() - started
    started = time.perf_counter()
    if not connection.in_atomic_block:  # VACUUM cannot run in a transaction (a test's)
        with connection.cursor() as cursor:
            for name in ("Unit", "CustodyEntry", "Transfer", "TransferLine", "Event", "EventLine"):
                cursor.execute(f"VACUUM (ANALYZE) {qn(model(name)._meta.db_table)}")
            cursor.execute("ANALYZE")
    times["vacuum and analyze"] = time.perf_counter() - started
    log(f"  vacuum (analyze): {times['vacuum and analyze']:.1f} s")
    started = time.perf_counter()
    for k in range(1, count + 1):
        org = Organization.objects.get(name=org_name(k))
        with connection.cursor() as cursor:
            problems = replay_problems(cursor, org.pk)
        bad = {name: n for name, n in problems.items() if n}
        if bad:
            raise BenchError(f"{org_name(k)}: the ledger replay disagrees with the units: {bad}")
        log(f"  {org_name(k)}: ledger replay agrees with every unit")
    times["replay every ledger"] = time.perf_counter() - started
    started = time.perf_counter()
    crossed = {name: n for name, n in crossings().items() if n}
    if crossed:
        raise BenchError(f"rows point into another organization: {crossed}")
    times["no foreign key crosses organizations"] = time.perf_counter() - started
    log(f"  every foreign key checked: no row crosses organizations ({len(crossed)} found)")
    times["total"] = time.perf_counter() - total
    return times
