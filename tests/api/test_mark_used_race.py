"""Mark Used through the API races itself and the page, on real concurrent PostgreSQL
connections: 50 calls from five reps of one pooled group on the distributor's 10 units make
exactly 10 allocations, and every loser is told which event took its unit."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from events.models import EventLine
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState
from tests.api.tokens import token_for
from tests.concurrency import race
from tests.events.factories import FacilityFactory, open_event
from tests.factories import RepFactory
from tests.inventory.factories import ledger_problems, receive_units
from tests.pages import seen_on

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TAKEN = re.compile(r"^POOL-\d+ was already marked used on “Case of rep \d” by .+\.$")


@pytest.fixture
def group(admin_user, pooled, distributor, rep):
    """dana's pooled group of five reps, each with an open case at one hospital, and dana's
    10 units."""
    org = admin_user.organization
    reps = [rep, *(RepFactory(organization=org, assigned_to=distributor) for _ in range(4))]
    facility = FacilityFactory(organization=org)
    cases = [open_event(r, facility=facility, name=f"Case of rep {i}") for i, r in enumerate(reps)]
    units = receive_units(admin_user, distributor, n=10, serial_prefix="POOL-")
    return reps, cases, units


def _mark_through_the_api(token, case, unit):
    def call():
        return Client().post(
            reverse("api:event_mark_used", kwargs={"pk": case.pk}),
            {"unit_ids": [unit.pk]},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    return call


def test_fifty_api_calls_on_ten_pooled_units_allocate_each_unit_once(group):
    reps, cases, units = group
    tokens = [token_for(r) for r in reps]
    # Each unit is wanted by all five reps at once (calls 0-4 on the first unit, ...).
    asked = [(i % 5, units[i // 5]) for i in range(50)]
    calls = [_mark_through_the_api(tokens[who], cases[who], unit) for who, unit in asked]

    outcomes = race(*calls)

    assert [kind for kind, _ in outcomes] == ["ok"] * 50, outcomes
    responses = [response for _, response in outcomes]
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 10 + [400] * 40, statuses
    winners = {}
    for (who, unit), response in zip(asked, responses, strict=True):
        if response.status_code == 200:
            assert unit.pk not in winners, "a unit was allocated twice"
            winners[unit.pk] = cases[who].pk
            assert [line["unit"]["id"] for line in response.json()["lines"]] == [unit.pk]
        else:
            error = response.json()["error"]
            assert error["code"] == "rule"
            assert TAKEN.match(error["message"]), error["message"]
            assert error["message"].startswith(f"{unit.serial_number} ")
    assert set(winners) == {u.pk for u in units}

    lines = EventLine.objects.current()
    assert lines.count() == 10
    assert dict(lines.values_list("unit_id", "event_id")) == winners
    assert CustodyEntry.objects.filter(kind=EntryKind.MARKED_USED).count() == 10
    assert set(Unit.objects.filter(pk__in=winners).values_list("state", flat=True)) == {
        UnitState.ALLOCATED
    }
    assert ledger_problems() == []


def test_the_page_and_the_api_racing_for_one_unit_allocate_it_once(group):
    reps, cases, units = group
    riley, sam = reps[0], reps[1]
    unit = units[0]
    page = Client()
    page.force_login(riley)

    url = reverse("events:mark_used", args=[cases[0].pk])
    seen = seen_on(page, url)

    def through_the_page():
        return page.post(url, {"unit": [unit.pk], "seen": seen})

    outcomes = race(through_the_page, _mark_through_the_api(token_for(sam), cases[1], unit))

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    page_answer, api_answer = (response for _, response in outcomes)
    assert page_answer.status_code == 302
    (line,) = EventLine.objects.current()
    assert line.unit_id == unit.pk
    if line.event_id == cases[0].pk:  # the page won: the API is told the page's case took it
        assert api_answer.status_code == 400
        assert api_answer.json()["error"]["message"] == (
            f"POOL-1 was already marked used on “Case of rep 0” by {riley}."
        )
    else:  # the API won: the page shows the same words
        assert api_answer.status_code == 200
        shown = page.get(page_answer["Location"]).content.decode()
        # Riley's page showed the unit before Sam's call took it: told as a change since.
        assert "POOL-1 was marked used on “Case of rep 1” at " in shown
    assert CustodyEntry.objects.filter(kind=EntryKind.MARKED_USED).count() == 1
    assert ledger_problems() == []
