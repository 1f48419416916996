"""Making and revoking API tokens: personal ones, and an admin's integrations (a service user
with a stated role, and its tokens).

The whole token is returned once, to be shown once; only its digest is stored
(api.models.tokens). A token acts as its user, so it never grants more than the user has now:
a changed role, a group left or a deactivated user takes effect on the next call.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import actor_for
from accounts.services import service_user_create
from api.authentication import new_token_parts, token_digest
from api.models import ApiToken, TokenScope
from api.policies import can_create_token, can_manage_integrations, can_revoke_token

NAME_MAX = ApiToken._meta.get_field("name").max_length


def _checked_name(name: str) -> str:
    """The name with its spaces tidied, or a ValidationError saying what is wrong with it."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the token after what uses it."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"Keep the name to {NAME_MAX} characters."})
    return name


def _check_terms(*, scope: str, expires_at: datetime.datetime | None) -> None:
    errors = {}
    if scope not in TokenScope.values:
        errors["scope"] = "Choose read only, or read and write."
    longest = settings.API_TOKEN_MAX_DAYS
    now = timezone.now()
    if expires_at is None:
        errors["expires_at"] = "Every token expires: choose when."
    elif timezone.is_naive(expires_at):
        errors["expires_at"] = "The expiry needs a time zone."
    elif expires_at <= now:
        errors["expires_at"] = "The expiry must be in the future."
    elif expires_at > now + datetime.timedelta(days=longest):
        errors["expires_at"] = f"A token lives at most {longest} days."
    if errors:
        raise ValidationError(errors)


def _issue(
    *, user: User, created_by: User, name: str, scope: str, expires_at: datetime.datetime
) -> tuple[ApiToken, str]:
    prefix, secret, whole = new_token_parts()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        digest=token_digest(secret),
        scope=scope,
        created_by=created_by,
        expires_at=expires_at,
    )
    return token, whole


@transaction.atomic
def token_create(
    *, actor: User, name: str, scope: str, expires_at: datetime.datetime
) -> tuple[ApiToken, str]:
    """A personal token acting as `actor`, with `scope` (read, or read and write), until
    `expires_at`. Returns the row and the whole token, which is kept nowhere: show it once.

    Raises PermissionDenied for a service user or someone of no organization, and
    ValidationError for a blank name, an unknown scope, or an expiry that is missing, past,
    or more than settings.API_TOKEN_MAX_DAYS away.
    """
    if not can_create_token(actor=actor_for(actor)):
        raise PermissionDenied("Only people of an organization make personal tokens.")
    name = _checked_name(name)
    _check_terms(scope=scope, expires_at=expires_at)
    return _issue(user=actor, created_by=actor, name=name, scope=scope, expires_at=expires_at)


@transaction.atomic
def integration_create(
    *, actor: User, name: str, role: str, scope: str, expires_at: datetime.datetime
) -> tuple[ApiToken, str]:
    """A new integration of the admin's organization: a service user named `name` acting with
    `role` (admin or distributor), and its first token. Returns the token row and the whole
    token, shown once. Nothing is created when anything is refused.

    Raises PermissionDenied unless `actor` is an admin, ValidationError as `token_create`
    does and for a role other than admin or distributor.
    """
    if not can_manage_integrations(actor=actor_for(actor)):
        raise PermissionDenied("Only an admin creates integrations.")
    name = _checked_name(name)
    _check_terms(scope=scope, expires_at=expires_at)
    user = service_user_create(actor=actor, organization=actor.organization, name=name, role=role)
    return _issue(user=user, created_by=actor, name=name, scope=scope, expires_at=expires_at)


@transaction.atomic
def integration_token_create(
    *,
    actor: User,
    service_user: User,
    name: str,
    scope: str,
    expires_at: datetime.datetime,
) -> tuple[ApiToken, str]:
    """Another token for an existing integration (to replace one before it expires, say),
    acting as the same service user. Returns the row and the whole token, shown once.

    Raises PermissionDenied unless `actor` is an admin of the service user's organization and
    `service_user` is a service user; ValidationError as `token_create` does, and when the
    service user is deactivated (its tokens would not work).
    """
    actor_snapshot = actor_for(actor)
    if (
        not can_manage_integrations(actor=actor_snapshot)
        or not service_user.is_service
        or service_user.organization_id != actor_snapshot.organization_id
    ):
        raise PermissionDenied("Only an admin of its organization adds tokens to an integration.")
    if not service_user.is_active:
        raise ValidationError(f"{service_user} is deactivated; reactivate it first.")
    name = _checked_name(name)
    _check_terms(scope=scope, expires_at=expires_at)
    return _issue(
        user=service_user, created_by=actor, name=name, scope=scope, expires_at=expires_at
    )


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> bool:
    """Revoke `token` now: its next call is a 401. Returns False when it was already revoked
    (a second click changes nothing, and its first revocation time stays).

    Raises PermissionDenied unless `policies.can_revoke_token` allows it: one's own tokens,
    and an admin's organization's integration tokens.
    """
    token = ApiToken.objects.select_related("user").get(pk=token.pk)
    if not can_revoke_token(actor=actor_for(actor), token=token):
        raise PermissionDenied("You may revoke your own tokens and, as an admin, integrations'.")
    return bool(
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )
