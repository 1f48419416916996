"""bench_scale's builder on a tiny scale: the organization it promises, and a ledger that
replays to every unit's state and custodian."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from accounts.models import DistributorGroup, Notification, User
from bench import timing
from bench.build.builder import Builder
from bench.build.common import Scale
from bench.build.replay import replay_problems
from events.models import Event
from inventory.models import (
    CustodyEntry,
    Location,
    ParLevel,
    Recall,
    RecallUnit,
    Transfer,
    Unit,
    UnitState,
)
from tests.inventory.factories import ledger_problems

UNITS, USERS, EVENTS = 3000, 200, 500  # 200 users: 4 distributor groups


@pytest.fixture
def loaded(db):
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    before = {"units": Unit.objects.count(), "events": Event.objects.count()}
    report = Builder(Scale(units=UNITS, users=USERS, events=EVENTS)).run()
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
    # Every location has a holder or is the organization's; units sit at their holder's.
    assert Location.objects.filter(organization_id=org, kind="bin", holder=None).count() == 0
    assert (
        not Unit.objects.filter(location__isnull=False)
        .exclude(location__holder_id=F("custodian_id"))
        .exclude(location__holder=None, custodian=None)
    )
    assert CustodyEntry.objects.filter(kind="moved").exists()
    # The recall lot to time: many units over many holders, facility stock and a used one.
    big = Recall.objects.get(reference="BENCH-R1")
    lot_units = Unit.objects.filter(lot_number=big.lot_numbers[0], product=big.product)
    assert lot_units.count() == RecallUnit.objects.filter(recall=big).count() >= 50
    assert lot_units.values("custodian").distinct().count() >= 10
    assert lot_units.filter(state="quarantined", facility__isnull=False).exists()
    assert lot_units.filter(ledger__kind="consumed", ledger__event_id__isnull=False).exists()
    assert Recall.objects.get(reference="BENCH-R3").status == "withdrawn"
    assert CustodyEntry.objects.filter(kind="returned").exists()
    assert ParLevel.objects.filter(location__holder__username="dana").count() >= 3
    # Notifications are accounts rows with what the bell shows.
    note = Notification.objects.filter(kind="mention").first()
    assert note.summary and note.url.startswith("/events/")
    assert Notification.objects.filter(kind="recall", recall_id=big.pk).exists()
    # The entry-by-entry replay the service tests use agrees with the SQL one.
    assert ledger_problems(organization_id=org) == []


@pytest.mark.postgres
def test_ledger_replay_agrees_and_catches_a_unit_that_disagrees(loaded):
    report, _ = loaded
    assert report.problems and not any(report.problems.values())
    org = User.objects.get(username="admin").organization_id
    unit = Unit.objects.filter(organization_id=org, state="available").first()
    Unit.objects.filter(pk=unit.pk).update(state="hold")
    with connection.cursor() as cursor:
        problems = replay_problems(cursor, org)
    assert problems["units disagreeing with their ledger"] == 1


@pytest.mark.postgres
def test_ledger_replay_catches_a_unit_moved_without_an_entry(loaded):
    org = User.objects.get(username="admin").organization_id
    unit = Unit.objects.filter(organization_id=org, location__holder__username="dana").first()
    other = Location.objects.filter(holder__username="riley").first()
    Unit.objects.filter(pk=unit.pk).update(location=other)
    with connection.cursor() as cursor:
        problems = replay_problems(cursor, org)
    assert problems["units not where their ledger left them"] == 1
    assert problems["units at another holder's location"] == 1


@pytest.mark.postgres
def test_ledger_replay_catches_a_quarantine_that_changed_custody(loaded):
    org = User.objects.get(username="admin").organization_id
    unit = Unit.objects.filter(organization_id=org, state="quarantined").exclude(custodian=None)[0]
    last = unit.ledger.order_by("-sequence").first()
    CustodyEntry.objects.create(
        organization_id=org,
        unit=unit,
        sequence=last.sequence + 1,
        kind="quarantined",
        from_custodian_id=unit.custodian_id,
        to_custodian=None,
        from_state="quarantined",
        to_state="quarantined",
        actor=User.objects.get(username="admin"),
        recall=None,
        from_location_id=unit.location_id,
        to_location_id=unit.location_id,
    )
    Unit.objects.filter(pk=unit.pk).update(custodian=None, ledger_seq=last.sequence + 1)
    with connection.cursor() as cursor:
        problems = replay_problems(cursor, org)
    assert problems["custody changed by a move or a recall"] == 1
    assert problems["recall named on the wrong kinds"] == 1


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
