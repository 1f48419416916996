"""bench_scale's builder on a tiny scale: the organization it promises, and a ledger that
replays to every unit's state and custodian."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import DistributorGroup, User
from events.bench import build, timing
from events.models import Event
from inventory.models import Transfer, Unit, UnitState

UNITS, USERS, EVENTS = 3000, 200, 500  # 200 users: 4 distributor groups


@pytest.fixture
def loaded(db):
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    before = {"units": Unit.objects.count(), "events": Event.objects.count()}
    report = build.Builder(build.Scale(units=UNITS, users=USERS, events=EVENTS)).run()
    return report, before


@pytest.mark.postgres
def test_builder_makes_the_organization_it_promises(loaded):
    report, before = loaded
    org = User.objects.get(username="admin").organization_id
    assert User.objects.filter(organization_id=org).count() == USERS
    assert Unit.objects.count() == before["units"] + UNITS
    assert Event.objects.count() == before["events"] + EVENTS
    assert set(Unit.objects.values_list("state", flat=True)) == {s.value for s in UnitState}
    assert set(Transfer.objects.values_list("status", flat=True)) == set(Transfer.Status.values)
    assert set(Event.objects.values_list("status", flat=True)) >= {
        "open",
        "submitted",
        "completed",
        "paid",
        "cancelled",
    }
    assert DistributorGroup.objects.get(distributor__username="dana").pooling_enabled
    groups = DistributorGroup.objects.filter(organization_id=org)
    assert groups.count() == 4
    assert groups.filter(pooling_enabled=True).count() == 2
    # Riley (a demo rep of dana's group) has an open case with units to time Mark Used on.
    assert Event.objects.filter(
        representative__username="riley", status="open", lines__isnull=False
    ).exists()
    assert report.counts["transfers"] == EVENTS // 4
    assert EVENTS * 0.3 <= report.counts["event lines"] <= EVENTS * 0.8


@pytest.mark.postgres
def test_ledger_replay_agrees_and_catches_a_unit_that_disagrees(loaded):
    report, _ = loaded
    assert report.problems and not any(report.problems.values())
    org = User.objects.get(username="admin").organization_id
    unit = Unit.objects.filter(organization_id=org, state="available").first()
    Unit.objects.filter(pk=unit.pk).update(state="hold")
    with connection.cursor() as cursor:
        problems = build.replay_problems(cursor, org)
    assert problems["units disagreeing with their ledger"] == 1


@pytest.mark.postgres
def test_second_load_is_refused(loaded):
    with pytest.raises(CommandError, match="already holds"):
        call_command("bench_scale", units=10, users=60, events=10, load_only=True)


@pytest.mark.parametrize(
    "url",
    ["http://example.com:8000", "http://10.0.0.5:8011", "ftp://127.0.0.1", "http://127.0.0.1.evil"],
)
def test_http_timing_refuses_other_hosts(url):
    with pytest.raises(ValueError, match="only"):
        timing.check_local(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8011", "http://localhost:8011/"])
def test_http_timing_accepts_this_machine(url):
    assert timing.check_local(url) == url.rstrip("/")
