"""Database constraints behind the group rules (PostgreSQL refuses what the code must not do)."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import DistributorGroup, GroupMembership
from accounts.selectors import actor_for
from tests.factories import DistributorFactory, RepFactory, UserFactory


def test_a_distributor_heads_at_most_one_group(distributor):
    with pytest.raises(IntegrityError), transaction.atomic():
        DistributorGroup.objects.create(
            organization=distributor.organization, distributor=distributor
        )


def test_a_rep_is_in_at_most_one_group(org, rep):
    other = DistributorFactory(organization=org)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.create(group=other.distributor_group, rep=rep)


@pytest.mark.postgres
def test_database_refuses_a_second_distributor_in_a_group(distributor):
    second = DistributorFactory(organization=distributor.organization)
    with pytest.raises(IntegrityError, match="requires role rep"), transaction.atomic():
        GroupMembership.objects.create(group=distributor.distributor_group, rep=second)


@pytest.mark.postgres
def test_database_refuses_a_rep_at_the_head_of_a_group(org):
    rep = RepFactory(organization=org)
    with pytest.raises(IntegrityError, match="requires role distributor"), transaction.atomic():
        DistributorGroup.objects.create(organization=org, distributor=rep)


@pytest.mark.postgres
def test_database_refuses_an_admin_as_member(distributor):
    admin = UserFactory(organization=distributor.organization, admin=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.create(group=distributor.distributor_group, rep=admin)


def test_actor_snapshot_reads_the_group_in_one_query(django_assert_num_queries, rep, pooled):
    with django_assert_num_queries(1):
        actor = actor_for(rep, refresh=True)
    assert actor.distributor_id == pooled.distributor_id
    assert actor.pooling_enabled is True
    with django_assert_num_queries(1):
        d_actor = actor_for(pooled.distributor, refresh=True)
    assert d_actor.rep_ids == frozenset({rep.pk})
