"""Every error answer carries the security headers a page does (the attack run found the bad-Host
400 without X-Frame-Options), and Django's CSRF-failure page is our own, on the site's
stylesheet, with no inline style for the CSP to block."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD
from tests.test_csp import assert_no_inline, directives

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def assert_secure(response, status):
    assert response.status_code == status
    for name, value in HEADERS.items():
        assert response.get(name) == value, (status, name, response.get(name))
    policy = directives(response)
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'", status
    assert "unsafe" not in response["Content-Security-Policy"]


class Broken(Exception):
    pass


class _BrokenConnection:
    def cursor(self):
        raise Broken("the database driver blew up")


@pytest.fixture
def cases(rep, admin_user, monkeypatch, settings):
    login = reverse("login")

    def bad_host(client):
        return client.get("/", HTTP_HOST="evil.example")

    def malformed(client):
        return client.post(login, "x", content_type="multipart/form-data")  # no boundary

    def too_many_fields(client):
        fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5))
        return client.post(login, fields, content_type="application/x-www-form-urlencoded")

    def too_big(client):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        return client.post(
            login, "a=" + "x" * 5000, content_type="application/x-www-form-urlencoded"
        )

    def forbidden(client):
        client.force_login(rep)
        return client.get(reverse("accounts:user_list"))

    def not_found(client):
        return client.get("/no-such-page/")

    def wrong_method(client):
        client.force_login(admin_user)
        return client.get(reverse("accounts:user_set_active", args=[rep.pk]))

    def server_error(client):
        monkeypatch.setattr("config.views.connection", _BrokenConnection())
        return client.get(reverse("healthz"))

    def csrf(client):
        return Client(enforce_csrf_checks=True).post(login, {"username": "x", "password": "y"})

    def lockout(client):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post(login, {"username": rep.username, "password": "wrong"})
        return client.post(login, {"username": rep.username, "password": PASSWORD})

    return {
        "bad host": (bad_host, 400),
        "malformed body": (malformed, 400),
        "too many fields": (too_many_fields, 400),
        "body too large": (too_big, 400),
        "forbidden": (forbidden, 403),
        "not found": (not_found, 404),
        "wrong method": (wrong_method, 405),
        "server error": (server_error, 500),
        "csrf": (csrf, 403),
        "lockout": (lockout, 429),
    }


def test_every_error_answer_carries_the_security_headers(cases, db):
    failures = []
    for name, (ask, status) in cases.items():
        response = ask(Client(raise_request_exception=False))
        try:
            assert_secure(response, status)
        except AssertionError as failure:
            failures.append(f"{name}: {failure}")
    assert not failures, "\n".join(failures)


def test_the_csrf_failure_page_is_ours_on_the_sites_stylesheet(db):
    response = Client(enforce_csrf_checks=True).post(reverse("login"), {"username": "x"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "css/trunkpool.css" in body and "bootstrap.min.css" in body
    assert "page has expired" in body.lower() and reverse("login") in body
    assert_no_inline(response)


def test_the_csrf_failure_page_keeps_the_signed_in_navigation(rep):
    # Rendered with the request, unlike Django's view, which renders the template bare.
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post(reverse("accounts:notification_read"))
    assert response.status_code == 403
    assert 'data-testid="bell"' in response.content.decode()
