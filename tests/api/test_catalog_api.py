"""The catalog API: the organization's products and the locations a caller may see."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from inventory.models import Location
from tests.api.test_api_permissions import token_for
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.fixture
def org():
    return OrganizationFactory()


@pytest.fixture
def admin(org):
    return UserFactory(organization=org, admin=True)


def test_products_are_the_organizations_own_by_id_in_pages(org, admin):
    mine = [ProductFactory(organization=org) for _ in range(3)]
    ProductFactory(organization=OrganizationFactory(), catalog_number="ELSEWHERE-1")
    client = _client(RepFactory(organization=org))
    first = client.get(reverse("api:product_list"), {"limit": 2}).json()
    assert [p["id"] for p in first["results"]] == [mine[0].pk, mine[1].pk]
    second = client.get(first["next"]).json()
    assert [p["id"] for p in second["results"]] == [mine[2].pk]
    assert second["next"] is None
    row = first["results"][0]
    assert row["catalog_number"] == mine[0].catalog_number
    assert row["tracking"] == "serial" and row["single_use"] is True


def test_another_organizations_product_is_not_found(org, admin):
    theirs = ProductFactory(organization=OrganizationFactory())
    response = _client(admin).get(reverse("api:product_detail", args=[theirs.pk]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    mine = ProductFactory(organization=org, gtin="09506000134352")
    body = _client(admin).get(reverse("api:product_detail", args=[mine.pk])).json()
    assert body["gtin"] == "09506000134352"


def test_a_bad_cursor_or_limit_is_a_400_naming_the_parameter(org, admin):
    client = _client(admin)
    response = client.get(reverse("api:product_list"), {"after": "not-a-cursor"})
    assert response.status_code == 400
    assert "after" in response.json()["error"]["fields"]
    response = client.get(reverse("api:product_list"), {"limit": 201})
    assert "limit" in response.json()["error"]["fields"]


def test_the_product_list_costs_the_same_queries_for_more_rows(org, admin):
    client = _client(admin)
    url = reverse("api:product_list")
    ProductFactory(organization=org)
    client.get(url)  # the token's first use records itself once
    few = _queries(client, url)
    for _ in range(20):
        ProductFactory(organization=org)
    assert _queries(client, url) == few


@pytest.fixture
def places(org):
    """The organization's dock, a distributor's warehouse (pooled to her rep), that rep's trunk,
    another group's rep's trunk, and another organization's warehouse."""
    distributor = DistributorFactory(organization=org)
    group = distributor.distributor_group
    group.pooling_enabled = True
    group.save()
    rep = RepFactory(organization=org, assigned_to=distributor)
    other_rep = RepFactory(organization=org, assigned_to=DistributorFactory(organization=org))
    return {
        "distributor": distributor,
        "rep": rep,
        "dock": LocationFactory(organization=org, name="Dock"),
        "warehouse": LocationFactory(organization=org, name="Main", holder=distributor),
        "trunk": LocationFactory(
            organization=org, name="Rep trunk", kind=Location.Kind.TRUNK, holder=rep
        ),
        "other_trunk": LocationFactory(
            organization=org, name="Other trunk", kind=Location.Kind.TRUNK, holder=other_rep
        ),
        "elsewhere": LocationFactory(organization=OrganizationFactory(), name="Elsewhere"),
    }


def _location_names(user, **params):
    response = _client(user).get(reverse("api:location_list"), params)
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def test_receivers_see_every_location_of_the_organization_as_the_locations_page(org, admin, places):
    everything = {"Dock", "Main", "Rep trunk", "Other trunk"}
    assert _location_names(admin) == everything
    assert _location_names(places["distributor"]) == everything


def test_a_rep_sees_the_locations_a_transfer_form_offers_them(places):
    # Their trunk, the pool's warehouse (pooling is on) and the organization's dock; never
    # another rep's trunk.
    assert _location_names(places["rep"]) == {"Dock", "Main", "Rep trunk"}
    group = places["distributor"].distributor_group
    group.pooling_enabled = False
    group.save()
    assert _location_names(places["rep"]) == {"Dock", "Rep trunk"}


def test_locations_filter_by_kind_and_name_their_holder(admin, places):
    response = _client(admin).get(reverse("api:location_list"), {"kind": "trunk"})
    rows = response.json()["results"]
    assert {r["name"] for r in rows} == {"Rep trunk", "Other trunk"}
    trunk = next(r for r in rows if r["name"] == "Rep trunk")
    assert trunk["holder"] == {
        "id": places["rep"].pk,
        "name": places["rep"].name,
        "role": "rep",
    }
    bad = _client(admin).get(reverse("api:location_list"), {"kind": "attic"})
    assert bad.status_code == 400
    assert "kind" in bad.json()["error"]["fields"]


def test_the_location_list_costs_the_same_queries_for_more_rows(org, admin):
    client = _client(admin)
    url = reverse("api:location_list")
    LocationFactory(organization=org, holder=RepFactory(organization=org))
    client.get(url)
    few = _queries(client, url)
    for _ in range(15):
        LocationFactory(organization=org, holder=RepFactory(organization=org))
    assert _queries(client, url) == few
