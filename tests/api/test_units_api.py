"""/api/v1/units/: the same scope and filters as /inventory/, keyset pages, one error shape."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.tokens import bearer
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units


@pytest.fixture
def pool(db):
    org = OrganizationFactory()
    distributor = DistributorFactory(organization=org)
    group = distributor.distributor_group
    group.pooling_enabled = True
    group.save(update_fields=["pooling_enabled"])
    rep = RepFactory(organization=org, assigned_to=distributor)
    other_rep = RepFactory(organization=org, assigned_to=DistributorFactory(organization=org))
    admin = UserFactory(organization=org, admin=True)
    product = ProductFactory(organization=org)
    own = receive_units(admin, rep, n=2, product=product, serial_prefix="OWN-")
    pooled = receive_units(admin, distributor, n=3, product=product, serial_prefix="POOL-")
    elsewhere = receive_units(admin, other_rep, n=1, product=product, serial_prefix="ELSE-")
    return {
        "rep": rep,
        "distributor": distributor,
        "admin": admin,
        "other_rep": other_rep,
        "own": own,
        "pooled": pooled,
        "elsewhere": elsewhere,
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_rep_with_no_filter_sees_what_all_shows_own_and_pool(client, pool):
    got = _ids(client.get("/api/v1/units/", **bearer(pool["rep"])))
    assert got == {u.pk for u in pool["own"] + pool["pooled"]}


def test_the_custody_filter_narrows_as_on_the_page(client, pool):
    headers = bearer(pool["rep"])
    mine = _ids(client.get("/api/v1/units/", {"custody": "mine"}, **headers))
    shared = _ids(client.get("/api/v1/units/", {"custody": "shared"}, **headers))
    assert mine == {u.pk for u in pool["own"]}
    assert shared == {u.pk for u in pool["pooled"]}


def test_the_custody_label_says_whose_unit_it_is(client, pool):
    rows = client.get("/api/v1/units/", **bearer(pool["rep"])).json()["results"]
    kinds = {row["id"]: row["custody"]["kind"] for row in rows}
    assert {kinds[u.pk] for u in pool["pooled"]} == {"distributor"}
    assert {kinds[u.pk] for u in pool["own"]} == {"own"}


def test_pooling_off_takes_the_pool_away_at_once(client, pool):
    headers = bearer(pool["rep"])
    group = pool["distributor"].distributor_group
    group.pooling_enabled = False
    group.save(update_fields=["pooling_enabled"])
    assert _ids(client.get("/api/v1/units/", **headers)) == {u.pk for u in pool["own"]}


def test_a_unit_outside_the_scope_is_a_404_like_one_that_does_not_exist(client, pool):
    headers = bearer(pool["rep"])
    outside = pool["elsewhere"][0].pk
    for url in (f"/api/v1/units/{outside}/", f"/api/v1/units/{outside}/ledger/"):
        response = client.get(url, **headers)
        assert response.status_code == 404
        assert response.json() == client.get("/api/v1/units/999999999/", **headers).json()


def test_an_admin_sees_the_whole_organization_and_is_told_custody_does_not_apply(client, pool):
    headers = bearer(pool["admin"])
    everything = {u.pk for u in pool["own"] + pool["pooled"] + pool["elsewhere"]}
    assert _ids(client.get("/api/v1/units/", **headers)) == everything
    response = client.get("/api/v1/units/", {"custody": "mine"}, **headers)
    assert response.status_code == 400
    assert "custodian" in response.json()["error"]["fields"]["custody"][0]


def test_another_organization_sees_none_of_it(client, pool):
    stranger = UserFactory(organization=OrganizationFactory(), admin=True)
    assert _ids(client.get("/api/v1/units/", **bearer(stranger))) == set()


@pytest.mark.parametrize(
    "query,field",
    [
        ({"state": "melted"}, "state"),
        ({"after": "not-a-cursor"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"custody": "everyone"}, "custody"),
    ],
)
def test_bad_query_strings_are_a_400_naming_the_field(client, pool, query, field):
    response = client.get("/api/v1/units/", query, **bearer(pool["rep"]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


def test_pages_follow_next_until_every_unit_is_seen_once(client, pool):
    headers = bearer(pool["rep"])
    seen, url = [], "/api/v1/units/?limit=2"
    while url:
        body = client.get(url, **headers).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(u.pk for u in pool["own"] + pool["pooled"])
    assert len(seen) == len(set(seen))


def test_the_list_costs_the_same_queries_for_more_rows(client, pool):
    headers = bearer(pool["admin"])
    client.get("/api/v1/units/", **headers)  # warm the last-used stamp
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/units/", **headers)
    receive_units(pool["admin"], pool["rep"], n=20, serial_prefix="MORE-")
    with CaptureQueriesContext(connection) as many:
        body = client.get("/api/v1/units/", **headers).json()
    assert len(body["results"]) > 20
    assert len(many) == len(few)


def test_a_units_ledger_is_its_history_in_order(client, pool):
    unit = pool["own"][0]
    rows = client.get(f"/api/v1/units/{unit.pk}/ledger/", **bearer(pool["rep"])).json()
    assert [r["sequence"] for r in rows] == sorted(r["sequence"] for r in rows)
    assert rows[0]["kind"] == "received"
