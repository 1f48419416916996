"""Reads of accounts that need more than one queryset call."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from .models import (
    DistributorGroup,
    GroupMembership,
    Notification,
    NotificationKind,
    NotificationPreference,
    Role,
    User,
)
from .policies import Actor, event_rep_scope, holder_ids_in_scope

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
        is_service=user.is_service,
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
    """People who can hold stock: active distributors and reps of the organization (never an
    integration's service user)."""
    return (
        User.objects.people()
        .filter(
            organization_id=organization_id,
            is_active=True,
            role__in=[Role.DISTRIBUTOR, Role.REP],
        )
        .order_by("display_name", "username")
    )


class HolderPurpose:
    """What a holder picker is for; each decides who may be picked (see `holder_scope`)."""

    RECIPIENT = "recipient"  # anyone active in the organization may receive a transfer
    CUSTODIAN = "custodian"  # the holders whose stock the person acts for
    REP = "rep"  # a distributor's assigned reps (admins: any rep of the organization)
    UNASSIGNED_REP = "unassigned_rep"  # admins assigning reps: active reps in no group
    REPRESENTATIVE = "representative"  # an event's representative: whose events one may see

    ALL = (RECIPIENT, CUSTODIAN, REP, UNASSIGNED_REP, REPRESENTATIVE)


def holder_scope(*, actor: Actor, purpose: str, exclude_id: int | None = None) -> QuerySet[User]:
    """The people `actor` may pick for `purpose`: active distributors and reps of their own
    organization (never an integration's service user), narrowed by who speaks for whom. The
    type-ahead endpoint and the form field that validates its value both start here, so they
    cannot disagree.

    Raises ValueError for an unknown purpose.
    """
    if purpose not in HolderPurpose.ALL:
        raise ValueError(f"Unknown holder purpose {purpose!r}")
    qs = User.objects.people().filter(
        organization_id=actor.organization_id,
        is_active=True,
        role__in=[Role.DISTRIBUTOR, Role.REP],
    )
    if not actor.is_active or actor.organization_id is None:
        return qs.none()
    if purpose == HolderPurpose.CUSTODIAN:
        scope = holder_ids_in_scope(actor=actor)
        if scope is not None:
            qs = qs.filter(pk__any_of=scope)
    elif purpose == HolderPurpose.REP:
        qs = qs.filter(role=Role.REP)
        if actor.is_distributor:
            qs = qs.filter(pk__any_of=actor.rep_ids)
        elif not actor.is_admin:
            qs = qs.none()
    elif purpose == HolderPurpose.REPRESENTATIVE:
        scope = event_rep_scope(actor=actor)
        if scope is not None:
            qs = qs.filter(pk__any_of=scope)
    elif purpose == HolderPurpose.UNASSIGNED_REP:
        if not actor.is_admin:
            return qs.none()
        qs = qs.filter(role=Role.REP).exclude(
            Exists(GroupMembership.objects.filter(rep_id=OuterRef("pk")))
        )
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs


def holder_matches(
    *, actor: Actor, purpose: str, query: str, exclude_id: int | None = None, limit: int = 20
) -> list[User]:
    """At most `limit` pickable holders whose name or username contains `query`, those that
    start with it first. One query, whatever the organization's size."""
    qs = holder_scope(actor=actor, purpose=purpose, exclude_id=exclude_id)
    query = query.strip()
    if query:
        qs = qs.filter(Q(username__icontains=query) | Q(display_name__icontains=query)).annotate(
            starts=Case(
                When(
                    Q(username__istartswith=query) | Q(display_name__istartswith=query),
                    then=Value(0),
                ),
                default=Value(1),
            )
        )
        return list(qs.order_by("starts", "display_name", "username", "pk")[:limit])
    return list(qs.order_by("display_name", "username", "pk")[:limit])


def login_failures(*, user: User) -> dict:
    """Recorded failed sign-ins for this username (django-axes), and whether any client
    address is locked out now."""
    attempts = AccessAttempt.objects.filter(username=user.username)
    if settings.AXES_COOLOFF_TIME:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    rows = list(attempts.values_list("failures_since_start", flat=True))
    return {
        "failures": sum(rows),
        "locked": any(count >= settings.AXES_FAILURE_LIMIT for count in rows),
    }


# --- Notifications ---------------------------------------------------------------------------


# The bell shows up to this many unread notifications, then "99+".
UNREAD_SHOWN = 99


def unread_count(*, user: User) -> int:
    """The bell: the user's unread notifications, counted up to UNREAD_SHOWN + 1 on the unread
    index, so a pile of thousands costs every page no more than a hundred index entries."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True).order_by()
    return unread[: UNREAD_SHOWN + 1].count()


def unread_label(count: int) -> str:
    """What the bell's badge says: the count, or "99+" past UNREAD_SHOWN."""
    return f"{UNREAD_SHOWN}+" if count > UNREAD_SHOWN else str(count)


def notification_rows(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first (the list pages them by cursor)."""
    return Notification.objects.filter(user=user).select_related("actor")


def email_preferences(*, user: User) -> dict[str, bool]:
    """Whether the user gets email, per notification kind (on unless turned off)."""
    off = set(
        NotificationPreference.objects.filter(user=user, email=False).values_list("kind", flat=True)
    )
    return {kind: kind not in off for kind in NotificationKind.values}


def answerer_ids(*, organization_id: int, holder_id: int | None) -> set[int]:
    """Who is waiting to answer what is sent to a holder: the holder and, for an assigned rep,
    their distributor; for organization custody, the organization's active admins. (Anyone
    of these may accept or decline: `policies.answers_for`.)"""
    if holder_id is None:
        return set(
            User.objects.filter(
                organization_id=organization_id, role=Role.ADMIN, is_active=True
            ).values_list("pk", flat=True)
        )
    distributors = GroupMembership.objects.filter(rep_id=holder_id).values_list(
        "group__distributor_id", flat=True
    )
    return {holder_id, *distributors}
