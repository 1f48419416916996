"""The app's database role (core.db_roles, `manage.py db_app_role`) has data rights only: it does
the app's work, appends to the ledger, and cannot change the ledger, the schema or a trigger.

Roles are cluster-wide and other test runs share the cluster, so every role here has a unique
name. CREATE ROLE is transactional: in the savepoint tests the role dies with the test's
rolled-back transaction. The end-to-end test must commit it, and drops it after.
"""

import os
import re
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from accounts.ratelimit import hit
from inventory.models import CustodyEntry, Transfer, Unit
from inventory.services.transfers import transfer_accept, transfer_create
from tests.factories import OrganizationFactory, UserFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units
from tests.pages import seen_fields
from tests.processes import Server, _database_url, start_worker, wait_until
from tests.test_stateless import Browser

pytestmark = pytest.mark.postgres
LEDGER = CustodyEntry._meta.db_table


def _role_name() -> str:
    return f"tp_app_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def app_role(db, monkeypatch):
    """A fresh app role made by the command, on the test database (whose owner is this
    connection's role), rolled back with the test."""
    role = _role_name()
    monkeypatch.setenv("DATABASE_APP_PASSWORD", "app-role-test-password")
    call_command("db_app_role", role, interactive=False, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return role


class AppRole:
    """Statements on this test's connection with the app role's rights (SET ROLE)."""

    def __init__(self, role: str):
        self.role = role

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{self.role}"')
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")

    def refused(self, statement: str, params=None) -> str:
        """Run `statement`, expect the database to refuse it, return its message."""
        with (
            pytest.raises(DatabaseError) as info,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, params)
        return str(info.value)


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


def test_the_app_role_receives_transfers_and_accepts_through_the_services(app_role, org):
    admin = UserFactory(organization=org, admin=True)
    rep = UserFactory(organization=org, rep=True)
    product = ProductFactory(organization=org, serial_tracked=True)
    with AppRole(app_role):
        units = receive_units(admin, None, n=2, product=product, serial_prefix="ROLE-")
        (transfer,) = transfer_create(actor=admin, unit_ids=[u.pk for u in units], recipient=rep)
        if transfer.status == Transfer.Status.PENDING:
            transfer_accept(actor=rep, transfer=transfer)
        # The API's throttle counts with INSERT ... ON CONFLICT DO UPDATE.
        assert [hit("role-test", 60, now=1_000_000.0)[0] for _ in range(2)] == [1, 2]
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role

    assert set(
        Unit.objects.filter(pk__in=[u.pk for u in units]).values_list("custodian", flat=True)
    ) == {rep.pk}
    assert CustodyEntry.objects.filter(unit__in=units).count() >= 4
    assert ledger_problems(organization_id=org.pk) == []


def test_the_app_role_cannot_update_or_delete_ledger_entries_even_after_a_grant_by_hand(
    app_role, admin_user
):
    (unit,) = receive_units(admin_user, None, n=1)
    with AppRole(app_role) as app:
        assert "permission denied for table" in app.refused(f"UPDATE {LEDGER} SET note = 'x'")
        assert "permission denied for table" in app.refused(f"DELETE FROM {LEDGER}")
    # Drift (a hand-made grant) is undone by running the command again, as migrate does.
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT UPDATE, DELETE, TRUNCATE ON {LEDGER} TO "{app_role}"')
    call_command("db_app_role", app_role, interactive=False, stdout=open(os.devnull, "w"))  # noqa: SIM115
    with AppRole(app_role) as app:
        assert "permission denied for table" in app.refused(f"UPDATE {LEDGER} SET note = 'x'")
        assert "permission denied for table" in app.refused(f"DELETE FROM {LEDGER}")
        assert "permission denied for table" in app.refused(f"TRUNCATE {LEDGER}")
    assert CustodyEntry.objects.filter(unit=unit).values_list("note", flat=True).get() == ""


def test_the_app_role_cannot_disable_a_trigger_alter_drop_or_truncate_any_table(app_role):
    tables = _tables()
    assert LEDGER in tables and len(tables) > 30
    with AppRole(app_role) as app:
        for table in tables:
            for statement in (
                f'ALTER TABLE "{table}" DISABLE TRIGGER ALL',
                f'ALTER TABLE "{table}" ADD COLUMN sneaky int',
                f'DROP TABLE "{table}" CASCADE',
            ):
                assert "must be owner of" in app.refused(statement), statement
            assert "permission denied for table" in app.refused(f'TRUNCATE "{table}"'), table
        assert "permission denied for schema" in app.refused("CREATE TABLE sneaky (id int)")
        assert "permission denied" in app.refused(
            "CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'"
        )
        assert "permission denied for database" in app.refused("CREATE SCHEMA sneaky")
        # Even the ledger's session switch for TRUNCATE (tests' teardown) does not help it.
        with connection.cursor() as cursor:
            cursor.execute("SET trunkpool.allow_ledger_truncate = 'on'")
        assert "permission denied for table" in app.refused(f"TRUNCATE {LEDGER}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE r.rolname = %s",
            [app_role],
        )
        assert cursor.fetchone()[0] == 0


def test_a_table_and_sequence_a_later_migration_creates_get_the_app_roles_rights(app_role):
    # As the owner, as a new migration would.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE later_feature (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
            " name text NOT NULL)"
        )
        cursor.execute("CREATE SEQUENCE later_counter")
    with AppRole(app_role) as app, connection.cursor() as cursor:
        cursor.execute("INSERT INTO later_feature (name) VALUES ('a'), ('b')")
        cursor.execute("UPDATE later_feature SET name = 'c' WHERE name = 'a'")
        cursor.execute("DELETE FROM later_feature WHERE name = 'b'")
        cursor.execute("SELECT name FROM later_feature")
        assert cursor.fetchall() == [("c",)]
        cursor.execute("SELECT nextval('later_counter')")
        assert cursor.fetchone()[0] == 1
        assert "permission denied for table" in app.refused("TRUNCATE later_feature")
        assert "must be owner of" in app.refused("ALTER TABLE later_feature DISABLE TRIGGER ALL")


def test_a_ledger_entry_naming_another_organization_than_its_units_is_refused(app_role):
    admin = UserFactory(admin=True)
    (unit,) = receive_units(admin, None, n=1)
    other = OrganizationFactory()

    def entry(organization_id: int) -> CustodyEntry:
        return CustodyEntry.objects.create(
            organization_id=organization_id,
            unit=unit,
            sequence=unit.ledger_seq + 1,
            kind="adjusted",
            from_state=unit.state,
            to_state=unit.state,
            actor=admin,
        )

    with AppRole(app_role):
        with pytest.raises(IntegrityError, match="ledger_unit_same_org"), transaction.atomic():
            entry(other.pk)
        entry(admin.organization_id)  # its own organization: appended
    assert list(CustodyEntry.objects.filter(unit=unit).values_list("organization", flat=True)) == [
        admin.organization_id,
        admin.organization_id,
    ]


def test_the_command_refuses_to_make_its_own_connection_or_a_superuser_the_app_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (me,) = cursor.fetchone()
    with pytest.raises(CommandError, match="itself"):
        call_command("db_app_role", me, interactive=False)
    superuser = _role_name()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{superuser}" SUPERUSER')
    with pytest.raises(CommandError, match="superuser"):
        call_command("db_app_role", superuser, interactive=False)


# --- the real app, as the app role ---------------------------------------------------------------

PASSWORD = "role-test-password"


def _drop_role(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone():
            # Its grants and default privileges live in this (test) database only.
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_gunicorn_and_a_job_worker_run_as_the_app_role_on_pooled_connections(tmp_path, monkeypatch):
    """`migrate` run as the owner (DATABASE_OWNER_URL) creates the app role named in
    DATABASE_URL; a real server and job worker connecting as that role, with the pool on, then
    serve a sign-in, a transfer (ledger entries, unit updates, row locks) and a background
    export: the granted rights are enough for the app's work."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    role = _role_name()
    owner_url = _database_url()
    app_url = re.sub(r"^postgres://[^@]+@", f"postgres://{role}:{PASSWORD}@", owner_url)
    admin = UserFactory(username="roleadmin", admin=True)
    admin.password = PBKDF2PasswordHasher().encode(PASSWORD, "rolesalt")
    admin.save(update_fields=["password"])
    rep = UserFactory(organization=admin.organization, rep=True)
    units = receive_units(admin, None, n=3, serial_prefix="E2E-")
    env = {
        "DATABASE_URL": app_url,
        "DATABASE_POOL": "1",
        "DATABASE_POOL_MAX_SIZE": "3",
        "EXPORT_BACKGROUND_ROWS": "2",
    }
    # The server boots (seconds of imports) while `migrate`, run as the owner as a release
    # runs it, makes the role; its health check fails until then. The worker, whose loop
    # would stop on a refused connection, starts after.
    server = Server(tmp_path, "server", env)
    everything = [server]
    try:
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=settings.BASE_DIR,
            env={**os.environ, **env, "DATABASE_OWNER_URL": owner_url, "DEBUG": "0"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrate.returncode == 0, migrate.stderr
        assert f"Created role {role}." in migrate.stdout
        everything.append(start_worker(tmp_path, "worker", env=env))
        server.wait_until_up()
        browser = Browser()
        _, form = browser.get(server.url + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        landed, page = browser.post(
            server.url + "/accounts/login/",
            {"username": "roleadmin", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert landed == server.url + "/", page

        _, form = browser.get(f"{server.url}/inventory/transfers/new/?unit={units[0].pk}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        landed, page = browser.post(
            server.url + "/inventory/transfers/new/",
            {
                "unit": units[0].pk,
                "recipient": rep.pk,
                "send": "1",
                "seen": seen_fields(form)[0],
                "csrfmiddlewaretoken": token,
            },
        )
        assert "/inventory/transfers/" in landed, page

        _, confirm = browser.get(server.url + "/inventory/export.csv")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm).group(1)
        landed, _ = browser.post(
            server.url + "/inventory/export.csv", {"csrfmiddlewaretoken": token}
        )
        job_id = int(re.fullmatch(re.escape(server.url) + r"/jobs/(\d+)/", landed).group(1))
        from jobs.models import Job

        wait_until(
            lambda: Job.objects.get(pk=job_id).is_finished,
            processes=everything,
            what="the worker to run the export",
        )
        assert Job.objects.get(pk=job_id).status == Job.Status.DONE
        for process in everything:
            process.assert_running()
            assert "permission denied" not in process.output()
    finally:
        for process in everything:
            process.stop()
        _drop_role(role)

    assert CustodyEntry.objects.filter(unit=units[0]).count() >= 2
    assert Transfer.objects.filter(units=units[0]).exists()
