"""Who may make and revoke API tokens: pure yes/no over an `Actor` and loaded rows. The token
services enforce these; the token pages ask them to show a button.

`ApiToken.objects.visible_to` lists exactly the tokens `can_revoke_token` allows: a person's
own and, for an admin, the organization's integration tokens. Nobody sees or revokes another
person's personal token, whatever their role.
"""

from __future__ import annotations

from accounts.policies import Actor, can_manage_users
from api.models import ApiToken


def can_create_token(*, actor: Actor) -> bool:
    """Every active person of an organization makes personal tokens, acting as themselves. A
    service user makes none: an admin makes its tokens (`can_manage_integrations`)."""
    return actor.is_active and actor.organization_id is not None and not actor.is_service


def can_manage_integrations(*, actor: Actor) -> bool:
    """The organization's admins create integrations (a service user and its tokens), list
    them and revoke their tokens."""
    return not actor.is_service and can_manage_users(actor=actor)


def can_revoke_token(*, actor: Actor, token: ApiToken) -> bool:
    """A person their own tokens; an admin also the organization's integration tokens.
    Reads `token.user` (select it with the token)."""
    owner = token.user
    if not actor.is_active or owner.organization_id != actor.organization_id:
        return False
    if owner.pk == actor.id:
        return True
    return owner.is_service and can_manage_integrations(actor=actor)
