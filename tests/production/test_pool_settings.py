"""config/settings.py read with a production environment: the connection pool's settings, and
which role a process connects as (the owner only for the schema commands)."""

import runpy

import pytest
from django.conf import settings

APP_URL = "postgres://trunkpool_app:app-secret@db.internal:5432/trunkpool"
OWNER_URL = "postgres://trunkpool_owner:owner-secret@db.internal:5432/trunkpool"


@pytest.fixture
def read_settings(monkeypatch):
    """Run config/settings.py afresh with `env` and this command line; return its names."""

    def read(argv: list[str], **env: str) -> dict:
        for name in (
            "DATABASE_POOL",
            "DATABASE_OWNER_URL",
            "DATABASE_DISABLE_SERVER_SIDE_CURSORS",
            "DEBUG",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DATABASE_URL", APP_URL)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr("sys.argv", argv)
        return runpy.run_path(str(settings.BASE_DIR / "config" / "settings.py"))

    return read


def test_the_pool_takes_its_size_from_the_environment_and_sets_conn_max_age_to_zero(read_settings):
    names = read_settings(
        ["gunicorn", "config.wsgi"],
        DATABASE_POOL="1",
        DATABASE_POOL_MIN_SIZE="2",
        DATABASE_POOL_MAX_SIZE="6",
        DATABASE_POOL_TIMEOUT="3.5",
    )
    default = names["DATABASES"]["default"]
    assert default["USER"] == "trunkpool_app"
    assert default["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 6, "timeout": 3.5}
    assert default["CONN_MAX_AGE"] == 0
    assert default["CONN_HEALTH_CHECKS"] is True
    # Any other alias (a replica) gets the same rules from the same function.
    replica = names["database"](names["env"].db_url_config(APP_URL.replace("db.", "replica.")))
    assert replica["OPTIONS"]["pool"]["max_size"] == 6 and replica["CONN_MAX_AGE"] == 0


def test_without_the_pool_a_connection_is_kept_sixty_seconds(read_settings):
    default = read_settings(["gunicorn", "config.wsgi"])["DATABASES"]["default"]
    assert "pool" not in default["OPTIONS"]
    assert default["CONN_MAX_AGE"] == 60
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is False


def test_behind_pgbouncer_server_side_cursors_can_be_switched_off(read_settings):
    names = read_settings(["gunicorn", "config.wsgi"], DATABASE_DISABLE_SERVER_SIDE_CURSORS="1")
    assert names["DATABASES"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True


@pytest.mark.parametrize(
    ("argv", "user"),
    [
        (["manage.py", "migrate"], "trunkpool_owner"),
        (["manage.py", "db_app_role", "--no-input"], "trunkpool_owner"),
        (["manage.py", "db_worker", "--queue-name=*"], "trunkpool_app"),
        (["manage.py", "shell"], "trunkpool_app"),
        (["gunicorn", "config.wsgi"], "trunkpool_app"),
    ],
)
def test_only_the_schema_commands_connect_as_the_owner(read_settings, argv, user):
    names = read_settings(argv, DATABASE_OWNER_URL=OWNER_URL, DATABASE_POOL="1")
    default = names["DATABASES"]["default"]
    assert default["USER"] == user
    # The app role's name and password stay known to db_app_role, whoever connects.
    assert names["APP_DATABASE"]["USER"] == "trunkpool_app"
    if user == "trunkpool_owner":
        assert "pool" not in default["OPTIONS"]  # one short-lived connection


def test_without_an_owner_url_migrate_connects_as_database_url(read_settings):
    default = read_settings(["manage.py", "migrate"])["DATABASES"]["default"]
    assert default["USER"] == "trunkpool_app"
