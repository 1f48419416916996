"""The replica router's rules in-process (accounts.replica): which reads may go to the replica,
which statements pin a user, and the pin's round trip through the shared table. The real
primary + replica proof is tests/production/test_replica_and_backup.py."""

import datetime
import runpy

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import RequestFactory
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.request import Request

from accounts import replica
from accounts.models import DistributorGroup, GroupMembership, Organization, ReadPin, User
from api.authentication import TokenAuthentication
from api.models import ApiToken
from inventory.models import CustodyEntry, Unit
from tests.api.tokens import token_for
from tests.factories import UserFactory

ROUTER = replica.ReplicaRouter()


@pytest.mark.parametrize(
    "sql,tables",
    [
        ('SELECT "inventory_unit"."id" FROM "inventory_unit" WHERE "id" = %s', set()),
        ('SELECT "id" FROM "inventory_unit" WHERE "id" IN (1) FOR UPDATE', set()),
        ('SELECT "id" FROM "django_tasks_database_dbtaskresult" FOR UPDATE SKIP LOCKED', set()),
        ('INSERT INTO "inventory_unit" ("state") VALUES (%s) RETURNING "id"', {"inventory_unit"}),
        ('UPDATE "inventory_unit" SET "state" = %s WHERE "id" = %s', {"inventory_unit"}),
        ('DELETE FROM "events_eventline" WHERE "id" = %s', {"events_eventline"}),
        ("TRUNCATE inventory_unit", {"inventory_unit"}),
        (
            "INSERT INTO accounts_ratecounter (key, window_start, window_seconds, count) VALUES (%s, %s, 60, 1) "
            "ON CONFLICT (key, window_start) DO UPDATE SET count = accounts_ratecounter.count + 1",
            {"accounts_ratecounter"},
        ),
        (
            "WITH moved AS (UPDATE inventory_unit u SET state = 'used' RETURNING u.id) "
            "INSERT INTO inventory_custodyentry (unit_id) SELECT id FROM moved",
            {"inventory_unit", "inventory_custodyentry"},
        ),
    ],
)
def test_written_tables_names_what_a_statement_changes_and_nothing_for_reads_and_locks(sql, tables):
    assert replica.written_tables(sql) == tables


@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE "accounts_user" SET "last_login" = %s WHERE "accounts_user"."id" = %s',
        'UPDATE "api_apitoken" SET "last_used_at" = %s WHERE "api_apitoken"."id" = %s',
        "INSERT INTO accounts_ratecounter (key, window_start, window_seconds, count) VALUES (%s, %s, 60, 1) "
        "ON CONFLICT (key, window_start) DO UPDATE SET count = accounts_ratecounter.count + 1",
        'INSERT INTO "django_session" ("session_key") VALUES (%s)',
        'DELETE FROM "axes_accessattempt" WHERE "username" = %s',
        'INSERT INTO "axes_accesslog" ("username") VALUES (%s)',
        'INSERT INTO "accounts_readpin" ("user_id", "until") VALUES (%s, now())',
    ],
)
def test_bookkeeping_writes_do_not_pin(sql):
    assert replica.written_tables(sql)
    assert not replica.pins_user(sql)


@pytest.mark.parametrize(
    "sql",
    [
        'INSERT INTO "inventory_custodyentry" ("unit_id") VALUES (%s)',
        'UPDATE "events_event" SET "name" = %s WHERE "id" = %s',
        'INSERT INTO "jobs_job" ("kind") VALUES (%s)',
        'DELETE FROM "accounts_notification" WHERE "id" = %s',
    ],
)
def test_data_writes_pin(sql):
    assert replica.pins_user(sql)


@pytest.fixture
def scope():
    def open_scope(method="GET", **state):
        opened = replica._ReadScope(replica_allowed=method in replica.SAFE_METHODS, **state)
        return replica._scope.set(opened)

    tokens = []
    yield lambda *a, **k: tokens.append(open_scope(*a, **k))
    for token in reversed(tokens):
        replica._scope.reset(token)


def test_reads_of_a_get_request_go_to_the_replica(scope):
    scope("GET")
    assert ROUTER.db_for_read(Unit) == "replica"
    assert ROUTER.db_for_read(CustodyEntry) == "replica"
    assert ROUTER.db_for_write(Unit) == DEFAULT_DB_ALIAS


@pytest.mark.parametrize(
    "model", [User, DistributorGroup, GroupMembership, ApiToken, Session, DBTaskResult, ReadPin]
)
def test_authentication_permission_and_queue_data_always_read_the_primary(scope, model):
    scope("GET")
    assert ROUTER.db_for_read(model) == DEFAULT_DB_ALIAS


@pytest.mark.parametrize(
    "case",
    ["outside a request (a worker, a command)", "a POST", "a pinned user", "in a transaction"],
)
def test_reads_go_to_the_primary(scope, monkeypatch, case):
    if case == "a POST":
        scope("POST")
    elif case == "a pinned user":
        scope("GET", pinned=True)
    elif case == "in a transaction":
        scope("GET")
        monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", True)
    assert ROUTER.db_for_read(Unit) == DEFAULT_DB_ALIAS


def test_without_a_replica_url_there_is_no_router_and_no_middleware():
    assert "replica" not in settings.DATABASES
    assert not getattr(settings, "DATABASE_ROUTERS", [])
    assert "accounts.replica.ReadPinMiddleware" not in settings.MIDDLEWARE


def test_a_replica_url_adds_the_alias_mirrored_in_tests_the_router_and_the_middleware(
    monkeypatch,
):
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db1:5432/trunkpool")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://app@db2:5432/trunkpool")
    loaded = runpy.run_path(str(settings.BASE_DIR / "config" / "settings.py"))
    assert loaded["DATABASES"]["replica"]["HOST"] == "db2"
    assert loaded["DATABASES"]["replica"]["TEST"] == {"MIRROR": "default"}
    assert loaded["DATABASE_ROUTERS"] == ["accounts.replica.ReplicaRouter"]
    middleware = loaded["MIDDLEWARE"]
    auth = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert middleware[auth + 1] == "accounts.replica.ReadPinMiddleware"


def _pin_of(user) -> datetime.datetime | None:
    return ReadPin.objects.filter(user=user).values_list("until", flat=True).first()


@pytest.mark.postgres
def test_a_write_pins_its_user_and_the_next_request_of_theirs_reads_the_primary(db):
    user = UserFactory()
    seen = {}

    def writes(request):
        Organization.objects.filter(pk=user.organization_id).update(name="Renamed")
        seen["pinned during the request"] = replica._scope.get().pinned
        return "response"

    def reads(request):
        seen["pinned next time"] = replica._scope.get().pinned
        return "response"

    request = RequestFactory().post("/")
    request.user = user
    before = timezone.now()
    assert replica.ReadPinMiddleware(writes)(request) == "response"
    until = _pin_of(user)
    assert until is not None
    assert (
        datetime.timedelta(seconds=settings.READ_PIN_SECONDS - 1)
        < until - before
        < datetime.timedelta(seconds=settings.READ_PIN_SECONDS + 5)
    )
    request = RequestFactory().get("/")
    request.user = user
    replica.ReadPinMiddleware(reads)(request)
    assert seen == {"pinned during the request": True, "pinned next time": True}

    # Once the pin has passed, a GET reads the replica again.
    ReadPin.objects.filter(user=user).update(until=timezone.now() - datetime.timedelta(seconds=1))
    replica.ReadPinMiddleware(reads)(request)
    assert seen["pinned next time"] is False


@pytest.mark.postgres
def test_bookkeeping_writes_in_a_request_pin_nobody(db):
    user = UserFactory()

    def bookkeeping(request):
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_ratecounter (key, window_start, window_seconds, count) VALUES (%s, 0, 60, 1) "
                "ON CONFLICT (key, window_start) DO UPDATE SET count = accounts_ratecounter.count + 1",
                ["user:1"],
            )
        return "response"

    request = RequestFactory().get("/")
    request.user = user
    replica.ReadPinMiddleware(bookkeeping)(request)
    assert _pin_of(user) is None


@pytest.mark.postgres
def test_a_token_client_is_pinned_after_its_write_like_a_signed_in_page(db):
    user = UserFactory()
    token = token_for(user)

    def api_call(request):
        drf_user, _ = TokenAuthentication().authenticate(Request(request))
        assert drf_user == user
        Organization.objects.filter(pk=user.organization_id).update(name="Renamed by API")
        return "response"

    request = RequestFactory().post("/api/v1/", headers={"Authorization": f"Bearer {token}"})
    request.user = AnonymousUser()  # a token call has no session
    replica.ReadPinMiddleware(api_call)(request)
    assert _pin_of(user) is not None


def test_outside_a_request_noting_the_user_reads_nothing(django_assert_num_queries, db):
    """Without the middleware (no replica configured) the token check costs no extra query."""
    with django_assert_num_queries(0):
        replica.note_user(1)


@pytest.mark.parametrize("method,database", [("GET", "replica"), ("POST", DEFAULT_DB_ALIAS)])
def test_a_post_reads_the_primary_throughout_while_a_get_may_read_the_replica(method, database):
    """A POST validates its form against the state its write acts on."""
    routed = []

    def view(request):
        routed.append(ROUTER.db_for_read(Unit))
        return "response"

    request = RequestFactory().generic(method, "/")
    request.user = AnonymousUser()
    replica.ReadPinMiddleware(view)(request)
    assert routed == [database]
    assert ROUTER.db_for_read(Unit) == DEFAULT_DB_ALIAS  # the request's scope has closed
