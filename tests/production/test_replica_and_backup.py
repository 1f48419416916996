"""A real primary and a real streaming replica (tests/production/clusters.py), started by the
test, with one gunicorn reading from both (DATABASE_REPLICA_URL), driven over HTTP as people would:
pages read from the replica, but nobody ever sees an older state than their own last write, and
authentication and permission data come from the primary however far the replica lags. Then
the primary's base backup with its archived WAL is restored to a point in time in a new
cluster, where the app's own ledger check replays every unit's ledger.

Replay is paused on the replica (pg_wal_replay_pause) to make lag certain rather than likely.
The schema comes from the pytest test database (pg_dump, already migrated: ~1 s rather than
~25 s for `migrate`); the demo organization is seeded through the app's own code."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.pages import seen_fields
from tests.processes import Server
from tests.production.clusters import PG_BIN, Workspace, missing_binaries

# django_db: pytest-django sets up the test database (whose schema the clusters copy) only for
# a run with a test that asks for it, and this module may run alone.
pytestmark = [pytest.mark.postgres, pytest.mark.multiprocess, pytest.mark.django_db]

DB = "trunkpool"
PASSWORD = "trunkpool-demo"  # seed_demo's
# Short, so a test can outlast it while replay is paused (the pin then holds by WAL position).
PIN_SECONDS = 1


class Browser:
    """One person's cookies, and the CSRF token of the last form read."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=20) as response:
            return response.read().decode()

    def post(self, path: str, data: dict, *, form: str | None = None) -> tuple[str, str]:
        """Post with the CSRF token of the form at `form` (default: `path`), and what that page
        showed of its units (its `seen` field), as a browser submits it."""
        page = self.get(form or path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        shown = seen_fields(page)
        data = {**data, "csrfmiddlewaretoken": token.group(1)}
        if shown:
            data.setdefault("seen", shown[0])
        body = urllib.parse.urlencode(data, doseq=True)
        with self.opener.open(self.base + path, data=body.encode(), timeout=20) as response:
            return response.geturl(), response.read().decode()

    def sign_in(self, username: str) -> Browser:
        landed, page = self.post("/accounts/login/", {"username": username, "password": PASSWORD})
        assert landed == self.base + "/", page[:2000]
        return self


def _pg(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PG_BIN / args[0]), *args[1:]], check=True, capture_output=True, **kwargs
    )


class Setup:
    def __init__(self, workspace, primary, replica, server, casey_token):
        self.workspace, self.primary, self.replica = workspace, primary, replica
        self.server, self.casey_token = server, casey_token
        self.people: dict[str, Browser] = {}

    def browser(self, username: str) -> Browser:
        """A signed-in session per person, kept for the module (sign-ins cost PBKDF2)."""
        if username not in self.people:
            self.people[username] = Browser(self.server.url).sign_in(username)
        return self.people[username]

    def one(self, sql: str, params=()):
        return self.primary.query(sql, params, database=DB)[0]

    @contextlib.contextmanager
    def replay_paused(self):
        self.replica.query("SELECT pg_wal_replay_pause()")
        self.replica.wait_for(
            lambda: self.replica.query("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused",
            "replay to pause",
        )
        try:
            yield
        finally:
            self.replica.query("SELECT pg_wal_replay_resume()")

    def wait_for_replay(self) -> None:
        (lsn,) = self.primary.query("SELECT pg_current_wal_lsn()")[0]
        self.replica.wait_for(
            lambda: self.replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))[0][
                0
            ],
            "the replica to replay the primary's WAL",
        )


@pytest.fixture(scope="module")
def clusters(django_db_setup, django_db_blocker, tmp_path_factory):
    if reason := missing_binaries():
        pytest.skip(reason)
    with django_db_blocker.unblock():
        source = connection.settings_dict
    workspace = Workspace()
    server = seeding = None
    try:
        primary = workspace.cluster("primary")
        primary.init_primary()
        primary.start()
        primary.query(f"CREATE DATABASE {DB}")
        dump = ["-h", source["HOST"] or "127.0.0.1", "-p", str(source["PORT"] or 5432)]
        dump += ["-U", source["USER"], "-d", source["NAME"], "-Fc"]
        schema = _pg("pg_dump", *dump, "--schema-only").stdout
        migrations = _pg("pg_dump", *dump, "--data-only", "-t", "django_migrations").stdout
        restore = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-d", DB]
        for part in (schema, migrations):
            _pg("pg_restore", *restore, "--no-owner", input=part)

        # Seeding, the replica's base backup and gunicorn's boot run side by side: the seed
        # reaches the replica through WAL, and the server reads the replica only once asked.
        seeding = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("seed_cluster.py"))],
            env=_app_env(primary.url(DB)),
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        replica = workspace.cluster("replica")
        server = Server(
            tmp_path_factory.mktemp("replica-servers"),
            "server",
            {
                "DATABASE_URL": primary.url(DB),
                "DATABASE_REPLICA_URL": replica.url(DB),
                "READ_PIN_SECONDS": str(PIN_SECONDS),
            },
        )
        replica.init_replica_of(primary)
        replica.start()
        output, _ = seeding.communicate(timeout=120)
        assert seeding.returncode == 0, output
        casey_token = json.loads(output.strip().splitlines()[-1])["casey_token"]
        server.wait_until_up()
        setup = Setup(workspace, primary, replica, server, casey_token)
        setup.wait_for_replay()
        yield setup
    finally:
        if seeding is not None and seeding.poll() is None:
            seeding.kill()
        if server is not None:
            server.popen.kill()  # its state goes with the clusters: no graceful shutdown
            server.stop()
        workspace.remove()


def _app_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_REPLICA_URL": "",  # the seed and the ledger check use the primary alone
        "DEBUG": "0",
        "SECRET_KEY": "replica-test-key-shared-by-every-process",
    }


def test_a_page_read_goes_to_the_replica_and_shows_a_change_once_replay_resumes(clusters):
    dana = clusters.browser("dana")
    event_id, name = clusters.one(
        "SELECT e.id, e.name FROM events_event e JOIN accounts_user u ON u.id = e.representative_id"
        " WHERE u.username = 'sam' AND e.status = 'open' ORDER BY e.id LIMIT 1"
    )
    assert name in dana.get("/events/")
    with clusters.replay_paused():
        # Another person renames the event on the primary; dana's list reads the replica.
        clusters.primary.query(
            "UPDATE events_event SET name = 'Renamed on the primary' WHERE id = %s",
            (event_id,),
            database=DB,
        )
        page = dana.get("/events/")
        assert name in page and "Renamed on the primary" not in page
    clusters.wait_for_replay()
    assert "Renamed on the primary" in dana.get("/events/")


def test_who_marked_a_unit_used_sees_it_at_once_and_others_once_replay_resumes(clusters):
    riley, dana = clusters.browser("riley"), clusters.browser("dana")
    event_id, unit_id, serial = clusters.one(
        "SELECT e.id, u.id, u.serial_number FROM events_event e"
        " JOIN accounts_user r ON r.id = e.representative_id AND r.username = 'riley'"
        " JOIN inventory_unit u ON u.custodian_id = r.id AND u.state = 'available'"
        "  AND u.serial_number LIKE 'R-%%' AND u.serial_number NOT LIKE 'R-RC%%'"
        "  AND (u.expiration_date IS NULL OR u.expiration_date > now()::date + 60)"
        " WHERE e.status = 'open' AND e.name LIKE 'TKA%%' ORDER BY u.id LIMIT 1"
    )
    marker = f'data-serial="{serial}"'
    assert marker not in dana.get(f"/events/{event_id}/")
    with clusters.replay_paused():
        landed, page = riley.post(f"/events/{event_id}/use/", {"unit": unit_id})
        assert "Marked 1 unit(s) used" in page, page[:3000]
        assert clusters.one("SELECT state FROM inventory_unit WHERE id = %s", (unit_id,)) == (
            "allocated",
        )
        # riley wrote, so riley's next request (any server) reads the primary...
        assert marker in riley.get(f"/events/{event_id}/")
        # ...while dana's read goes to the replica, which has not replayed the mark yet.
        assert marker not in dana.get(f"/events/{event_id}/")
        # The API's ledger feed reads the primary for everyone: dana's has the mark already.
        feed = json.loads(dana.get("/api/v1/ledger/?limit=5000"))
        assert any(e["unit"] == unit_id and e["to_state"] == "allocated" for e in feed["results"])
        # The replica now lags longer than the pin's seconds: riley stays on the primary until
        # it has replayed the write, never shown the state from before it.
        time.sleep(PIN_SECONDS + 0.5)
        assert marker in riley.get(f"/events/{event_id}/")
        assert marker not in dana.get(f"/events/{event_id}/")
    clusters.wait_for_replay()
    assert marker in riley.get(f"/events/{event_id}/")
    assert clusters.one(
        "SELECT count(*) FROM accounts_readpin r JOIN accounts_user u"
        " ON u.id = r.user_id WHERE u.username = 'riley'"
    ) == (0,)
    assert marker in dana.get(f"/events/{event_id}/")


def test_a_rep_removed_from_the_group_loses_the_pool_at_once_while_replay_is_paused(clusters):
    sam = clusters.browser("sam")
    (serial,) = clusters.one(
        "SELECT u.serial_number FROM inventory_unit u JOIN accounts_user d ON d.id = u.custodian_id"
        " WHERE d.username = 'dana' AND u.state = 'available' ORDER BY u.id LIMIT 1"
    )
    assert serial in sam.get("/inventory/?custody=shared")
    with clusters.replay_paused():
        clusters.primary.query(
            "DELETE FROM accounts_groupmembership WHERE rep_id ="
            " (SELECT id FROM accounts_user WHERE username = 'sam')",
            database=DB,
        )
        # The replica still has sam in dana's group; the membership is read from the primary.
        assert clusters.replica.query(
            "SELECT count(*) FROM accounts_groupmembership m JOIN accounts_user u"
            " ON u.id = m.rep_id WHERE u.username = 'sam'",
            database=DB,
        ) == [(1,)]
        assert serial not in sam.get("/inventory/")
        assert serial not in sam.get("/inventory/?custody=shared")


def test_a_token_revoked_while_replay_is_paused_stops_working_at_once(clusters):
    def call() -> int:
        request = urllib.request.Request(
            clusters.server.url + "/api/v1/units/?limit=1",
            headers={"Authorization": f"Bearer {clusters.casey_token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert call() == 200
    with clusters.replay_paused():
        clusters.primary.query(
            "UPDATE api_apitoken SET revoked_at = now() WHERE user_id ="
            " (SELECT id FROM accounts_user WHERE username = 'casey')",
            database=DB,
        )
        assert call() == 401


def test_a_base_backup_with_archived_wal_restores_to_a_point_in_time_where_the_ledger_replays(
    clusters,
):
    primary, riley = clusters.primary, clusters.browser("riley")
    rows = primary.query(
        "SELECT e.id, u.id FROM events_event e"
        " JOIN accounts_user r ON r.id = e.representative_id AND r.username = 'riley'"
        " JOIN inventory_unit u ON u.custodian_id = r.id AND u.state = 'available'"
        "  AND u.serial_number LIKE 'R-%%' AND u.serial_number NOT LIKE 'R-RC%%'"
        "  AND (u.expiration_date IS NULL OR u.expiration_date > now()::date + 60)"
        " WHERE e.status = 'open' AND e.name LIKE 'TKA%%' ORDER BY u.id LIMIT 2",
        database=DB,
    )
    (event_id, before), (_, after) = rows
    base = clusters.workspace.root / "base-backup"
    primary.base_backup(base)

    # More ledger entries after the base backup, from archived WAL only: one before the
    # recovery target, one after it.
    _, page = riley.post(f"/events/{event_id}/use/", {"unit": before})
    assert "Marked 1 unit(s) used" in page
    (target,) = primary.query("SELECT pg_current_wal_insert_lsn()::text")[0]
    _, page = riley.post(f"/events/{event_id}/use/", {"unit": after})
    assert "Marked 1 unit(s) used" in page
    (segment,) = primary.query("SELECT pg_walfile_name(pg_switch_wal())")[0]
    primary.wait_for(
        lambda: (
            (primary.query("SELECT last_archived_wal FROM pg_stat_archiver")[0][0] or "") >= segment
        ),
        "the WAL segment to be archived",
    )

    restored = clusters.workspace.cluster("restored")
    restored.restore_from(base, recovery_target_lsn=target)
    restored.start()
    restored.wait_for(
        lambda: not restored.query("SELECT pg_is_in_recovery()")[0][0], "recovery to the target"
    )
    states = dict(
        restored.query(
            "SELECT id, state FROM inventory_unit WHERE id IN (%s, %s)",
            (before, after),
            database=DB,
        )
    )
    assert states == {before: "allocated", after: "available"}, restored.log_text()
    assert primary.query(
        "SELECT state FROM inventory_unit WHERE id = %s", (after,), database=DB
    ) == [("allocated",)]

    # The app's own ledger check, run on the restored cluster (tests/bench/test_check_ledger.py
    # shows it failing on a unit that disagrees with its ledger).
    checked = _check_ledger(restored.url(DB))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every unit replays to its state" in checked.stdout


def _check_ledger(database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check_ledger"],
        env=_app_env(database_url),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
