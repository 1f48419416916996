"""Who may manage webhooks: pure yes/no over an accounts Actor."""

from __future__ import annotations

from accounts.policies import Actor


def can_manage_webhooks(*, actor: Actor) -> bool:
    """An active admin of an organization: subscriptions send the organization's data out."""
    return actor.is_active and actor.is_admin and actor.organization_id is not None
