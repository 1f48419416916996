"""Releasing holds through the API: an admin's review, all or nothing, in the service's words."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from inventory.models import Unit, UnitState
from inventory.services.transfers import transfer_create, transfer_decline
from tests.api.test_api_permissions import token_for
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import receive_units

pytestmark = pytest.mark.django_db

URL = reverse("api:hold_release")


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


def _on_hold(admin, rep, distributor, n=1):
    units = receive_units(admin, rep, n=n)
    (transfer,) = transfer_create(actor=rep, unit_ids=[u.pk for u in units], recipient=distributor)
    transfer_decline(actor=distributor, transfer=transfer, reason="Wrong size")
    return units


def _states(units):
    return set(Unit.objects.filter(pk__in=[u.pk for u in units]).values_list("state", flat=True))


def test_an_admin_releases_units_on_hold_to_their_holder(admin_user, distributor, rep):
    units = _on_hold(admin_user, rep, distributor, n=2)
    response = _client(admin_user).post(
        URL, {"unit_ids": [units[0].pk], "note": "Checked"}, format="json"
    )
    assert response.status_code == 200, response.content
    (row,) = response.json()["units"]
    assert (row["id"], row["state"], row["custodian"]["id"]) == (units[0].pk, "available", rep.pk)
    assert _states(units[1:]) == {UnitState.HOLD}


def test_all_releases_every_unit_on_hold(admin_user, distributor, rep):
    units = _on_hold(admin_user, rep, distributor, n=3)
    response = _client(admin_user).post(URL, {"all": True}, format="json")
    assert response.status_code == 200
    assert len(response.json()["units"]) == 3
    assert _states(units) == {UnitState.AVAILABLE}


def test_a_unit_not_on_hold_refuses_the_whole_release_naming_it(admin_user, distributor, rep):
    held = _on_hold(admin_user, rep, distributor)
    (available,) = receive_units(admin_user, rep, n=1, serial_prefix="FREE-")
    response = _client(admin_user).post(
        URL, {"unit_ids": [held[0].pk, available.pk]}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "rule"
    assert error["message"] == f"{available.label} is not on hold."
    assert _states(held) == {UnitState.HOLD}


def test_only_an_admin_releases_in_the_services_words(admin_user, distributor, rep):
    held = _on_hold(admin_user, rep, distributor)
    for user in (distributor, rep):
        response = _client(user).post(URL, {"unit_ids": [held[0].pk]}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "Only an admin releases units on hold."
    assert _states(held) == {UnitState.HOLD}


def test_another_organizations_admin_finds_no_such_unit(admin_user, distributor, rep):
    held = _on_hold(admin_user, rep, distributor)
    elsewhere = UserFactory(organization=OrganizationFactory(), admin=True)
    response = _client(elsewhere).post(URL, {"unit_ids": [held[0].pk]}, format="json")
    assert response.status_code == 400
    assert held[0].serial_number not in response.json()["error"]["message"]
    assert _states(held) == {UnitState.HOLD}
    # all: true reaches only their own organization's holds: none.
    response = _client(elsewhere).post(URL, {"all": True}, format="json")
    assert response.status_code == 400
    assert _states(held) == {UnitState.HOLD}


@pytest.mark.parametrize(
    "body", [{}, {"all": True, "unit_ids": [1]}, {"unit_ids": []}, {"unit_ids": [0]}, "x"]
)
def test_a_release_must_say_which_units(admin_user, distributor, rep, body):
    held = _on_hold(admin_user, rep, distributor)
    response = _client(admin_user).post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert _states(held) == {UnitState.HOLD}


def test_all_releases_only_the_callers_own_organizations_holds(admin_user, distributor, rep):
    held_here = _on_hold(admin_user, rep, distributor)
    elsewhere = UserFactory(organization=OrganizationFactory(), admin=True)
    their_distributor = DistributorFactory(organization=elsewhere.organization)
    their_rep = RepFactory(organization=elsewhere.organization, assigned_to=their_distributor)
    held_there = _on_hold(elsewhere, their_rep, their_distributor)
    response = _client(elsewhere).post(URL, {"all": True}, format="json")
    assert response.status_code == 200, response.content
    assert [u["id"] for u in response.json()["units"]] == [held_there[0].pk]
    assert _states(held_here) == {UnitState.HOLD}
