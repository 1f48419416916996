"""Races on real PostgreSQL connections: marking a unit used while a recall quarantines it
(exactly one wins, and the ledger agrees), and two requests dropping one location below par at
once (one alert)."""

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Notification, NotificationKind
from events.models import Event
from events.services.usage import event_mark_used
from inventory.models import EntryKind, ParLevel, Recall, Unit, UnitState
from inventory.services.par import par_level_set
from inventory.services.recalls import recall_record
from tests.concurrency import fresh, race
from tests.events.factories import FacilityFactory, open_event
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import (
    LocationFactory,
    ProductFactory,
    ledger_problems,
    receive_units,
)
from tests.taskqueue import run_worker

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    org = OrganizationFactory()
    admin = UserFactory(organization=org, admin=True)
    dana = DistributorFactory(organization=org, username="dana-rc")
    riley = RepFactory(organization=org, assigned_to=dana, username="riley-rc")
    sam = RepFactory(organization=org, assigned_to=dana, username="sam-rc")
    group = dana.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    product = ProductFactory(organization=org, lot_tracked=True)
    return {
        "org": org,
        "admin": admin,
        "dana": dana,
        "riley": riley,
        "sam": sam,
        "product": product,
    }


def test_mark_used_and_quarantine_at_once_exactly_one_wins(world):
    riley, admin, product = world["riley"], world["admin"], world["product"]
    (unit,) = receive_units(admin, riley, n=1, product=product, lot_number="RACE")
    case = open_event(fresh(riley), facility=FacilityFactory(organization=world["org"]))

    outcomes = race(
        lambda: event_mark_used(actor=fresh(riley), event=Event(pk=case.pk), unit_ids=[unit.pk]),
        lambda: recall_record(
            actor=fresh(admin),
            reference="R-RACE",
            reason="race",
            recall_class="I",
            product=product,
            lot_numbers=["RACE"],
            recall_date=timezone.localdate(),
        ),
    )

    assert outcomes[1][0] == "ok", outcomes  # recording never fails: it lists what it cannot pull
    unit = Unit.objects.get(pk=unit.pk)
    kinds = list(unit.ledger.order_by("sequence").values_list("kind", flat=True))
    if outcomes[0][0] == "ok":  # marked first: the recall lists it, allocated, for action
        assert unit.state == UnitState.ALLOCATED
        assert kinds == [EntryKind.RECEIVED, EntryKind.MARKED_USED]
    else:  # quarantined first: marking is refused naming the recall
        assert "recall R-RACE" in " ".join(outcomes[0][1].messages)
        assert unit.state == UnitState.QUARANTINED
        assert kinds == [EntryKind.RECEIVED, EntryKind.QUARANTINED]
    assert Recall.objects.get().recall_units.count() == 1
    assert ledger_problems() == []


def test_two_reps_dropping_a_bin_below_par_at_once_alert_once(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    dana, admin, product = world["dana"], world["admin"], world["product"]
    bin_ = LocationFactory(organization=world["org"], holder=dana, name="race bin", kind="bin")
    units = receive_units(admin, dana, n=4, product=product, location=bin_)
    level = par_level_set(actor=dana, location=bin_, product=product, par=4, reorder_to=6)
    facility = FacilityFactory(organization=world["org"])
    cases = {rep: open_event(fresh(world[rep]), facility=facility) for rep in ("riley", "sam")}
    mail.outbox = []

    outcomes = race(
        *(
            (
                lambda rep=rep, unit=unit: event_mark_used(
                    actor=fresh(world[rep]), event=Event(pk=cases[rep].pk), unit_ids=[unit.pk]
                )
            )
            for rep, unit in (("riley", units[0]), ("sam", units[1]))
        )
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert ParLevel.objects.get(pk=level.pk).alerted_at is not None
    assert Notification.objects.filter(kind=NotificationKind.BELOW_PAR).count() == 1
    run_worker()  # email leaves through the job queue
    assert [m.to for m in mail.outbox] == [[dana.email]]
    assert ledger_problems() == []
