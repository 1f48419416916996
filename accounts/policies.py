"""Who speaks for whom: the role rules, written once, as pure functions over an `Actor`.

Every other app asks these questions; none re-derives them. Functions take a snapshot of the
acting user's relationships (built by `accounts.selectors.actor_for` with one query) so they
never touch the database and can be tested as tables.

A *holder* is whoever has custody of stock: a user id, or ``None`` for organization custody
(receiving dock, returns, quarantine), which only admins speak for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Role


@dataclass(frozen=True)
class Actor:
    id: int
    organization_id: int | None
    role: str
    # For a distributor: the reps assigned to their group.
    rep_ids: frozenset[int] = field(default_factory=frozenset)
    # For a rep: the distributor of their group (None when unassigned) and its pooling switch.
    distributor_id: int | None = None
    pooling_enabled: bool = False
    is_active: bool = True
    # An integration's service user (it acts through API tokens, never signs in).
    is_service: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_distributor(self) -> bool:
        return self.role == Role.DISTRIBUTOR

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP

    @property
    def uses_pool(self) -> bool:
        """A rep whose distributor has switched Access Distributor's Inventory on."""
        return self.is_rep and self.pooling_enabled and self.distributor_id is not None


def can_manage_users(*, actor: Actor) -> bool:
    return actor.is_active and actor.is_admin and actor.organization_id is not None


def can_export_organization(*, actor: Actor) -> bool:
    """An active admin takes away everything the organization holds (api.services.export)."""
    return actor.is_active and actor.is_admin and actor.organization_id is not None


def own_holder_ids(*, actor: Actor) -> frozenset[int]:
    """The holders whose stock is the actor's "own" view (`custody=mine`)."""
    return frozenset({actor.id})


def pool_holder_ids(*, actor: Actor) -> frozenset[int]:
    """Holders a rep may use as if their own because pooling is on (`custody=shared`)."""
    if actor.uses_pool:
        return frozenset({actor.distributor_id})
    return frozenset()


def rep_holder_ids(*, actor: Actor) -> frozenset[int]:
    """For a distributor: the reps they act for (`custody=reps`)."""
    return actor.rep_ids if actor.is_distributor else frozenset()


def holder_ids_in_scope(*, actor: Actor) -> frozenset[int] | None:
    """Every holder whose stock the actor may see, move and use; None means "all of the org"."""
    if not actor.is_active or actor.organization_id is None:
        return frozenset()
    if actor.is_admin:
        return None
    if actor.is_distributor:
        return own_holder_ids(actor=actor) | rep_holder_ids(actor=actor)
    return own_holder_ids(actor=actor) | pool_holder_ids(actor=actor)


def spoken_for_ids(*, actor: Actor) -> frozenset[int] | None:
    """The people the actor speaks for: themselves and, for a distributor, the assigned reps.

    None means everyone of the organization (an admin). Pooling plays no part: it lets a rep
    use the distributor's stock, never speak for the distributor. An inactive user, or one of
    no organization, speaks for nobody.
    """
    if not actor.is_active or actor.organization_id is None:
        return frozenset()
    if actor.is_admin:
        return None
    return own_holder_ids(actor=actor) | rep_holder_ids(actor=actor)


def event_rep_scope(*, actor: Actor) -> frozenset[int] | None:
    """Whose events the actor may see, by representative; None means all of the organization.

    The representative, the representative's distributor and admins see an event, so this is
    exactly the people the actor speaks for. `Event.objects.visible_to`, `can_see_event` and
    `accounts.selectors.event_viewers_q` (its inverse, as a filter on users) all answer from it.
    """
    return spoken_for_ids(actor=actor)


def acts_for(*, actor: Actor, holder_id: int | None, holder_org_id: int | None) -> bool:
    """May the actor see, transfer and use stock held by this holder?

    Admin: any holder of the organization, organization custody included. Distributor: self and
    assigned reps. Rep: self, and the distributor while pooling is on.
    """
    if holder_org_id is None or holder_org_id != actor.organization_id:
        return False
    scope = holder_ids_in_scope(actor=actor)
    if scope is None:
        return True
    return holder_id is not None and holder_id in scope


def answers_for(*, actor: Actor, holder_id: int | None, holder_org_id: int | None) -> bool:
    """May the actor accept or decline what is sent to this holder?

    The holder themselves, the holder's distributor, or an admin; pooling does not make a rep
    answer for the distributor. A transfer whose starter answers for the recipient completes at
    once.
    """
    if holder_org_id is None or holder_org_id != actor.organization_id:
        return False
    scope = spoken_for_ids(actor=actor)
    if scope is None:
        return True
    return holder_id is not None and holder_id in scope


def on_behalf_of(*, actor: Actor, holder_id: int | None) -> int | None:
    """Whose behalf an action on a holder's stock is taken on, for the ledger.

    A distributor or admin moving a rep's (or another holder's) stock acts for that holder; a
    rep using the pool acts for themselves, so nobody is recorded.
    """
    if holder_id is None or holder_id == actor.id:
        return None
    if actor.is_rep:
        return None
    return holder_id


def usable_holder_ids(*, actor: Actor) -> frozenset[int]:
    """Whose stock this person may use in their own events: their own custody, plus the
    distributor's while pooling is on. (A distributor acts for reps' stock, but a case uses
    the representative's own stock, never silently a rep's trunk.)"""
    if not actor.is_active or actor.is_admin:
        return frozenset()
    return own_holder_ids(actor=actor) | pool_holder_ids(actor=actor)
