"""`__any_of` (core/lookups.py): one array parameter on PostgreSQL, an IN list elsewhere, and
always the same rows as `__in`. And the transfers page and API, which bind a distributor's
whole group with it and load the rows' people after the limit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.urls import reverse

from accounts.models import User
from core.lookups import narrowed
from inventory.models import Transfer, Unit
from inventory.services.transfers import transfer_create
from tests.factories import AdminFactory, DistributorFactory, RepFactory, UserFactory
from tests.inventory.factories import receive_units

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    admin = AdminFactory()
    org = admin.organization
    reps = [RepFactory(organization=org) for _ in range(4)]
    return admin, reps


@pytest.mark.parametrize(
    "wanted",
    [
        lambda reps: {reps[0].pk, reps[2].pk},
        lambda reps: [reps[1].pk, reps[1].pk, None],
        lambda reps: frozenset(),
        lambda reps: [None],
        lambda reps: [r.pk for r in reps] + [10**9],
    ],
    ids=["set", "duplicates-and-none", "empty", "only-none", "one-unknown"],
)
def test_any_of_finds_exactly_what_in_finds(people, wanted):
    _, reps = people
    ids = wanted(reps)
    expected = set(User.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert set(User.objects.filter(pk__any_of=ids).values_list("pk", flat=True)) == expected
    # Over a foreign key and negated, with a user of no organization: excluded by neither.
    nobody = UserFactory(organization=None)
    orgs = {User.objects.get(pk=pk).organization_id for pk in expected}

    def excluded(lookup):
        return set(
            User.objects.exclude(**{f"organization_id__{lookup}": orgs}).values_list(
                "pk", flat=True
            )
        )

    assert excluded("any_of") == excluded("in")
    assert nobody.pk in excluded("any_of")


def test_any_of_refuses_a_query_and_anything_but_integer_ids():
    with pytest.raises(TypeError, match="use __in"):
        User.objects.filter(pk__any_of=User.objects.values("pk")).exists()
    # A cast to varchar(n)[] would cut longer strings and match their prefixes.
    with pytest.raises(TypeError, match="integer ids, not CharField"):
        User.objects.filter(username__any_of=["riley"]).exists()


@pytest.mark.postgres
def test_any_of_binds_one_array_on_postgresql(people):
    _, reps = people
    sql, params = (
        User.objects.filter(organization_id__any_of={r.organization_id for r in reps})
        .filter(pk__any_of=[r.pk for r in reps])
        .query.sql_with_params()
    )
    assert '"accounts_user"."id" = ANY(%s::bigint[])' in sql
    assert sorted(params[-1]) == sorted(r.pk for r in reps)
    assert len(params) == 2


class Bound:
    """Each statement's SQL and parameter count, as the driver gets them."""

    def __init__(self):
        self.statements: list[tuple[str, int]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, len(params or ())))
        return execute(sql, params, many, context)


@pytest.fixture
def big_group():
    """A distributor with 60 reps, each of whom sent one transfer to the next (the last, the
    newest, to the first)."""
    dana = DistributorFactory()
    org = dana.organization
    admin = AdminFactory(organization=org)
    reps = [
        RepFactory(organization=org, assigned_to=dana, display_name=f"Rep {i:03d}")
        for i in range(60)
    ]
    for sender, recipient in zip(reps, reps[1:] + reps[:1], strict=True):
        units = receive_units(admin, sender, n=1)
        transfer_create(actor=sender, unit_ids=[units[0].pk], recipient=recipient)
    return dana, reps


@pytest.mark.postgres
@pytest.mark.parametrize("where", ["page", "api"])
def test_a_distributors_transfer_lists_bind_her_group_once_and_load_people_after_the_limit(
    client, big_group, where
):
    dana, reps = big_group
    client.force_login(dana)
    bound = Bound()
    with connection.execute_wrapper(bound):
        if where == "page":
            response = client.get(reverse("inventory:transfer_list"))
        else:
            response = client.get(reverse("api:transfer_list"))
    assert response.status_code == 200
    text = response.content.decode()
    # The newest transfer is listed with both its people named.
    assert reps[-1].display_name in text and reps[0].display_name in text
    lists = [(sql, n) for sql, n in bound.statements if 'FROM "inventory_transfer" ' in sql]
    assert lists
    # 61 people in scope, four columns: bound as arrays, a handful of parameters per statement.
    assert max(n for _, n in lists) < 20, lists
    # No list query joins the people; one query reads those of the rows kept.
    assert not any('JOIN "accounts_user"' in sql for sql, _ in lists)
    people = [sql for sql, _ in bound.statements if sql.startswith('SELECT "accounts_user"')]
    assert len([sql for sql in people if '"accounts_user"."id" IN' in sql]) == 1


def test_transfer_rows_name_their_people_and_count_their_units(client, big_group):
    dana, reps = big_group
    client.force_login(dana)
    answer = client.get(reverse("api:transfer_list")).json()
    rows = answer["results"]
    assert len(rows) == 50 and answer["next"] and Transfer.objects.count() == 60
    newest = rows[0]
    assert newest["sender"] == {"id": reps[-1].pk, "name": "Rep 059", "role": "rep"}
    assert newest["recipient"] == {"id": reps[0].pk, "name": "Rep 000", "role": "rep"}
    assert newest["started_by"] == newest["sender"]
    assert newest["on_behalf_of"] is None
    assert newest["unit_count"] == 1
    # Each row names its own people, not a neighbour's.
    assert all(row["sender"] == row["started_by"] for row in rows)
    assert len({row["sender"]["id"] for row in rows}) == 50


def test_narrowing_a_scope_to_one_partition_keeps_its_rows_and_leaves_the_scope_alone(people):
    admin, reps = people
    units = {rep.pk: receive_units(admin, rep, n=2) for rep in reps[:3]}
    scope = Unit.objects.filter(custodian_id__any_of=[reps[0].pk, reps[1].pk])
    for holder in (reps[0], reps[1], reps[2]):
        part = Q(custodian_id=holder.pk)
        assert set(narrowed(scope, part)) == set(scope.filter(part))
    assert set(narrowed(scope, Q(custodian_id=reps[0].pk))) == set(units[reps[0].pk])
    assert not narrowed(scope, Q(custodian_id=reps[2].pk)).exists()  # outside the scope
    # The scope itself, and a lookup of another table's column, are untouched.
    assert set(scope) == set(units[reps[0].pk]) | set(units[reps[1].pk])
    joined = scope.filter(product__organization_id__any_of=[admin.organization_id])
    assert set(narrowed(joined, Q(custodian_id=reps[1].pk))) == set(units[reps[1].pk])
    # Under a NOT (an exclude) too, and a condition that is not a plain id is read as given.
    others = Unit.objects.exclude(custodian_id__any_of=[reps[0].pk])
    assert not narrowed(others, Q(custodian_id=reps[0].pk)).exists()
    assert set(narrowed(others, Q(custodian_id=reps[1].pk))) == set(units[reps[1].pk])
    assert set(narrowed(scope, Q(custodian=reps[1]))) == set(units[reps[1].pk])
    assert set(narrowed(scope, Q(pk=units[reps[1].pk][0].pk))) == {units[reps[1].pk][0]}
    if connection.vendor == "postgresql":
        sql, params = narrowed(scope, Q(custodian_id=reps[1].pk)).query.sql_with_params()
        # Two equal equalities PostgreSQL merges, no array left: its estimate counts one.
        assert "ANY(" not in sql and sql.count('"inventory_unit"."custodian_id" = %s') == 2
        assert list(params).count(reps[1].pk) == 2


@pytest.mark.postgres
def test_a_small_groups_list_reads_each_holder_with_the_scope_narrowed_to_that_holder(client):
    """core.keyset reads a scope of a few holders one holder at a time (`holder_partitions`);
    each read names its holder twice as equalities, never the scope's array beside it."""
    dana = DistributorFactory()
    admin = AdminFactory(organization=dana.organization)
    reps = [RepFactory(organization=dana.organization, assigned_to=dana) for _ in range(2)]
    for holder in (dana, *reps):
        receive_units(admin, holder, n=2)
    client.force_login(dana)
    bound = Bound()
    with connection.execute_wrapper(bound):
        response = client.get(reverse("inventory:unit_list"))
    assert response.status_code == 200
    reads = [
        sql
        for sql, _ in bound.statements
        if sql.startswith('SELECT "inventory_unit"."id"') and "LIMIT" in sql
    ]
    assert len(reads) == 3, reads  # dana and her two reps, apart
    for sql in reads:
        assert "ANY(" not in sql, sql
        assert sql.count('"inventory_unit"."custodian_id" = %s') == 2, sql
