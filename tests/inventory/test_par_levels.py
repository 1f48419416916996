"""Par levels: what counts, when the distributor is told (once per drop, re-armed at par), who
sets them, and the dashboard's proposed replenishment (README, "Recalls and par levels")."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Notification, NotificationKind
from inventory.models import ParLevel
from inventory.selectors import par as par_selectors
from inventory.selectors.par import below_par, par_stock
from inventory.services import par as par_services
from inventory.services.locations import units_move
from inventory.services.par import par_level_set, par_levels_check
from inventory.services.recalls import recall_record
from inventory.services.transfers import transfer_create, transfer_decline
from tests.events.factories import mark_used, open_event
from tests.factories import DistributorFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units
from tests.taskqueue import run_worker


@pytest.fixture
def setup(org, admin_user, distributor, rep, pooled):
    product = ProductFactory(organization=org, lot_tracked=True)
    warehouse = LocationFactory(organization=org, holder=distributor, name="D warehouse")
    bin_ = LocationFactory(organization=org, holder=distributor, name="D bin", kind="bin")
    in_bin = receive_units(
        admin_user,
        distributor,
        n=3,
        product=product,
        location=bin_,
        expiration_date=timezone.localdate() + datetime.timedelta(days=100),
    )
    level = par_level_set(actor=distributor, location=bin_, product=product, par=3, reorder_to=5)
    return {
        "product": product,
        "warehouse": warehouse,
        "bin": bin_,
        "units": in_bin,
        "level": level,
    }


def alerted(level):
    level.refresh_from_db()
    return level.alerted_at is not None


def use(rep, units):
    mark_used(rep, open_event(rep), units)


def test_marking_used_below_par_tells_the_distributor_once(
    setup, rep, distributor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        use(rep, setup["units"][:1])
    assert alerted(setup["level"])
    run_worker()  # email leaves through the job queue
    assert [m.to for m in mail.outbox] == [[distributor.email]]
    assert "below par" in mail.outbox[0].subject
    (bell,) = Notification.objects.filter(user=distributor, kind=NotificationKind.BELOW_PAR)
    assert "below par" in bell.summary and bell.url
    with django_capture_on_commit_callbacks(execute=True):
        use(rep, setup["units"][1:2])
    run_worker()
    assert len(mail.outbox) == 1  # still below par: no second alert
    assert Notification.objects.filter(kind=NotificationKind.BELOW_PAR).count() == 1


def test_back_at_par_re_arms_the_alert(
    setup, admin_user, rep, distributor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        use(rep, setup["units"][:1])
    with django_capture_on_commit_callbacks(execute=True):
        receive_units(admin_user, distributor, n=1, product=setup["product"], location=setup["bin"])
    assert not alerted(setup["level"])
    with django_capture_on_commit_callbacks(execute=True):
        use(rep, setup["units"][1:2])
    run_worker()
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("how", ["move", "transfer", "quarantine"])
def test_every_way_out_of_the_location_triggers_the_check(
    setup, admin_user, distributor, rep, how, django_capture_on_commit_callbacks
):
    unit = setup["units"][0]
    with django_capture_on_commit_callbacks(execute=True):
        if how == "move":
            units_move(actor=distributor, unit_ids=[unit.pk], to_location=setup["warehouse"])
        elif how == "transfer":
            transfer_create(actor=distributor, unit_ids=[unit.pk], recipient=rep)
        else:
            recall_record(
                actor=admin_user,
                reference="R-P",
                reason="x",
                recall_class="II",
                product=setup["product"],
                lot_numbers=[unit.lot_number],
                recall_date=timezone.localdate(),
            )
    assert alerted(setup["level"])


def test_expired_units_do_not_count_and_the_daily_run_notices(setup, distributor):
    today = timezone.localdate()
    assert par_levels_check(level_ids=[setup["level"].pk], today=today) == []
    expired = today + datetime.timedelta(days=101)
    alerted_levels = par_levels_check(level_ids=[setup["level"].pk], today=expired)
    assert [lv.pk for lv in alerted_levels] == [setup["level"].pk]


def test_the_daily_command_checks_every_level(setup, monkeypatch):
    from django.core.management import call_command

    later = timezone.localdate() + datetime.timedelta(days=101)
    monkeypatch.setattr(par_services.timezone, "localdate", lambda *a: later)
    call_command("par_levels_check")
    assert alerted(setup["level"])


def test_the_proposal_comes_from_the_warehouse_earliest_expiry_first(
    setup, admin_user, distributor, rep
):
    today = timezone.localdate()
    late, early = (
        receive_units(
            admin_user,
            distributor,
            n=1,
            product=setup["product"],
            location=setup["warehouse"],
            expiration_date=today + datetime.timedelta(days=d),
        )[0]
        for d in (300, 30)
    )
    use(rep, setup["units"][:2])

    (row,) = below_par(holder=distributor)

    assert (row.count, row.level.pk) == (1, setup["level"].pk)
    assert [u.pk for u in row.proposal] == [early.pk, late.pk]
    assert row.short == 2  # reorder to 5: 1 there + 2 proposed, 2 more needed


def test_a_rep_cannot_set_par_levels_and_another_distributor_neither(setup, org, rep):
    for actor in (rep, DistributorFactory(organization=org)):
        with pytest.raises(PermissionDenied):
            par_level_set(
                actor=actor, location=setup["bin"], product=setup["product"], par=1, reorder_to=1
            )


def test_reorder_to_below_par_is_refused(setup, admin_user):
    with pytest.raises(ValidationError) as info:
        par_level_set(
            actor=admin_user, location=setup["bin"], product=setup["product"], par=4, reorder_to=2
        )
    assert "reorder_to" in info.value.message_dict
    assert ParLevel.objects.get().par == 3


def test_an_admin_sets_them_for_any_distributor_location(setup, admin_user):
    level = par_level_set(
        actor=admin_user, location=setup["bin"], product=setup["product"], par=2, reorder_to=4
    )
    assert (level.par, level.reorder_to) == (2, 4)


def test_a_unit_declined_back_to_hold_does_not_count(setup, distributor, org):
    other = DistributorFactory(organization=org)
    (transfer,) = transfer_create(
        actor=distributor, unit_ids=[setup["units"][0].pk], recipient=other
    )
    transfer_decline(actor=other, transfer=transfer, reason="not ordered")
    assert par_stock(level=setup["level"]).count() == 2


def test_the_dashboard_lists_a_capped_number_of_levels_and_says_so(
    setup, org, distributor, client, monkeypatch, django_assert_max_num_queries
):
    for _ in range(4):
        par_level_set(
            actor=distributor,
            location=setup["bin"],
            product=ProductFactory(organization=org),
            par=1,
            reorder_to=1,
        )
    monkeypatch.setattr(par_selectors, "BELOW_PAR_SHOWN", 2)
    rows = below_par(holder=distributor)
    assert len(rows) == 2 and rows.more
    # Levels, counts and warehouses, then at most two reads per listed level (own warehouses,
    # then others'): the levels left out cost nothing.
    with django_assert_max_num_queries(3 + 2 * 2):
        below_par(holder=distributor)
    client.force_login(distributor)
    assert "first 2 locations below par" in client.get("/").content.decode()


def test_the_dashboard_lists_levels_below_par_in_queries_that_do_not_grow_with_them(
    setup, org, distributor, client
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def below_par_level():
        par_level_set(
            actor=distributor,
            location=setup["bin"],
            product=ProductFactory(organization=org),
            par=1,
            reorder_to=2,
        )

    client.force_login(distributor)
    below_par_level()
    with CaptureQueriesContext(connection) as one:
        assert client.get("/").status_code == 200
    below_par_level()
    below_par_level()
    with CaptureQueriesContext(connection) as three:
        page = client.get("/").content.decode()
    assert page.count('data-testid="replenish"') == 3
    assert len(three) == len(one)  # each level's proposal waits on its own page
