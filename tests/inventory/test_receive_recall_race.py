"""A receipt and a recall of the same lot being recorded at once, on real PostgreSQL
connections (inventory.services.recalls: both lock the product's row): the received unit always
ends quarantined by the recall, and its ledger says so.

Each transaction looks for the other's rows (the recall for units, the receipt for recalls)
before either commits; without the shared lock each misses the other's and the unit stays
available. The ordered rounds hold the first transaction just after its look until the second
one waits for a lock (or has finished: that is the bug), in both orders; the free rounds start
both at once through a barrier."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from inventory.models import EntryKind, Recall, RecallUnit, Unit, UnitState
from inventory.services import recalls, receiving
from inventory.services.recalls import recall_record
from inventory.services.receiving import ReceiveLine, units_receive
from tests.concurrency import TIMEOUT, fresh, race
from tests.factories import DistributorFactory, OrganizationFactory, UserFactory
from tests.inventory.factories import ProductFactory, ledger_problems

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERED_ROUNDS = 3  # per order
FREE_ROUNDS = 8


@pytest.fixture
def world():
    org = OrganizationFactory()
    return {
        "admin": UserFactory(organization=org, admin=True),
        "dana": DistributorFactory(organization=org),
        "product": ProductFactory(organization=org, lot_tracked=True),
    }


def _receive(world, lot):
    def call():
        line = ReceiveLine(product=world["product"], lot_number=lot, quantity=1)
        (unit,) = units_receive(actor=fresh(world["admin"]), lines=[line], custodian=world["dana"])
        return unit.pk

    return call


def _record(world, lot):
    def call():
        return recall_record(
            actor=fresh(world["admin"]),
            reference=f"R-{lot}",
            reason="Seal may fail",
            recall_class="II",
            product=world["product"],
            lot_numbers=[lot],
            recall_date=timezone.localdate(),
        ).pk

    return call


def _assert_quarantined_by_the_recall(unit_pk, lot):
    recall = Recall.objects.get(reference=f"R-{lot}")
    unit = Unit.objects.get(pk=unit_pk)
    entries = list(unit.ledger.order_by("sequence").values_list("kind", "recall_id"))
    assert (unit.lot_number, unit.state) == (lot, UnitState.QUARANTINED), lot
    assert entries == [(EntryKind.RECEIVED, None), (EntryKind.QUARANTINED, recall.pk)], lot
    assert RecallUnit.objects.filter(recall=recall, unit=unit).count() == 1, lot


def _waits_for_a_lock(pid) -> bool:
    # Asked on the test's own connection: inside a transaction pg_stat_activity is a snapshot.
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _first_looks_then_second_runs(first, second, *, hold_after, monkeypatch):
    """Run `first` in a thread; right after it calls `hold_after` (module, name) it is held
    until `second`, run in another thread, waits for a lock or has ended. Returns each one's
    ("ok", result) or ("error", exception)."""
    module, name = hold_after
    looked, release = threading.Event(), threading.Event()
    real = getattr(module, name)
    outcomes, pids, threads = {}, {}, {}

    def looking(*args, **kwargs):
        result = real(*args, **kwargs)
        if threading.current_thread() is threads["first"]:
            looked.set()
            release.wait(timeout=TIMEOUT)
        return result

    monkeypatch.setattr(module, name, looking)

    def run(which, call):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids[which] = cursor.fetchone()[0]
            outcomes[which] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever was raised
            outcomes[which] = ("error", exc)
        finally:
            connection.close()

    threads["first"] = threading.Thread(target=run, args=("first", first))
    threads["second"] = threading.Thread(target=run, args=("second", second))
    threads["first"].start()
    try:
        assert looked.wait(timeout=TIMEOUT), "the first call never looked"
        threads["second"].start()
        deadline = time.monotonic() + TIMEOUT
        while threads["second"].is_alive() and not (
            "second" in pids and _waits_for_a_lock(pids["second"])
        ):
            assert time.monotonic() < deadline, "the second call neither waited nor ended"
            time.sleep(0.005)
    finally:
        release.set()
        for thread in threads.values():
            if thread.ident is not None:
                thread.join(timeout=TIMEOUT)
    assert not any(t.is_alive() for t in threads.values()), "a thread hung"
    return outcomes["first"], outcomes["second"]


def _ordered_round(world, lot, *, recall_first, monkeypatch):
    if recall_first:  # the recall found no unit of the lot and is about to commit
        recorded, received = _first_looks_then_second_runs(
            _record(world, lot),
            _receive(world, lot),
            hold_after=(recalls, "lock_units"),
            monkeypatch=monkeypatch,
        )
    else:  # the receipt found no recall and is about to commit
        received, recorded = _first_looks_then_second_runs(
            _receive(world, lot),
            _record(world, lot),
            hold_after=(receiving, "quarantine_on_receipt"),
            monkeypatch=monkeypatch,
        )
    assert (received[0], recorded[0]) == ("ok", "ok"), (received, recorded)
    return received[1]


def test_a_receipt_and_a_recall_of_its_lot_at_once_always_end_with_the_unit_quarantined(
    world, monkeypatch
):
    for n in range(ORDERED_ROUNDS):
        for recall_first in (False, True):
            lot = f"{'C' if recall_first else 'R'}{n}"
            with monkeypatch.context() as patch:
                unit_pk = _ordered_round(world, lot, recall_first=recall_first, monkeypatch=patch)
            _assert_quarantined_by_the_recall(unit_pk, lot)
    for n in range(FREE_ROUNDS):  # both released by one barrier, each order first in turn
        lot = f"F{n}"
        calls = [_receive(world, lot), _record(world, lot)]
        if n % 2:
            calls.reverse()
        outcomes = race(*calls)
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
        _assert_quarantined_by_the_recall(outcomes[n % 2][1], lot)
    assert ledger_problems() == []
