"""Offline marks replayed at the same moment on real concurrent PostgreSQL connections: a phone
that retries a sync while the first is still running, and a group's phones coming back into
signal together. Each operation is applied once, and each unit goes to one event."""

import json
import uuid
from collections import Counter, defaultdict

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Notification, NotificationKind
from events.models import ClientOperation, Event, EventLine
from events.services.offline import ClientOp, client_operation_apply
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState
from tests.concurrency import fresh, race
from tests.events.factories import FacilityFactory, open_event
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ledger_problems, receive_units

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

UNITS = 10
REPLAYS = 5


@pytest.fixture
def world():
    org = OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    dana = DistributorFactory(organization=org, username="dana-off")
    reps = [
        RepFactory(organization=org, assigned_to=dana, username=f"rep-off-{i}")
        for i in range(REPLAYS)
    ]
    group = dana.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    facility = FacilityFactory(organization=org)
    return {
        "admin": admin,
        "dana": dana,
        "reps": reps,
        "cases": [
            open_event(fresh(rep), facility=facility, name=f"Case {i}")
            for i, rep in enumerate(reps)
        ],
        "pool": receive_units(admin, dana, n=UNITS, serial_prefix="POOL-"),
    }


def marked_units():
    return Counter(
        CustodyEntry.objects.filter(kind=EntryKind.MARKED_USED).values_list("unit_id", flat=True)
    )


def test_ten_operations_each_replayed_five_times_at_once_are_applied_once_each(world):
    rep, case, units = world["reps"][0], world["cases"][0], world["pool"]
    ops = [
        {
            "id": str(uuid.uuid4()),
            "kind": "mark_used",
            "event": case.pk,
            "unit": unit.pk,
            "label": "",
            "how": "list",
            "at": "2026-03-02T09:41:07Z",
        }
        for unit in units
    ]
    clients = []
    for _ in range(REPLAYS * UNITS):
        client = Client()
        client.force_login(rep)
        clients.append(client)

    def replay(client, sent):
        def call():
            response = client.post(
                reverse("events:offline_sync"),
                data=json.dumps({"operations": [sent]}),
                content_type="application/json",
            )
            assert response.status_code == 200, response.content
            (answer,) = response.json()["results"]
            return answer

        return call

    calls = [replay(clients[i], ops[i % UNITS]) for i in range(REPLAYS * UNITS)]
    outcomes = race(*calls)

    assert all(kind == "ok" for kind, _ in outcomes), [o for o in outcomes if o[0] != "ok"]
    by_id = defaultdict(list)
    for _, answer in outcomes:
        by_id[answer["id"]].append(answer)
    assert sorted(by_id) == sorted(op["id"] for op in ops)
    for sent in ops:
        answers = by_id[sent["id"]]
        assert len(answers) == REPLAYS
        assert all(a == answers[0] for a in answers), answers
        assert answers[0]["status"] == "applied", answers[0]
        assert answers[0] == ClientOperation.objects.get(pk=sent["id"]).answer
    assert ClientOperation.objects.count() == UNITS
    assert marked_units() == Counter({u.pk: 1 for u in units})
    assert EventLine.objects.current().filter(event=case).count() == UNITS
    assert ledger_problems() == []


def test_fifty_operations_of_five_reps_on_ten_pool_units_allocate_each_unit_once(world):
    reps, cases, units = world["reps"], world["cases"], world["pool"]

    def mark(rep, case, unit):
        op = ClientOp(id=uuid.uuid4(), kind="mark_used", event_id=case.pk, unit_id=unit.pk)
        return lambda: client_operation_apply(actor=fresh(rep), op=op)

    calls = [mark(rep, case, unit) for rep, case in zip(reps, cases, strict=True) for unit in units]
    outcomes = race(*calls)

    assert all(kind == "ok" for kind, _ in outcomes), [o for o in outcomes if o[0] != "ok"]
    answers = [answer for _, answer in outcomes]
    assert Counter(a["status"] for a in answers) == {"applied": UNITS, "refused": 40}
    assert sorted(a["unit"] for a in answers if a["status"] == "applied") == sorted(
        u.pk for u in units
    )
    assert marked_units() == Counter({u.pk: 1 for u in units})
    lines = EventLine.objects.current()
    assert sorted(lines.values_list("unit_id", flat=True)) == sorted(u.pk for u in units)
    events = dict(Event.objects.values_list("pk", "name"))
    winners = dict(lines.values_list("unit_id", "event_id"))
    for answer in answers:
        if answer["status"] == "refused":
            # The loser is told which event took the unit, whichever won.
            assert f"“{events[winners[answer['unit']]]}”" in answer["message"], answer
    assert set(Unit.objects.values_list("state", flat=True)) == {UnitState.ALLOCATED}
    assert ClientOperation.objects.count() == 50
    assert sorted(ClientOperation.objects.values_list("status", flat=True)) == sorted(
        a["status"] for a in answers
    )
    assert (
        Notification.objects.filter(
            user=world["dana"], kind=NotificationKind.OFFLINE_CONFLICT
        ).count()
        == 40
    )
    assert ledger_problems() == []
