"""The directory API: facilities, physicians and procedures of the caller's organization."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.test_api_permissions import token_for
from tests.events.factories import FacilityFactory, PhysicianFactory, ProcedureFactory
from tests.factories import OrganizationFactory, RepFactory

pytestmark = pytest.mark.django_db

FACTORIES = {
    "api:facility_list": FacilityFactory,
    "api:physician_list": PhysicianFactory,
    "api:procedure_list": ProcedureFactory,
}


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_the_directory_lists_the_organizations_own_by_name_in_pages(name):
    factory = FACTORIES[name]
    rep = RepFactory()
    for entry in ("Cedar", "Aspen", "Birch"):
        factory(organization=rep.organization, name=entry)
    factory(organization=OrganizationFactory(), name="Alder elsewhere")
    client = _client(rep)
    first = client.get(reverse(name), {"limit": 2}).json()
    assert [r["name"] for r in first["results"]] == ["Aspen", "Birch"]
    second = client.get(first["next"]).json()
    assert [r["name"] for r in second["results"]] == ["Cedar"]
    assert second["next"] is None


def test_facilities_and_physicians_carry_their_details():
    rep = RepFactory()
    FacilityFactory(organization=rep.organization, name="Mercy", city="Dayton", surgery_centre=True)
    PhysicianFactory(organization=rep.organization, name="Dr. Ames", specialty="Spine")
    client = _client(rep)
    (facility,) = client.get(reverse("api:facility_list")).json()["results"]
    assert (facility["kind"], facility["city"]) == ("asc", "Dayton")
    (physician,) = client.get(reverse("api:physician_list")).json()["results"]
    assert physician["specialty"] == "Spine"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_a_directory_list_costs_the_same_queries_for_more_rows(name):
    factory = FACTORIES[name]
    rep = RepFactory()
    client = _client(rep)
    factory(organization=rep.organization)
    client.get(reverse(name))

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(name)).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for _ in range(10):
        factory(organization=rep.organization)
    assert count() == few
