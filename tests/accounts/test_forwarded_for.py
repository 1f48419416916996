"""The client address (core.clientip): X-Forwarded-For counts only when settings say which
proxies stand in front; by default it is the socket's address. Sign-in throttling (django-axes)
and the password-reset limit both use it (the attack run's finding 1)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from core.clientip import client_address
from tests.factories import PASSWORD

LIMIT = 10


def _login(client, username, password, forwarded, remote="203.0.113.9"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_fifteen_wrong_passwords_with_a_rotating_forwarded_for_lock_the_account_from_that_socket(
    client, rep
):
    # Reached directly, with no proxy configured: the header is the client's own words.
    for i in range(15):
        _login(client, rep.username, "wrong-password", forwarded=f"10.7.{i}.1")
    response = _login(client, rep.username, PASSWORD, forwarded="10.7.99.1")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_with_one_trusted_proxy_the_forwarded_address_is_the_one_locked(client, rep, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(LIMIT):
        _login(client, rep.username, "wrong-password", forwarded="198.51.100.7")
    assert _login(client, rep.username, PASSWORD, forwarded="198.51.100.7").status_code == 429
    # Another client behind the same balancer signs in.
    assert _login(client, rep.username, PASSWORD, forwarded="198.51.100.8").status_code == 302


def _address(forwarded=None, remote="10.0.0.2"):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no proxy named: the header is ignored
        (0, None, "10.0.0.2"),
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "192.0.2.1, 198.51.100.7", "198.51.100.7"),  # what the client sent first is ignored
        (2, "192.0.2.1, 198.51.100.7, 10.0.0.1", "198.51.100.7"),
        (1, "198.51.100.7:5555", "198.51.100.7"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (2, "198.51.100.7", "10.0.0.2"),  # fewer hops than proxies: the request bypassed one
        (1, None, "10.0.0.2"),
        (1, "not-an-address", "10.0.0.2"),
        (1, "198.51.100.7\x00", "10.0.0.2"),
    ],
)
def test_client_address_by_proxy_count(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert _address(forwarded) == expected


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("10.0.0.2", "192.0.2.1, 198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", "198.51.100.7"),  # both proxies trusted
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # not from a proxy: header ignored
        ("10.0.0.2", "10.0.0.3", "10.0.0.3"),  # only proxies: the left-most one
    ],
)
def test_client_address_by_trusted_proxy_networks(settings, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert _address(forwarded, remote=remote) == expected
