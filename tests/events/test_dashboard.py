"""The dashboard's expiry counts and pool levels (README, "How Trunkpool works"): what they count, at the
window edges, and that they read a fixed number of queries through the dashboard indexes."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.selectors import actor_for
from events.selectors import dashboard
from events.services.events import event_submit
from inventory.models import Unit
from inventory.services.transfers import transfer_create
from tests.events.factories import mark_used, open_event
from tests.factories import RepFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units


def _days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


def test_distributor_dashboard_counts_expiry_windows_and_pool_levels(distributor, rep, admin_user):
    org = distributor.organization
    product = ProductFactory(organization=org)
    bin_b = LocationFactory(organization=org, name="Bin B", holder=distributor)
    alpha = LocationFactory(organization=org, name="Alpha Warehouse", holder=distributor)

    def receive(custodian, expiry, n=1, location=None):
        return receive_units(
            admin_user, custodian, n=n, product=product, expiration_date=expiry, location=location
        )

    receive(distributor, _days(10), n=3, location=bin_b)
    receive(distributor, _days(-1), n=2, location=alpha)  # expired, still available
    receive(distributor, None)  # no expiry date, no location
    (leaving,) = receive(distributor, _days(60), location=alpha)
    transfer_create(actor=distributor, unit_ids=[leaving.pk], recipient=None)  # in transit
    (used,) = receive(distributor, _days(5), location=alpha)
    event = open_event(distributor)
    mark_used(distributor, event, [used])
    event_submit(actor=distributor, event=event)  # single use: inactive from now on
    for days in (0, 30, 31, 90, 91):  # the rep's trunk, on the windows' edges
        receive(rep, _days(days))
    stranger = RepFactory()  # another organization: never counted
    receive_units(None, stranger, n=2, expiration_date=_days(1))
    assert Unit.objects.get(pk=used.pk).state == "inactive"
    assert Unit.objects.get(pk=leaving.pk).state == "in_transit"

    with CaptureQueriesContext(connection) as ctx:
        data = dashboard(user=distributor, actor=actor_for(distributor))

    assert data["expiry"] == {"expired": 2, "within_30": 5, "within_90": 8}
    # Alpha Warehouse holds only expired units now: an expired unit does not stock the pool.
    assert [(r["location__name"], r["units"]) for r in data["pool_levels"]] == [
        ("Bin B", 3),
        (None, 1),
    ]
    unit_queries = [q["sql"] for q in ctx.captured_queries if 'FROM "inventory_unit"' in q["sql"]]
    # One query for all three expiry numbers, one for pool levels, one for facility stock.
    assert len(unit_queries) == 3


def test_admin_expiry_counts_cover_the_organization_custody_too(admin_user, rep):
    receive_units(admin_user, None, n=2, expiration_date=_days(3))
    receive_units(admin_user, rep, n=1, expiration_date=_days(-3))
    data = dashboard(user=admin_user, actor=actor_for(admin_user))
    assert data["expiry"] == {"expired": 1, "within_30": 2, "within_90": 2}
    assert "pool_levels" not in data


def test_a_distributors_transfer_counts_split_hers_from_her_reps(distributor, rep, admin_user):
    """Both counts come from one query (FILTER): a transfer to her counts as waiting on her,
    one to her rep as waiting on her reps, and neither as the other."""
    other = RepFactory(organization=distributor.organization)
    to_her = receive_units(admin_user, other, n=2)
    transfer_create(actor=other, unit_ids=[to_her[0].pk], recipient=distributor)
    transfer_create(actor=other, unit_ids=[to_her[1].pk], recipient=rep)
    (spare,) = receive_units(admin_user, other, n=1)
    transfer_create(actor=other, unit_ids=[spare.pk], recipient=rep)
    data = dashboard(user=distributor, actor=actor_for(distributor))
    assert (data["waiting_on_me"], data["waiting_on_reps"]) == (1, 2)
    rep_data = dashboard(user=rep, actor=actor_for(rep))
    assert (rep_data["waiting_on_me"], rep_data["waiting_on_reps"]) == (2, 0)


def test_an_admins_transfer_counts_split_organization_custody_from_the_rest(admin_user, rep):
    """Only admins take transfers to organization custody (no recipient): those wait on them,
    the rest on others."""
    sender = RepFactory(organization=admin_user.organization)
    units = receive_units(admin_user, sender, n=2)
    transfer_create(actor=sender, unit_ids=[units[0].pk], recipient=None)
    transfer_create(actor=sender, unit_ids=[units[1].pk], recipient=rep)
    data = dashboard(user=admin_user, actor=actor_for(admin_user))
    assert (data["waiting_on_me"], data["waiting_on_reps"]) == (1, 1)
