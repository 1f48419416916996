"""The location page shows each location's holder and sets it: an admin types any distributor
or rep of the organization (the type-ahead holder field) or leaves it to organization custody;
a distributor adds locations of her own only. Bad input is a message and creates nothing."""

import pytest
from django.urls import reverse

from accounts.fields import holder_label
from inventory.models import Location
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory

URL = reverse("inventory:location_list")


def post(client, **data):
    return client.post(URL, {"name": "St. Jude bin", "kind": "bin", **data})


@pytest.mark.parametrize("typed", ["rep", "distributor"])
def test_an_admin_gives_a_location_to_any_holder_and_the_list_names_them(
    client, admin_user, request, typed
):
    holder = request.getfixturevalue(typed)
    client.force_login(admin_user)
    response = post(client, holder=holder_label(holder))
    assert response.status_code == 302
    assert Location.objects.get(name="St. Jude bin").holder == holder
    page = client.get(URL).content.decode()
    assert f'data-testid="location-holder">{holder.name}<' in page


@pytest.mark.parametrize("typed", ["", "Organization custody"])
def test_an_admin_leaving_it_blank_or_typing_organization_gets_organization_custody(
    client, admin_user, typed
):
    client.force_login(admin_user)
    assert post(client, holder=typed).status_code == 302
    assert Location.objects.get(name="St. Jude bin").holder is None
    assert 'data-testid="location-holder">Organization custody<' in client.get(URL).content.decode()


def test_an_admin_cannot_pick_someone_of_another_organization(client, admin_user):
    stranger = RepFactory(organization=OrganizationFactory(), username="stranger")
    client.force_login(admin_user)
    response = post(client, holder=holder_label(stranger))
    assert response.status_code == 200
    assert "holder" in response.context["form"].errors
    assert not Location.objects.filter(name="St. Jude bin").exists()


def test_a_distributor_is_offered_and_given_only_her_own(client, org, distributor, rep):
    client.force_login(distributor)
    form = client.get(URL).context["form"]
    assert list(form.fields["holder"].queryset) == [distributor]

    other = DistributorFactory(organization=org)
    for someone in (rep, other):
        response = post(client, holder=someone.pk)
        assert "holder" in response.context["form"].errors
    assert not Location.objects.exists()

    assert post(client, holder=distributor.pk).status_code == 302
    assert Location.objects.get(name="St. Jude bin").holder == distributor
