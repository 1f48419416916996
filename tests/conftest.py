"""Shared fixtures and the CI guard against skipped PostgreSQL or browser tests.

Tests marked `postgres` need PostgreSQL (row locks, triggers, real concurrency) and skip on
SQLite; tests marked `browser` need Chromium. With TRUNKPOOL_REQUIRE_ALL=1 (set by .ci/run) any
skip fails the run, and so does a run in which no test of either kind passed.
"""

import os

import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created

from tests.factories import (
    DistributorFactory,
    OrganizationFactory,
    RepFactory,
    UserFactory,
)

REQUIRE_ALL = os.environ.get("TRUNKPOOL_REQUIRE_ALL") == "1"
# The locust file is run by locust against a live server, never imported by pytest.
collect_ignore = ["load"]
_passed_kinds: set[str] = set()
_skipped: list[str] = []


def pytest_configure(config):
    # Hashed static names need collectstatic; tests serve straight from the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Real hashing costs ~0.1 s a user; tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _allow_ledger_truncate(sender, connection, **kwargs):
    # Transactional tests empty every table with TRUNCATE after each test; the ledger's
    # trigger refuses that unless the session opts in (inventory migration 0002). UPDATE and
    # DELETE stay refused; tests/inventory/test_ledger_trigger.py resets this to prove TRUNCATE is.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET trunkpool.allow_ledger_truncate = 'on'")


connection_created.connect(_allow_ledger_truncate)


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
            )


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)
    elif report.when == "call" and report.passed:
        for kind in ("postgres", "browser"):
            if kind in report.keywords:
                _passed_kinds.add(kind)


def pytest_sessionfinish(session, exitstatus):
    # Under pytest-xdist each worker sees only its share; the controller gets every report.
    if not REQUIRE_ALL or exitstatus not in (0, 5) or hasattr(session.config, "workerinput"):
        return
    problems = []
    if _skipped:
        problems.append(f"{len(_skipped)} test(s) skipped: " + ", ".join(_skipped[:10]))
    for kind in ("postgres", "browser"):
        if kind not in _passed_kinds:
            problems.append(f"no '{kind}' test passed")
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.ensure_newline()
        for problem in problems:
            reporter.write_line(f"TRUNKPOOL_REQUIRE_ALL: {problem}", red=True)
        session.exitstatus = 1


@pytest.fixture
def org(db):
    return OrganizationFactory()


@pytest.fixture
def admin_user(org):
    return UserFactory(organization=org, admin=True)


@pytest.fixture
def distributor(org):
    return DistributorFactory(organization=org)


@pytest.fixture
def rep(distributor):
    return RepFactory(organization=distributor.organization, assigned_to=distributor)


@pytest.fixture
def pooled(distributor, rep):
    """dana-like distributor with pooling on, and one of her reps."""
    group = distributor.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    return group
