import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import DistributorGroup, GroupChange, GroupMembership, Role
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory


def test_creating_a_distributor_creates_their_group(admin_user):
    user = services.user_create(
        actor=admin_user,
        organization=admin_user.organization,
        username="newdist",
        role=Role.DISTRIBUTOR,
    )
    group = DistributorGroup.objects.get(distributor=user)
    assert group.pooling_enabled is False


def test_only_admins_create_users(distributor):
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=distributor, organization=distributor.organization, username="x", role="rep"
        )


def test_username_must_be_unique_ignoring_case(admin_user):
    with pytest.raises(ValidationError):
        services.user_create(
            actor=admin_user,
            organization=admin_user.organization,
            username=admin_user.username.upper(),
            role=Role.REP,
        )


def test_assigning_a_rep_records_who_did_it(admin_user, distributor):
    rep = RepFactory(organization=admin_user.organization)
    services.group_assign_rep(actor=admin_user, group=distributor.distributor_group, rep=rep)
    change = GroupChange.objects.get()
    assert (change.action, change.rep, change.actor) == ("rep_added", rep, admin_user)


@pytest.mark.parametrize(
    ("make_candidate", "message"),
    [
        (lambda org, other: UserFactory(organization=org, distributor=True), "not a sales rep"),
        (lambda org, other: UserFactory(organization=org, admin=True), "not a sales rep"),
        (lambda org, other: RepFactory(organization=org, is_active=False), "deactivated"),
        (lambda org, other: RepFactory(organization=org, assigned_to=other), "already assigned"),
        (lambda org, other: RepFactory(organization=OrganizationFactory()), "not in this org"),
    ],
)
def test_only_free_active_reps_of_the_organization_can_be_assigned(
    admin_user, distributor, make_candidate, message
):
    org = admin_user.organization
    other = DistributorFactory(organization=org)
    candidate = make_candidate(org, other)
    memberships_before = GroupMembership.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.group_assign_rep(
            actor=admin_user, group=distributor.distributor_group, rep=candidate
        )
    assert GroupMembership.objects.count() == memberships_before
    assert not GroupChange.objects.filter(group=distributor.distributor_group).exists()


def test_pooling_switch_records_each_change_once(admin_user, distributor):
    group = distributor.distributor_group
    assert services.group_set_pooling(actor=admin_user, group=group, enabled=True) is True
    assert services.group_set_pooling(actor=admin_user, group=group, enabled=True) is False
    assert services.group_set_pooling(actor=admin_user, group=group, enabled=False) is True
    group.refresh_from_db()
    assert group.pooling_enabled is False
    actions = list(GroupChange.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["pooling_on", "pooling_off"]


def test_another_organizations_admin_cannot_switch_pooling(distributor):
    stranger = UserFactory(admin=True)
    with pytest.raises(PermissionDenied):
        services.group_set_pooling(
            actor=stranger, group=distributor.distributor_group, enabled=True
        )


def test_unassigning_removes_membership_and_records_it(admin_user, rep, distributor):
    services.group_unassign_rep(actor=admin_user, group=distributor.distributor_group, rep=rep)
    assert not GroupMembership.objects.filter(rep=rep).exists()
    assert GroupChange.objects.get().action == "rep_removed"


def test_role_change_of_an_assigned_rep_is_refused(admin_user, rep):
    with pytest.raises(ValidationError, match="Assigned Users"):
        services.user_update(
            actor=admin_user, user=rep, display_name="x", email="", role=Role.ADMIN
        )
    rep.refresh_from_db()
    assert rep.role == Role.REP


@pytest.mark.parametrize("was", [Role.REP, Role.ADMIN])
def test_a_user_who_becomes_a_distributor_heads_a_new_group(admin_user, org, was):
    # On PostgreSQL a trigger refuses a group headed by anyone but a distributor: the group
    # can only follow the saved role.
    user = UserFactory(organization=org, role=was)
    services.user_update(actor=admin_user, user=user, display_name="", email="", role="distributor")
    assert DistributorGroup.objects.get(distributor=user).organization == org


def test_admin_cannot_deactivate_themselves(admin_user):
    with pytest.raises(ValidationError):
        services.user_set_active(actor=admin_user, user=admin_user, active=False)
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_a_stock_holder_cannot_become_an_admin(admin_user, org):
    from tests.inventory.factories import receive_units

    sam = RepFactory(organization=org)
    receive_units(admin_user, sam, n=2)
    with pytest.raises(ValidationError, match="Admins hold no stock"):
        services.user_update(
            actor=admin_user, user=sam, display_name="Sam", email="", role=Role.ADMIN
        )
    sam.refresh_from_db()
    assert sam.role == Role.REP


def test_the_last_admin_cannot_demote_themselves(admin_user):
    with pytest.raises(ValidationError, match="only active admin"):
        services.user_update(
            actor=admin_user, user=admin_user, display_name="A", email="", role=Role.REP
        )
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN


def test_an_admin_can_step_down_while_another_admin_remains(admin_user, org):
    other = UserFactory(organization=org, admin=True)
    services.user_update(actor=other, user=admin_user, display_name="A", email="", role=Role.REP)
    admin_user.refresh_from_db()
    assert admin_user.role == Role.REP


def test_usernames_are_unique_ignoring_case_in_the_database(org):
    from django.db import IntegrityError, transaction

    UserFactory(organization=org, username="Bob")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(organization=org, username="bob")
