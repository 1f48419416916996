"""A location belongs to its holder: units received or transferred into it must be that
holder's; the pickers offer only locations of holders the person may act for (never every
trunk of the organization)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.selectors import actor_for
from inventory.filters import UnitFilter
from inventory.forms import ReceiveForm, TransferForm, UdiReceiveForm
from inventory.models import Location, Transfer, Unit
from inventory.services.imports import units_import_csv
from inventory.services.receiving import ReceiveLine, units_receive
from inventory.services.transfers import transfer_create
from tests.factories import DistributorFactory, RepFactory
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units


@pytest.fixture
def places(org, distributor, rep):
    other = DistributorFactory(organization=org)
    other_rep = RepFactory(organization=org, assigned_to=other)
    return {
        "warehouse": LocationFactory(organization=org, holder=distributor, name="D warehouse"),
        "trunk": LocationFactory(organization=org, holder=rep, name="R trunk", kind="trunk"),
        "dock": LocationFactory(organization=org, holder=None, name="Dock"),
        "other_warehouse": LocationFactory(organization=org, holder=other, name="O warehouse"),
        "other_trunk": LocationFactory(
            organization=org, holder=other_rep, name="O trunk", kind="trunk"
        ),
    }


def _receive(actor, custodian, location):
    product = ProductFactory(organization=actor.organization, tracking="serial")
    line = ReceiveLine(product=product, serial_numbers=["S1"], location=location)
    return units_receive(actor=actor, lines=[line], custodian=custodian)


@pytest.mark.parametrize("where", ["dock", "trunk", "other_warehouse"])
def test_receiving_into_a_location_someone_else_holds_is_refused(
    admin_user, distributor, places, where
):
    with pytest.raises(ValidationError, match="not .*custody|held by"):
        _receive(admin_user, distributor, places[where])
    assert not Unit.objects.exists()


def test_receiving_into_org_custody_needs_an_org_location(admin_user, places):
    with pytest.raises(ValidationError):
        _receive(admin_user, None, places["warehouse"])
    (unit,) = _receive(admin_user, None, places["dock"])
    assert unit.location_id == places["dock"].pk


def test_receiving_into_the_custodians_own_location_works(admin_user, distributor, places):
    (unit,) = _receive(distributor, distributor, places["warehouse"])
    assert (unit.custodian_id, unit.location_id) == (distributor.pk, places["warehouse"].pk)


def test_a_csv_import_row_naming_another_holders_location_is_refused(
    admin_user, distributor, places
):
    product = ProductFactory(organization=admin_user.organization, tracking="serial")
    raw = f"catalog_number,serial_number,location\n{product.catalog_number},S9,O warehouse\n"
    with pytest.raises(ValidationError, match="held by"):
        units_import_csv(actor=admin_user, data=raw.encode(), default_custodian=distributor)
    assert not Unit.objects.exists()


@pytest.mark.parametrize("where", ["warehouse", "dock", "other_trunk"])
def test_a_transfer_to_a_location_the_recipient_does_not_hold_is_refused(
    admin_user, distributor, rep, places, where
):
    units = receive_units(admin_user, distributor, n=1)
    with pytest.raises(ValidationError) as err:
        transfer_create(
            actor=distributor,
            unit_ids=[u.pk for u in units],
            recipient=rep,
            to_location=places[where],
        )
    assert "to_location" in err.value.message_dict
    assert not Transfer.objects.exists()


def test_a_transfer_to_the_recipients_own_location_works(admin_user, distributor, rep, places):
    units = receive_units(admin_user, distributor, n=1)
    (transfer,) = transfer_create(
        actor=distributor, unit_ids=[units[0].pk], recipient=rep, to_location=places["trunk"]
    )
    assert transfer.to_location_id == places["trunk"].pk


def test_a_transfer_to_org_custody_may_name_an_org_location(admin_user, distributor, places):
    units = receive_units(admin_user, distributor, n=1)
    (transfer,) = transfer_create(
        actor=admin_user, unit_ids=[units[0].pk], recipient=None, to_location=places["dock"]
    )
    assert transfer.to_location_id == places["dock"].pk


def _names(field):
    return {str(loc) for loc in field.queryset}


def test_a_reps_pickers_offer_no_other_groups_locations(client, rep, places):
    form = TransferForm(user=rep, organization_id=rep.organization_id)
    assert _names(form.fields["to_location"]) == {"R trunk", "Dock"}
    filt = UnitFilter({}, queryset=Unit.objects.all(), actor=actor_for(rep))
    assert _names(filt.form.fields["location"]) == {"R trunk", "Dock"}
    client.force_login(rep)
    page = client.get(reverse("inventory:unit_list")).content.decode()
    assert "R trunk" in page
    assert "O trunk" not in page and "O warehouse" not in page


def test_a_distributor_receives_only_into_her_own_locations(distributor, places):
    custodians = type(distributor).objects.filter(pk=distributor.pk)
    for form_class in (ReceiveForm, UdiReceiveForm):
        form = form_class(
            user=distributor, organization_id=distributor.organization_id, custodians=custodians
        )
        assert _names(form.fields["location"]) == {"D warehouse"}


def test_an_admin_is_offered_no_trunks_only_shared_places(admin_user, places):
    # One trunk per rep makes thousands: an admin picks among warehouses, bins and the
    # organization's own places; trunks are reached by custodian (or by name in a CSV import).
    form = ReceiveForm(user=admin_user, organization_id=admin_user.organization_id, custodians=None)
    assert _names(form.fields["location"]) == {"D warehouse", "Dock", "O warehouse"}
    filt = UnitFilter({}, queryset=Unit.objects.all(), actor=actor_for(admin_user))
    assert "R trunk" not in _names(filt.form.fields["location"])
    assert Location.objects.filter(kind="trunk").count() == 2
