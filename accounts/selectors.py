"""Reads of accounts that need more than one queryset call."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from .models import DistributorGroup, GroupMembership, Role, User
from .policies import Actor

_CACHE_ATTR = "_trunkpool_actor"


def actor_for(user: User, *, refresh: bool = False) -> Actor:
    """Snapshot of the user's relationships for the policy functions (cached on the user).

    One query: the user's group as distributor, or as rep, with that group's pooling and reps.
    """
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None and not refresh:
        return cached
    rep_ids: frozenset[int] = frozenset()
    distributor_id = None
    pooling = False
    if user.role == Role.DISTRIBUTOR:
        rows = list(
            DistributorGroup.objects.filter(distributor_id=user.pk).values_list(
                "pooling_enabled", "members__rep_id"
            )
        )
        if rows:
            pooling = rows[0][0]
            rep_ids = frozenset(r for _, r in rows if r is not None)
    elif user.role == Role.REP:
        row = (
            GroupMembership.objects.filter(rep_id=user.pk)
            .values_list("group__distributor_id", "group__pooling_enabled")
            .first()
        )
        if row:
            distributor_id, pooling = row
    actor = Actor(
        id=user.pk,
        organization_id=user.organization_id,
        role=user.role,
        rep_ids=rep_ids,
        distributor_id=distributor_id,
        pooling_enabled=pooling,
        is_active=user.is_active,
    )
    setattr(user, _CACHE_ATTR, actor)
    return actor


def forget_actor(user: User) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def user_list(*, viewer: User, search: str = "", role: str = "") -> QuerySet[User]:
    qs = (
        User.objects.visible_to(viewer)
        .select_related("membership__group__distributor", "distributor_group")
        .annotate(rep_count=Count("distributor_group__members"))
    )
    if search:
        qs = qs.filter(
            Q(username__icontains=search)
            | Q(display_name__icontains=search)
            | Q(email__icontains=search)
        )
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("display_name", "username")


def assignable_reps(*, group: DistributorGroup) -> QuerySet[User]:
    """Active reps of the group's organization who are in no group yet."""
    return (
        User.objects.filter(organization_id=group.organization_id, role=Role.REP, is_active=True)
        .exclude(Exists(GroupMembership.objects.filter(rep_id=OuterRef("pk"))))
        .order_by("display_name", "username")
    )


def event_viewers_q(*, organization_id: int, representative_id: int) -> Q:
    """Users who may see the events this person represents, as one filter on users.

    The inverse of `policies.event_rep_scope` (whose scope holds the representative): active
    users of the organization who are the representative, the representative's distributor
    (whose group has them as a rep) or an admin. A parametrized test holds the two in step.
    """
    speaks_as_distributor = GroupMembership.objects.filter(
        group__distributor_id=OuterRef("pk"), rep_id=representative_id
    )
    return Q(organization_id=organization_id, is_active=True) & (
        Q(pk=representative_id) | Q(role=Role.ADMIN) | Q(Exists(speaks_as_distributor))
    )


def holders_for_org(*, organization_id: int) -> QuerySet[User]:
    """Users who can hold stock: active distributors and reps of the organization."""
    return User.objects.filter(
        organization_id=organization_id,
        is_active=True,
        role__in=[Role.DISTRIBUTOR, Role.REP],
    ).order_by("display_name", "username")
