"""Login throttling keys on username and address together (settings.AXES_LOCKOUT_PARAMETERS):
someone guessing another account's password from a shared address (a hospital's network, an
office) locks that account from there, never everyone else signing in from it."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, RepFactory

LIMIT = 10


@pytest.fixture(autouse=True)
def _behind_one_load_balancer(settings):
    # REMOTE_ADDR is the balancer, which appends the client's address to X-Forwarded-For.
    settings.TRUSTED_PROXY_COUNT = 1


SHARED_ADDRESS = "198.51.100.7"


def _login(client, username, password, ip=SHARED_ADDRESS):
    # Behind the load balancer (REMOTE_ADDR), which appends the client's address.
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=ip,
    )


def test_ten_failures_for_another_username_from_the_reps_address_do_not_lock_the_rep_out(
    client, rep
):
    colleague = RepFactory(organization=rep.organization)
    for n in range(1, LIMIT + 1):
        response = _login(client, colleague.username, "wrong-password")
        assert response.status_code == (429 if n == LIMIT else 200)
    # The colleague is locked out from there...
    assert _login(client, colleague.username, PASSWORD).status_code == 429

    # ...the rep, from the same address, signs in.
    response = _login(client, rep.username, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_ten_failures_for_a_username_nobody_has_do_not_lock_out_the_address(client, rep):
    for _ in range(LIMIT):
        _login(client, "no-such-user", "wrong-password")
    assert _login(client, rep.username, PASSWORD).status_code == 302
