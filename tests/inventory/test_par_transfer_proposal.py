"""The below-par proposal draws first on the location holder's own warehouses (a move), then,
when those fall short, on warehouses of other holders whose stock the viewer may transfer, for
example organization custody for an admin: a prefilled transfer to the location's holder."""

import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Unit
from inventory.selectors.par import below_par
from inventory.services.par import par_level_set
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units
from tests.pages import seen_fields


def days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def setup(org, admin_user, distributor):
    product = ProductFactory(organization=org, lot_tracked=True)
    bin_ = LocationFactory(organization=org, holder=distributor, name="D bin", kind="bin")
    own = LocationFactory(organization=org, holder=distributor, name="D warehouse")
    dock = LocationFactory(organization=org, holder=None, name="Org warehouse")
    receive_units(admin_user, distributor, n=1, product=product, location=bin_)
    (mine,) = receive_units(
        admin_user, distributor, n=1, product=product, location=own, expiration_date=days(200)
    )
    org_units = [
        receive_units(
            admin_user, None, n=1, product=product, location=dock, expiration_date=days(d)
        )[0]
        for d in (300, 40, 90)
    ]
    level = par_level_set(actor=distributor, location=bin_, product=product, par=3, reorder_to=4)
    return {"bin": bin_, "mine": mine, "org": org_units, "level": level}


def test_an_admin_is_offered_a_move_then_a_transfer_from_organization_custody(
    admin_user, distributor, setup
):
    (row,) = below_par(holder=None, viewer=admin_user)
    assert row.count == 1
    assert [u.pk for u in row.proposal] == [setup["mine"].pk]  # her own warehouse: a move
    (transfer,) = row.transfers
    assert transfer.source is None  # organization custody
    _late, early, mid = setup["org"]
    assert [u.pk for u in transfer.units] == [early.pk, mid.pk]  # earliest expiry first
    assert row.short == 0


def test_a_distributor_is_not_offered_stock_she_cannot_transfer(distributor, setup):
    (row,) = below_par(holder=distributor)
    assert [u.pk for u in row.proposal] == [setup["mine"].pk]
    assert row.transfers == []
    assert row.short == 2


def test_the_dashboard_link_prefills_a_transfer_that_fills_the_bin(
    client, admin_user, distributor, setup
):
    client.force_login(admin_user)
    home = client.get(reverse("home")).content.decode()
    # The dashboard lists the level; its proposal is one click away (its own page).
    start = home.index('data-testid="replenish" href="') + len('data-testid="replenish" href="')
    proposal = client.get(home[start : home.index('"', start)]).content.decode()
    start = proposal.index('data-testid="replenish-transfer" href="') + len(
        'data-testid="replenish-transfer" href="'
    )
    link = proposal[start : proposal.index('"', start)].replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert urlparse(link).path == reverse("inventory:transfer_new")
    assert query["recipient"] == [str(distributor.pk)]
    assert query["to_location"] == [str(setup["bin"].pk)]

    page = client.get(link)
    form = page.context["form"]
    assert form["recipient"].value() == distributor
    assert str(form["to_location"].value()) == str(setup["bin"].pk)
    assert len(page.context["units"]) == 2

    client.post(
        reverse("inventory:transfer_new"),
        {
            "unit": query["unit"],
            "recipient": f"{distributor.name} ({distributor.username})",
            "to_location": setup["bin"].pk,
            "send": "1",
            "seen": seen_fields(page.content.decode())[0],
        },
    )
    moved = Unit.objects.filter(pk__in=query["unit"])
    assert {(u.custodian_id, u.location_id) for u in moved} == {(distributor.pk, setup["bin"].pk)}
    assert below_par(holder=None, viewer=admin_user) == []  # 3 in the bin: at par
