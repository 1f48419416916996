"""Password reset is limited per client address and per account (settings.PASSWORD_RESET_RATES),
counted in the database every app server shares; the answer never tells whether the account
exists or the limit was hit, but no email goes out past it (the attack run's finding 3)."""

import pytest
from django.urls import reverse

from accounts.models import RateCounter
from tests.factories import RepFactory
from tests.taskqueue import run_worker


def _reset(client, email, address="198.51.100.7"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_eight_resets_for_one_user_in_a_row_send_three_emails(client, rep, mailoutbox):
    # From eight different addresses, so only the per-account limit applies.
    answers = [_reset(client, rep.email, address=f"198.51.100.{i}") for i in range(8)]
    run_worker()
    assert len(mailoutbox) == 3
    assert {a.status_code for a in answers} == {302}
    assert {a.url for a in answers} == {reverse("password_reset_done")}


def test_resets_for_different_accounts_from_one_address_send_three_emails(client, org, mailoutbox):
    people = [RepFactory(organization=org) for _ in range(5)]
    answers = [_reset(client, person.email) for person in people]
    run_worker()
    assert len(mailoutbox) == 3
    assert {a.url for a in answers} == {reverse("password_reset_done")}


def test_the_answer_is_the_same_for_an_unknown_account_and_past_the_limit(client, rep):
    known = _reset(client, rep.email)
    unknown = _reset(client, "nobody@example.com", address="203.0.113.1")
    for i in range(4):
        _reset(client, rep.email, address=f"203.0.113.{10 + i}")
    limited = _reset(client, rep.email, address="203.0.113.99")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert (limited.status_code, limited.url) == (known.status_code, known.url)
    assert client.get(known.url).content == client.get(limited.url).content


def test_the_limit_comes_from_settings_and_lives_in_the_database(client, rep, settings, mailoutbox):
    settings.PASSWORD_RESET_RATES = {"address": "100/h", "account": "1/h"}
    _reset(client, rep.email)
    _reset(client, rep.email.upper())  # one account however the address is typed
    run_worker()
    assert len(mailoutbox) == 1
    assert RateCounter.objects.filter(key__startswith="reset-account:").get().count == 2


@pytest.mark.parametrize("forwarded", ["198.51.100.1", "198.51.100.2, 198.51.100.3"])
def test_a_client_sent_forwarded_for_does_not_reset_the_address_limit(
    client, org, mailoutbox, forwarded
):
    people = [RepFactory(organization=org) for _ in range(4)]
    for i, person in enumerate(people):
        client.post(
            reverse("password_reset"),
            {"email": person.email},
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"{forwarded}{i}",
        )
    run_worker()
    assert len(mailoutbox) == 3
