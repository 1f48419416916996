"""Throttling per token and per user, with limits from settings, counted in the database every
app server shares; a 429 carries Retry-After and the one error shape; ended windows are pruned."""

from __future__ import annotations

import io
import time
import types
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

import api.throttling
from accounts.models import RateCounter
from accounts.ratelimit import rate_counters_prune
from api.models import TokenScope
from tests.api.test_tokens import call, make_token
from tests.concurrency import race
from tests.factories import RepFactory
from tests.processes import Server

UNITS = reverse("api:unit_list")
# A moment 20 seconds into a minute: every call of a test falls in that one window.
FROZEN = 1_800_000_000 + 20


@pytest.fixture
def frozen(monkeypatch):
    """The throttle's clock, stopped (other code keeps the real time)."""
    clock = types.SimpleNamespace(now=float(FROZEN))
    monkeypatch.setattr(api.throttling, "time", types.SimpleNamespace(time=lambda: clock.now))
    return clock


@pytest.fixture
def rates(settings):
    def set_rates(token="3/m", user="100/m"):
        settings.API_THROTTLE_RATES = {"token": token, "user": user}

    set_rates()
    return set_rates


def assert_throttled(response, retry_after: int | None = None):
    assert response.status_code == 429, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1
    if retry_after is not None:
        assert int(response["Retry-After"]) == retry_after


def test_a_token_over_its_limit_gets_429_with_retry_after_until_the_window_ends(rep, rates, frozen):
    whole = make_token(rep)
    assert [call(whole).status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(call(whole), retry_after=40)  # 20 s into the minute
    frozen.now += 30
    assert_throttled(call(whole), retry_after=10)
    frozen.now += 10  # the next minute: a fresh budget
    assert call(whole).status_code == 200


def test_each_token_has_its_own_budget(rep, rates, frozen):
    first, second = make_token(rep, name="a"), make_token(rep, name="b")
    for _ in range(3):
        assert call(first).status_code == 200
    assert_throttled(call(first))
    assert call(second).status_code == 200


def test_the_user_limit_counts_all_their_tokens_and_their_session(rep, rates, frozen):
    rates(token="100/m", user="4/m")
    first, second = make_token(rep, name="a"), make_token(rep, name="b")
    browser = Client()
    browser.force_login(rep)
    assert call(first).status_code == 200
    assert call(second).status_code == 200
    assert browser.get(UNITS).status_code == 200
    assert call(first).status_code == 200
    assert_throttled(call(second))
    assert_throttled(browser.get(UNITS))
    # Another person is not slowed down by it.
    other = make_token(RepFactory(organization=rep.organization))
    assert call(other).status_code == 200


def test_limits_come_from_settings(rep, rates, frozen):
    rates(token="5/m")
    whole = make_token(rep)
    assert [call(whole).status_code for _ in range(6)] == [200] * 5 + [429]


def test_the_count_lives_in_the_database(rep, rates, frozen):
    token_whole = make_token(rep)
    for _ in range(2):
        call(token_whole)
    counts = dict(RateCounter.objects.values_list("key", "count"))
    token_key = next(k for k in counts if k.startswith("token:"))
    assert counts[token_key] == 2 and counts[f"user:{rep.pk}"] == 2
    # A second "server" (another client, no state shared but the database) sees that count.
    assert call(token_whole, client=Client()).status_code == 200
    assert_throttled(call(token_whole, client=Client()))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_over_the_limit_give_exactly_the_limit(settings):
    limit, calls = 4, 10
    settings.API_THROTTLE_RATES = {"token": f"{limit}/d", "user": "1000/d"}
    _wait_clear_of_the_window_end(86400)
    whole = make_token(RepFactory(), TokenScope.READ)
    outcomes = race(*[lambda: call(whole, client=Client()).status_code for _ in range(calls)])
    statuses = sorted(result for kind, result in outcomes if kind == "ok")
    assert len(statuses) == calls, outcomes
    assert statuses == [200] * limit + [429] * (calls - limit)


def _wait_clear_of_the_window_end(window: int, margin: int = 60) -> None:
    """Real-clock tests start well inside a window (a day's: the wait is rare), so its end
    cannot split their calls."""
    left = window - int(time.time()) % window
    if left < margin:
        time.sleep(left + 1)


@pytest.mark.postgres
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_two_app_servers_share_one_count(tmp_path):
    _wait_clear_of_the_window_end(86400, margin=120)
    whole = make_token(RepFactory(), TokenScope.READ)
    env = {"API_THROTTLE_TOKEN": "3/d", "API_THROTTLE_USER": "1000/d"}
    servers = [Server(tmp_path, "server-a", env), Server(tmp_path, "server-b", env)]
    try:
        for server in servers:
            server.wait_until_up()

        def get(server):
            request = urllib.request.Request(
                server.url + UNITS, headers={"Authorization": f"Bearer {whole}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    return response.status, None
            except urllib.error.HTTPError as refused:
                return refused.code, refused.headers.get("Retry-After")

        a, b = servers
        answers = [get(a), get(b), get(a), get(b), get(a)]
    finally:
        for server in servers:
            server.stop()
    assert [status for status, _ in answers] == [200, 200, 200, 429, 429]
    assert all(int(retry) >= 1 for _, retry in answers[3:])


def test_pruning_deletes_ended_windows_and_keeps_open_ones(db):
    now = FROZEN
    hour_start = now - now % 3600

    def counter(key, start, window):
        return RateCounter.objects.create(key=key, window_start=start, window_seconds=window)

    ended = counter("user:1", hour_start - 3600, 3600)
    ended_minute = counter("token:1", now - 7200, 60)
    open_hour = counter("user:1", hour_start, 3600)
    open_minute = counter("token:1", now - now % 60, 60)
    assert rate_counters_prune(now=now) == 2
    left = set(RateCounter.objects.all())
    assert left == {open_hour, open_minute}
    assert ended not in left and ended_minute not in left


def test_the_daily_prune_command_prunes_the_throttle_counters(db):
    RateCounter.objects.create(
        key="user:1", window_start=int(time.time()) - 10 * 86400, window_seconds=86400
    )
    current = RateCounter.objects.create(
        key="user:1", window_start=int(time.time()) // 60 * 60, window_seconds=60
    )
    out = io.StringIO()
    call_command("prune_job_results", stdout=out)
    assert list(RateCounter.objects.all()) == [current]
    assert "Pruned 1 rate-limit counter(s)." in out.getvalue()
