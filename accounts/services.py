"""Every write to accounts. Each function is one transaction and says what it refuses."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

from axes.utils import reset
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from . import hooks
from .mail import send_after_commit
from .models import (
    DistributorGroup,
    GroupChange,
    GroupMembership,
    Notification,
    NotificationKind,
    NotificationPreference,
    Organization,
    Role,
    User,
)
from .policies import can_manage_users
from .ratelimit import over_limit
from .selectors import actor_for


def _require_admin(actor_user: User, organization_id: int) -> None:
    actor = actor_for(actor_user)
    if not can_manage_users(actor=actor) or actor.organization_id != organization_id:
        raise PermissionDenied("Only an admin of this organization can do that.")


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    organization: Organization,
    username: str,
    role: str,
    display_name: str = "",
    email: str = "",
    password: str | None = None,
) -> User:
    """Create a user of the organization; a distributor gets their (empty) group at once.

    An admin never chooses the password: the new user gets an invitation email (after commit)
    with a link to set their own. `actor` is None only for management commands, which may give
    a password and send no invitation. Raises PermissionDenied for a non-admin and
    ValidationError when the username is taken.
    """
    if actor is not None:
        _require_admin(actor, organization.pk)
        if password:
            raise ValidationError(
                {"password": "Admins never choose passwords: the invitation lets the user set one."}
            )
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is already taken."})
    user = User(
        organization=organization,
        username=username,
        role=role,
        display_name=display_name,
        email=email,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    if role == Role.DISTRIBUTOR:
        DistributorGroup.objects.create(organization=organization, distributor=user)
    if actor is not None and user.email:
        _send_invitation(actor=actor, user=user)
    return user


# The roles an integration may act with: an admin's whole organization, or a distributor's scope.
SERVICE_ROLES = (Role.ADMIN, Role.DISTRIBUTOR)


@transaction.atomic
def service_user_create(*, actor: User, organization: Organization, name: str, role: str) -> User:
    """Create the service user an integration's tokens act as: named `name`, with `role` (admin
    or distributor, as the admin states), an unusable password and no email, so it never signs
    in and is never invited; `User.objects.people()` leaves it out of every picker.

    Its username is made from the name plus a random tail: usernames are unique across every
    organization, and "that name is taken" must not tell one organization about another's.
    Raises PermissionDenied unless `actor` is an admin of `organization`, ValidationError for a
    blank name or another role.
    """
    _require_admin(actor, organization.pk)
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Name the integration (for example “ERP sync”)."})
    if role not in SERVICE_ROLES:
        raise ValidationError({"role": "An integration acts as an admin or as a distributor."})
    slug = slugify(name)[:40].strip("-") or "integration"
    user = User(
        organization=organization,
        username=f"svc-{slug}-{secrets.token_hex(3)}",
        display_name=name[:150],
        role=role,
        is_service=True,
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    if role == Role.DISTRIBUTOR:
        DistributorGroup.objects.create(organization=organization, distributor=user)
    return user


def password_link(user: User) -> str:
    """The full address of the page where this user sets a new password (single use: the token
    stops working once the password changes, and after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("password_reset_confirm", args=[uid, token])


def password_reset_allowed(*, email: str, address: str) -> bool:
    """Count one password-reset request for `email` from client `address`; True while both
    stay within settings.PASSWORD_RESET_RATES ("address" and "account", e.g. "3/h").

    Both counters move on every request, whether or not an account has that email, so the
    answer (and the time it takes) says nothing about which accounts exist. The counts live in
    the database every app server shares. The caller sends no email when this is False and
    answers exactly as when it is True.
    """
    rates = settings.PASSWORD_RESET_RATES
    account = over_limit(f"reset-account:{email.strip().lower()}", rates["account"])
    by_address = over_limit(f"reset-address:{address}", rates["address"])
    return not (account or by_address)


def _send_invitation(*, actor: User, user: User) -> None:
    context = {
        "user": user,
        "actor": actor,
        "organization": user.organization,
        "link": password_link(user),
        "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    send_after_commit(
        subject=f"{actor.name} invited you to Trunkpool ({user.organization})",
        body=render_to_string("accounts/email/invitation.txt", context),
        to=[user.email],
        organization_id=user.organization_id,
    )


@transaction.atomic
def user_invite(*, actor: User, user: User) -> None:
    """Send (again) the invitation to set a password, e.g. when the first link expired.

    Raises PermissionDenied for a non-admin, ValidationError when the user has no email or is
    deactivated. Sending happens after commit; a failure to send is logged, not raised.
    """
    _require_admin(actor, user.organization_id)
    if user.is_service:
        raise ValidationError(
            f"{user} is an integration: it acts through its tokens and never signs in."
        )
    if not user.is_active:
        raise ValidationError(f"{user} is deactivated; reactivate them first.")
    if not user.email:
        raise ValidationError(f"{user} has no email address: add one first.")
    _send_invitation(actor=actor, user=user)


def user_unlock(*, actor: User, user: User) -> int:
    """Lift a login lockout (django-axes) on this username, from every address.

    Returns how many recorded failures were cleared. Raises PermissionDenied for a non-admin.
    """
    _require_admin(actor, user.organization_id)
    return reset(username=user.username)


@transaction.atomic
def user_update(*, actor: User, user: User, display_name: str, email: str, role: str) -> User:
    """Change a user's name, email or role.

    A role change is refused while the user heads a group with reps or is assigned to one:
    the group would be left with a member of the wrong role.
    """
    _require_admin(actor, user.organization_id)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_service and role not in SERVICE_ROLES:
        raise ValidationError({"role": "An integration acts as an admin or as a distributor."})
    if role != user.role:
        if user.role == Role.REP and GroupMembership.objects.filter(rep=user).exists():
            raise ValidationError(
                {"role": "Remove this rep from their distributor's Assigned Users first."}
            )
        if user.role == Role.DISTRIBUTOR:
            group = DistributorGroup.objects.filter(distributor=user).first()
            if group and group.members.exists():
                raise ValidationError(
                    {"role": "This distributor still has assigned reps; remove them first."}
                )
            if group:
                if group.changes.exists():
                    raise ValidationError(
                        {"role": "This distributor's group has history and cannot be dropped."}
                    )
                group.delete()
    becomes_distributor = role == Role.DISTRIBUTOR and user.role != Role.DISTRIBUTOR
    if role != Role.ADMIN and user.role == Role.ADMIN:
        _refuse_if_last_admin(user)
    if role == Role.ADMIN and user.role != Role.ADMIN:
        _refuse_if_holding_stock(user)
    user.display_name = display_name
    user.email = email
    user.role = role
    user.full_clean()
    user.save()
    if becomes_distributor:
        # After the role is saved: PostgreSQL refuses a group headed by anyone but a distributor.
        DistributorGroup.objects.create(organization_id=user.organization_id, distributor=user)
    return user


def _refuse_if_last_admin(user: User) -> None:
    # Lock the organization's admins so two demotions cannot both pass this check.
    # An integration's admin service user never signs in: it cannot stand in for a person.
    admins = list(
        User.objects.people()
        .select_for_update()
        .filter(organization_id=user.organization_id, role=Role.ADMIN, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if admins == [user.pk]:
        raise ValidationError({"role": "This is the organization's only active admin."})


def _refuse_if_holding_stock(user: User) -> None:
    # Inventory builds on accounts, not vice versa: it registers the stock check (accounts.hooks).
    if hooks.holds_stock(holder=user):
        raise ValidationError(
            {"role": "Admins hold no stock: transfer this user's units away first."}
        )


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> User:
    """Deactivate or reactivate a login. Nothing is deleted: history keeps naming the user.

    An admin cannot deactivate themselves (the organization could lose its last admin).
    """
    _require_admin(actor, user.organization_id)
    if user.pk == actor.pk and not active:
        raise ValidationError("You cannot deactivate your own account.")
    if not active and user.role == Role.ADMIN:
        _refuse_if_last_admin(user)
    User.objects.filter(pk=user.pk).update(is_active=active)
    user.is_active = active
    return user


def _locked_group(group: DistributorGroup) -> DistributorGroup:
    # Serializes changes to one group so two admins cannot interleave assignment changes.
    return DistributorGroup.objects.select_for_update().get(pk=group.pk)


@transaction.atomic
def group_assign_rep(*, actor: User, group: DistributorGroup, rep: User) -> GroupMembership:
    """Assign a rep to the distributor's group.

    Refused (ValidationError) unless the rep is an active sales rep of the same organization in
    no other group. The unique constraint on the membership's rep is the backstop.
    """
    _require_admin(actor, group.organization_id)
    group = _locked_group(group)
    # Lock the rep too: a concurrent role change must not slip between this check and insert.
    rep = User.objects.select_for_update().filter(pk=rep.pk).first() or rep
    if rep.organization_id != group.organization_id:
        raise ValidationError("That user is not in this organization.")
    if rep.role != Role.REP:
        raise ValidationError(f"{rep} is not a sales rep; only sales reps can be assigned.")
    if not rep.is_active:
        raise ValidationError(f"{rep} is deactivated; reactivate them first.")
    existing = GroupMembership.objects.filter(rep=rep).select_related("group__distributor").first()
    if existing:
        if existing.group_id == group.pk:
            raise ValidationError(f"{rep} is already assigned to {group.distributor}.")
        raise ValidationError(
            f"{rep} is already assigned to {existing.group.distributor}; remove them there first."
        )
    membership = GroupMembership.objects.create(group=group, rep=rep)
    GroupChange.objects.create(
        group=group, action=GroupChange.Action.REP_ADDED, rep=rep, actor=actor
    )
    return membership


@transaction.atomic
def group_unassign_rep(*, actor: User, group: DistributorGroup, rep: User) -> None:
    """Remove a rep from the group. Their own stock stays theirs; only pool access ends."""
    _require_admin(actor, group.organization_id)
    group = _locked_group(group)
    deleted, _ = GroupMembership.objects.filter(group=group, rep=rep).delete()
    if not deleted:
        raise ValidationError(f"{rep} is not assigned to {group.distributor}.")
    GroupChange.objects.create(
        group=group, action=GroupChange.Action.REP_REMOVED, rep=rep, actor=actor
    )


@transaction.atomic
def group_set_pooling(*, actor: User, group: DistributorGroup, enabled: bool) -> bool:
    """Switch Access Distributor's Inventory. Returns True when the value changed.

    Setting the value it already has changes nothing and records nothing (a double submit).
    """
    _require_admin(actor, group.organization_id)
    group = _locked_group(group)
    if group.pooling_enabled == enabled:
        return False
    group.pooling_enabled = enabled
    group.save(update_fields=["pooling_enabled"])
    GroupChange.objects.create(
        group=group,
        action=GroupChange.Action.POOLING_ON if enabled else GroupChange.Action.POOLING_OFF,
        actor=actor,
    )
    return True


# --- Notifications ---------------------------------------------------------------------------


@transaction.atomic
def notify(
    *,
    recipients: Iterable[User | int | None],
    kind: str,
    actor: User | None,
    summary: str,
    url: str = "",
    detail: str = "",
    event_id: int | None = None,
    comment_id: int | None = None,
    transfer_id: int | None = None,
    recall_id: int | None = None,
    organization_id: int | None = None,
    email_key: str | None = None,
) -> list[Notification]:
    """Tell people something, in-app and by email: the one way every app notifies.

    Each recipient (users or ids; None, standing for organization custody, is skipped) gets one
    in-app notification, created in the caller's transaction, and one email after it commits
    unless they turned email off for this kind. Nobody is told of their own action; deactivated
    users and users of another organization (than the actor's, or `organization_id` when no
    person acted) are left out. The links (event, comment, transfer, recall ids) say what it is
    about; `url` is the site path it opens. `email_key` makes the email idempotent across
    calls (a job that may run again passes one); by default each call's emails are new.
    Raises ValueError for an unknown kind.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    org_id = actor.organization_id if actor is not None else organization_id
    ids = {r.pk if isinstance(r, User) else r for r in recipients} - {None}
    if actor is not None:
        ids.discard(actor.pk)
    if not ids or org_id is None:
        return []
    users = list(
        User.objects.filter(pk__in=ids, organization_id=org_id, is_active=True).order_by("pk")
    )
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(
            user=user,
            kind=kind,
            actor=actor,
            summary=summary[:300],
            detail=detail[:1000],
            url=url[:300],
            event_id=event_id,
            comment_id=comment_id,
            transfer_id=transfer_id,
            recall_id=recall_id,
            created_at=now,
        )
        for user in users
    )
    muted = set(
        NotificationPreference.objects.filter(
            user_id__in=[u.pk for u in users], kind=kind, email=False
        ).values_list("user_id", flat=True)
    )
    link = f"\n\nOpen it: {settings.SITE_URL}{url}" if url else ""
    body = f"{summary}\n\n{detail}".rstrip() + link + "\n"
    for user in users:
        if user.email and user.pk not in muted:
            # Names are user-typed: accounts.mail keeps line breaks out of the subject header.
            send_after_commit(
                subject=summary, body=body, to=[user.email], organization_id=org_id, key=email_key
            )
    return rows


@transaction.atomic
def notifications_mark_read(*, user: User, ids: Sequence[int] | None = None) -> int:
    """Mark the user's own notifications read (all of them when ids is None); returns how many.
    Another person's notification ids change nothing."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(*, user: User, email_kinds: Iterable[str]) -> set[str]:
    """Email the user about exactly `email_kinds` from now on (in-app notifications are always
    on). Returns the kinds now emailed; raises ValidationError naming an unknown kind."""
    wanted = set(email_kinds)
    unknown = sorted(wanted - set(NotificationKind.values))
    if unknown:
        raise ValidationError(f"Unknown notification kind(s): {', '.join(unknown)}.")
    for kind in NotificationKind.values:
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"email": kind in wanted}
        )
    return wanted
