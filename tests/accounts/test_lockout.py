"""Login throttling (django-axes): ten failures lock a username + client address for 15 minutes."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD

LIMIT = 10


@pytest.fixture(autouse=True)
def _behind_one_load_balancer(settings):
    # REMOTE_ADDR is the balancer, which appends the client's address to X-Forwarded-For.
    settings.TRUSTED_PROXY_COUNT = 1


def _login(client, username, password, ip="198.51.100.7", forwarded=None):
    extra = {"REMOTE_ADDR": "10.0.0.2"}  # the load balancer
    extra["HTTP_X_FORWARDED_FOR"] = forwarded or ip
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def _fail(client, username, times, **kwargs):
    """Wrong passwords; the one that reaches the limit already answers with the lockout page."""
    for n in range(1, times + 1):
        response = _login(client, username, "wrong-password", **kwargs)
        assert response.status_code == (429 if n >= LIMIT else 200)


def test_ten_failures_lock_the_username_from_that_address_even_with_the_right_password(client, rep):
    _fail(client, rep.username, LIMIT)
    response = _login(client, rep.username, PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert "Sign-in locked for 15 minutes" in body and rep.username in body
    assert "_auth_user_id" not in client.session


def test_nine_failures_do_not_lock(client, rep):
    _fail(client, rep.username, LIMIT - 1)
    assert _login(client, rep.username, PASSWORD).status_code == 302


def test_a_stranger_elsewhere_cannot_lock_the_rep_out(client, rep):
    _fail(client, rep.username, LIMIT + 5, ip="203.0.113.66")
    assert _login(client, rep.username, PASSWORD, ip="198.51.100.7").status_code == 302


def test_a_client_sent_forwarded_for_cannot_choose_the_address(client, rep):
    # The balancer appends the real address; what the client put before it is ignored, so
    # rotating it does not buy more guesses.
    for i in range(LIMIT):
        _login(client, rep.username, "wrong", forwarded=f"192.0.2.{i}, 198.51.100.7")
    assert (
        _login(client, rep.username, PASSWORD, forwarded="192.0.2.200, 198.51.100.7").status_code
        == 429
    )
    assert _login(client, rep.username, PASSWORD, ip="198.51.100.7").status_code == 429


def test_the_lock_ends_after_15_minutes(client, rep):
    _fail(client, rep.username, LIMIT)
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert _login(client, rep.username, PASSWORD).status_code == 302


def test_an_admin_sees_the_lock_and_unlocks_from_the_users_page(client, admin_user, rep):
    _fail(client, rep.username, LIMIT)
    client.force_login(admin_user)
    page = client.get(reverse("accounts:user_detail", args=[rep.pk])).content.decode()
    assert "Sign-in locked" in page and reverse("accounts:user_unlock", args=[rep.pk]) in page
    response = client.post(reverse("accounts:user_unlock", args=[rep.pk]), follow=True)
    assert "can sign in again" in response.content.decode()
    client.logout()
    assert _login(client, rep.username, PASSWORD).status_code == 302


def test_only_admins_unlock(client, distributor, rep):
    _fail(client, rep.username, LIMIT)
    client.force_login(distributor)
    assert client.post(reverse("accounts:user_unlock", args=[rep.pk])).status_code == 403
    client.logout()
    assert _login(client, rep.username, PASSWORD).status_code == 429


@pytest.mark.parametrize("count", [0, 3])
def test_the_users_page_shows_failures_only_when_there_are_some(client, admin_user, rep, count):
    _fail(client, rep.username, count)
    client.force_login(admin_user)
    page = client.get(reverse("accounts:user_detail", args=[rep.pk])).content.decode()
    assert ('data-testid="login-failures"' in page) == bool(count)
    assert "Sign-in locked" not in page
