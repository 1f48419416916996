"""The users API: people of the caller's organization, as the caller may see them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.test_api_permissions import token_for
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


@pytest.fixture
def people():
    admin = UserFactory(admin=True)
    org = admin.organization
    distributor = DistributorFactory(organization=org)
    group = distributor.distributor_group
    group.pooling_enabled = True
    group.save()
    rep = RepFactory(organization=org, assigned_to=distributor)
    service = UserFactory(organization=org, admin=True, is_service=True, username="erp-bot")
    outsider = UserFactory(organization=OrganizationFactory(), username="outsider")
    return {
        "admin": admin,
        "distributor": distributor,
        "rep": rep,
        "service": service,
        "outsider": outsider,
    }


def _rows(user, **params) -> dict:
    response = _client(user).get(reverse("api:user_list"), params)
    assert response.status_code == 200, response.content
    return {row["username"]: row for row in response.json()["results"]}


def test_an_admin_sees_everyone_of_the_organization_with_emails_and_service_users(people):
    rows = _rows(people["admin"])
    assert set(rows) == {people[k].username for k in ("admin", "distributor", "rep", "service")}
    rep = rows[people["rep"].username]
    assert rep["email"] == people["rep"].email
    assert rep["distributor"] == {
        "id": people["distributor"].pk,
        "name": people["distributor"].name,
    }
    assert rep["pooling_enabled"] is True
    distributor = rows[people["distributor"].username]
    assert (distributor["rep_count"], distributor["pooling_enabled"]) == (1, True)
    assert rows["erp-bot"]["is_service"] is True


def test_others_see_their_organizations_people_without_emails_or_service_users(people):
    for who in ("rep", "distributor"):
        rows = _rows(people[who])
        assert "erp-bot" not in rows
        assert "outsider" not in rows
        assert set(rows) == {people[k].username for k in ("admin", "distributor", "rep")}
        assert {row["email"] for row in rows.values()} == {None}


def test_no_row_carries_a_password_or_login_details(people):
    row = _rows(people["admin"])[people["rep"].username]
    assert not {"password", "last_login", "is_superuser", "is_staff"} & set(row)


def test_users_filter_by_role(people):
    assert set(_rows(people["admin"], role="distributor")) == {people["distributor"].username}
    response = _client(people["admin"]).get(reverse("api:user_list"), {"role": "owner"})
    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]


def test_one_person_outside_the_callers_sight_is_not_found(people):
    rep_client = _client(people["rep"])
    assert (
        rep_client.get(reverse("api:user_detail", args=[people["outsider"].pk])).status_code == 404
    )
    # A service user is nobody a rep picks: missing to them, there for an admin.
    assert (
        rep_client.get(reverse("api:user_detail", args=[people["service"].pk])).status_code == 404
    )
    admin_client = _client(people["admin"])
    response = admin_client.get(reverse("api:user_detail", args=[people["service"].pk]))
    assert response.status_code == 200
    assert response.json()["is_service"] is True
    response = rep_client.get(reverse("api:user_detail", args=[people["admin"].pk]))
    assert response.json()["email"] is None


def test_the_user_list_costs_the_same_queries_for_more_people(people):
    admin = people["admin"]
    client = _client(admin)
    url = reverse("api:user_list")
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for _ in range(5):
        distributor = DistributorFactory(organization=admin.organization)
        RepFactory(organization=admin.organization, assigned_to=distributor)
        RepFactory(organization=admin.organization, assigned_to=distributor)
    assert count() == few
