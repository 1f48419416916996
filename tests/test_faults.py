"""Database faults: /healthz tells the load balancer, a restart costs no request, and an
unexpected error shows a friendly page that gives nothing away."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory
from django.views.defaults import server_error

ROOT = Path(__file__).resolve().parents[1]

_HEALTHZ_WITH_DB_DOWN = """
import django
django.setup()
from django.test import Client
response = Client(raise_request_exception=False).get("/healthz")
print(response.status_code, response["Content-Type"], response.content.decode())
"""


def test_healthz_answers_503_in_plain_text_when_the_database_is_unreachable():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Nothing listens on port 1: the connection is refused, as while the database restarts.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/trunkpool",
        "ALLOWED_HOSTS": "testserver",
        "DEBUG": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", _HEALTHZ_WITH_DB_DOWN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "503 text/plain database unreachable"


def test_healthz_answers_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


def test_the_health_checks_are_on():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def _wsgi_get(path: str) -> tuple[int, bytes]:
    """One request through the WSGI handler, as a server makes it (the test client skips the
    per-request connection housekeeping this test is about)."""
    environ = RequestFactory().get(path).environ
    status = []
    response = WSGIHandler()(environ, lambda s, headers: status.append(s))
    body = b"".join(response)
    response.close()  # request_finished, as the server sends it
    return int(status[0].split()[0]), body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_first_request_after_a_database_restart_succeeds():
    keep = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 60  # persistent connections, as in production
    try:
        assert _wsgi_get("/healthz") == (200, b"ok")
        pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])  # what a restart does
        assert _wsgi_get("/healthz") == (200, b"ok")
        assert connection.connection.info.backend_pid != pid
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = keep
        connection.close()


def test_the_500_page_says_the_action_may_not_be_saved_and_shows_no_internals(rf, settings):
    settings.DEBUG = False
    response = server_error(rf.get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "may not have been saved" in body and "try again" in body
    for leak in ("Traceback", "SECRET_KEY", "DATABASES", settings.SECRET_KEY):
        assert leak not in body
