"""Random sequences of transfers, answers, holds and pooling switches never break the ledger.

A hypothesis state machine drives the services with every kind of actor (holders, a distributor
acting for a rep, a rep using the pool, admins, people of another group or organization) and
keeps a small model of what the README section "Transfers" says should happen. Each step must either do exactly
what the model predicts or be refused and change nothing; after every step the ledger of every
unit must replay to the unit's custodian and state, and transit must match pending transfers.
"""

from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Role
from accounts.selectors import forget_actor
from accounts.services import group_set_pooling
from inventory import services
from inventory.models import CustodyEntry, Transfer, TransferLine, Unit, UnitState
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units

PEOPLE = ["admin", "dana", "riley", "sam", "drew", "casey", "outsider"]
# "org" is organization custody; "admin" and "stranger" (another organization) must be refused.
RECIPIENTS = ["org", "dana", "riley", "sam", "drew", "casey", "admin", "stranger"]
# Resolved against the chosen transfer, so answers and cancels often come from the right side.
ROLES_ON_TRANSFER = ["$recipient", "$recipient_distributor", "$starter"]
REFUSED = (ValidationError, PermissionDenied)
picks = st.lists(st.integers(min_value=0, max_value=63), min_size=1, max_size=3)
answerers = st.sampled_from(ROLES_ON_TRANSFER * 3 + PEOPLE)
mostly_hold = st.sampled_from([True, True, False])
reasons = st.sampled_from(["Wrong size", "Damaged box", "Not ordered", ""])
# Pooling flips (by an admin; a distributor may not) ride along with some transfer steps.
pooling_switches = st.sampled_from(
    [None] * 4
    + [("admin", g, on) for g in ("dana", "drew") for on in (True, False)]
    + [("dana", "dana", True)]
)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._build_world()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- world and model -----------------------------------------------------------------

    def _build_world(self):
        org = OrganizationFactory()
        self.org = org
        admin = UserFactory(organization=org, admin=True)
        dana = DistributorFactory(organization=org)
        drew = DistributorFactory(organization=org)
        elsewhere = OrganizationFactory()
        self.users = {
            "admin": admin,
            "dana": dana,
            "riley": RepFactory(organization=org, assigned_to=dana),
            "sam": RepFactory(organization=org, assigned_to=dana),
            "drew": drew,
            "casey": RepFactory(organization=org, assigned_to=drew),
            "outsider": UserFactory(organization=elsewhere, admin=True),
            "stranger": RepFactory(organization=elsewhere),
        }
        self.by_id = {u.pk: u for u in self.users.values()}
        self.groups = {"dana": dana.distributor_group, "drew": drew.distributor_group}
        # Model of the rules: who heads which group, whether pooling is on.
        self.distributor_of = {
            self.users[r].pk: self.users[d].pk
            for r, d in [("riley", "dana"), ("sam", "dana"), ("casey", "drew")]
        }
        self.pooling = {dana.pk: False, drew.pk: False}

        serial = ProductFactory(organization=org, serial_tracked=True)
        lot = ProductFactory(organization=org, lot_tracked=True)
        units = []
        for holder, n, product in [
            ("dana", 2, serial),
            ("dana", 1, lot),
            ("riley", 2, serial),
            ("sam", 1, lot),
            ("drew", 1, serial),
            ("casey", 1, serial),
            ("org", 1, serial),
        ]:
            custodian = None if holder == "org" else self.users[holder]
            units += receive_units(admin, custodian, n=n, product=product)
        self.unit_ids = sorted(u.pk for u in units)
        self.total_units = Unit.objects.count()
        # unit id -> [custodian id, state, ledger sequence]
        self.model = {u.pk: [u.custodian_id, UnitState.AVAILABLE, 1] for u in units}
        # transfer id -> {"sender", "recipient", "starter", "status", "units"}
        self.transfers = {}

    def _user(self, name):
        return None if name == "org" else self.users[name]

    def _may_act(self, actor, holder_id):
        """README, "Roles" and "Transfers": who may move (and see) stock held by `holder_id`."""
        if actor.organization_id != self.org.pk or not actor.is_active:
            return False
        if actor.role == Role.ADMIN:
            return True
        if holder_id is None:
            return False
        if holder_id == actor.pk:
            return True
        if actor.role == Role.DISTRIBUTOR:
            return self.distributor_of.get(holder_id) == actor.pk
        distributor_id = self.distributor_of.get(actor.pk)
        return holder_id == distributor_id and self.pooling.get(distributor_id, False)

    def _answers(self, actor, holder_id):
        """The holder, the holder's distributor, or an admin (pooling never counts)."""
        if actor.organization_id != self.org.pk or not actor.is_active:
            return False
        if actor.role == Role.ADMIN:
            return True
        if holder_id is None:
            return False
        return holder_id == actor.pk or self.distributor_of.get(holder_id) == actor.pk

    def _snapshot(self):
        return (
            list(
                Unit.objects.order_by("pk").values_list("pk", "custodian_id", "state", "ledger_seq")
            ),
            CustodyEntry.objects.count(),
            list(Transfer.objects.order_by("pk").values_list("pk", "status")),
            TransferLine.objects.count(),
        )

    def _attempt(self, what, predicted_ok, why, call):
        """Run a service call; it must succeed exactly when the model says so.

        A refused call must leave every unit, entry and transfer as it was. Returns whether the
        call went through.
        """
        before = None if predicted_ok else self._snapshot()
        try:
            self.result = call()
        except REFUSED as exc:
            assert not predicted_ok, f"refused but the rules allow it ({why}): {exc!r}"
            assert self._snapshot() == before, f"a refused call changed data: {exc!r}"
            event(f"{what}: refused")
            return False
        assert predicted_ok, f"allowed but the rules refuse it ({why})"
        event(f"{what}: went through")
        return True

    def _move(self, unit_ids, custodian_id, state, entries=1):
        for pk in unit_ids:
            record = self.model[pk]
            record[0], record[1] = custodian_id, state
            record[2] += entries

    def _pick_units(self, indexes):
        return [self.unit_ids[i % len(self.unit_ids)] for i in indexes]

    # --- transfers -------------------------------------------------------------------------

    def _create(self, actor, unit_ids, recipient_name):
        recipient = self._user(recipient_name)
        recipient_id = recipient.pk if recipient else None
        wanted = sorted(set(unit_ids))
        refusal = None
        if recipient is not None and (
            recipient.organization_id != actor.organization_id
            or recipient.role not in (Role.DISTRIBUTOR, Role.REP)
        ):
            refusal = "recipient cannot hold stock here"
        for pk in wanted:
            custodian_id, state, _ = self.model[pk]
            if not self._may_act(actor, custodian_id):
                refusal = f"{actor} may not move unit {pk}"
            elif state != UnitState.AVAILABLE:
                refusal = f"unit {pk} is {state}"
            elif custodian_id == recipient_id:
                refusal = f"unit {pk} is already with the recipient"
        if not self._attempt(
            "transfer_create",
            refusal is None,
            refusal or "all units movable",
            lambda: services.transfer_create(actor=actor, unit_ids=unit_ids, recipient=recipient),
        ):
            return
        transfers = self.result
        senders = {self.model[pk][0] for pk in wanted}
        assert sorted(t.sender_id or 0 for t in transfers) == sorted(s or 0 for s in senders)
        at_once = self._answers(actor, recipient_id)
        for transfer in transfers:
            moved = sorted(transfer.lines.values_list("unit_id", flat=True))
            assert moved == sorted(pk for pk in wanted if self.model[pk][0] == transfer.sender_id)
            expected_status = Transfer.Status.COMPLETED if at_once else Transfer.Status.PENDING
            assert transfer.status == expected_status
            assert transfer.started_by_id == actor.pk
            acting_for_someone = (
                actor.role != Role.REP
                and transfer.sender_id is not None
                and transfer.sender_id != actor.pk
            )
            assert transfer.on_behalf_of_id == (transfer.sender_id if acting_for_someone else None)
            self.transfers[transfer.pk] = {
                "sender": transfer.sender_id,
                "recipient": recipient_id,
                "starter": actor.pk,
                "status": transfer.status,
                "units": moved,
            }
            if at_once:
                self._move(moved, recipient_id, UnitState.AVAILABLE, entries=2)
            else:
                self._move(moved, transfer.sender_id, UnitState.IN_TRANSIT)

    @rule(
        switch=pooling_switches,
        actor=st.sampled_from(PEOPLE),
        indexes=picks,
        recipient=st.sampled_from(RECIPIENTS),
    )
    def anyone_sends_anything(self, switch, actor, indexes, recipient):
        self._switch_pooling(switch)
        self._create(self.users[actor], self._pick_units(indexes), recipient)

    @rule(
        index=st.integers(0, 63),
        recipient=st.sampled_from(RECIPIENTS),
        starter=st.sampled_from(["holder", "holder", "distributor", "admin"]),
    )
    def holder_or_someone_acting_for_them_sends(self, index, recipient, starter):
        (pk,) = self._pick_units([index])
        holder = self.model[pk][0]
        if starter == "holder" and holder is not None:
            actor = self.by_id[holder]
        elif starter == "distributor" and holder in self.distributor_of:
            actor = self.by_id[self.distributor_of[holder]]
        else:
            actor = self.users["admin"]
        self._create(actor, [pk], recipient)

    @rule(
        switch=pooling_switches,
        rep=st.sampled_from(["riley", "sam", "casey"]),
        index=st.integers(0, 63),
    )
    def rep_takes_from_the_pool(self, switch, rep, index):
        self._switch_pooling(switch)
        actor = self.users[rep]
        distributor_id = self.distributor_of[actor.pk]
        pool = [pk for pk in self.unit_ids if self.model[pk][0] == distributor_id]
        candidates = pool or self.unit_ids
        self._create(actor, [candidates[index % len(candidates)]], rep)

    def _pending(self):
        return [pk for pk, t in self.transfers.items() if t["status"] == Transfer.Status.PENDING]

    def _answerer(self, who, transfer):
        if who == "$recipient":
            holder = transfer["recipient"]
            return self.by_id[holder] if holder is not None else self.users["admin"]
        if who == "$recipient_distributor":
            distributor_id = self.distributor_of.get(transfer["recipient"])
            return self.by_id[distributor_id] if distributor_id else self.users["drew"]
        if who == "$starter":
            return self.by_id[transfer["starter"]]
        return self.users[who]

    def _accept(self, pk, actor):
        t = self.transfers[pk]
        ok = t["status"] == Transfer.Status.PENDING and self._answers(actor, t["recipient"])
        stale = Transfer(pk=pk)  # services must re-read: callers hold old copies
        if self._attempt(
            "transfer_accept",
            ok,
            f"accept by {actor}",
            lambda: services.transfer_accept(actor=actor, transfer=stale),
        ):
            t["status"] = Transfer.Status.COMPLETED
            self._move(t["units"], t["recipient"], UnitState.AVAILABLE)

    def _decline(self, pk, actor, reason):
        t = self.transfers[pk]
        ok = (
            bool(reason.strip())
            and t["status"] == Transfer.Status.PENDING
            and self._answers(actor, t["recipient"])
        )
        stale = Transfer(pk=pk)
        if self._attempt(
            "transfer_decline",
            ok,
            f"decline by {actor}",
            lambda: services.transfer_decline(actor=actor, transfer=stale, reason=reason),
        ):
            t["status"] = Transfer.Status.DECLINED
            self._move(t["units"], t["sender"], UnitState.HOLD)

    def _cancel(self, pk, actor):
        t = self.transfers[pk]
        ok = (
            t["status"] == Transfer.Status.PENDING
            and actor.organization_id == self.org.pk
            and (actor.pk == t["starter"] or actor.role == Role.ADMIN)
        )
        stale = Transfer(pk=pk)
        if self._attempt(
            "transfer_cancel",
            ok,
            f"cancel by {actor}",
            lambda: services.transfer_cancel(actor=actor, transfer=stale),
        ):
            t["status"] = Transfer.Status.CANCELLED
            self._move(t["units"], t["sender"], UnitState.AVAILABLE)

    def _pick_pending(self, index):
        pending = self._pending()
        return pending[index % len(pending)]

    @precondition(lambda self: self._pending())
    @rule(index=st.integers(0, 63), who=answerers)
    def accept(self, index, who):
        pk = self._pick_pending(index)
        self._accept(pk, self._answerer(who, self.transfers[pk]))

    @precondition(lambda self: self._pending())
    @rule(index=st.integers(0, 63), who=answerers, reason=reasons)
    def decline(self, index, who, reason):
        pk = self._pick_pending(index)
        self._decline(pk, self._answerer(who, self.transfers[pk]), reason)

    @precondition(lambda self: self._pending())
    @rule(index=st.integers(0, 63), who=answerers)
    def cancel(self, index, who):
        pk = self._pick_pending(index)
        self._cancel(pk, self._answerer(who, self.transfers[pk]))

    @precondition(lambda self: self.transfers)
    @rule(
        index=st.integers(0, 63),
        action=st.sampled_from(["accept", "decline", "cancel"]),
        who=answerers,
        reason=reasons,
    )
    def answer_any_transfer_even_a_resolved_one(self, index, action, who, reason):
        pk = sorted(self.transfers)[index % len(self.transfers)]
        actor = self._answerer(who, self.transfers[pk])
        if action == "accept":
            self._accept(pk, actor)
        elif action == "decline":
            self._decline(pk, actor, reason)
        else:
            self._cancel(pk, actor)

    def _held(self):
        return [pk for pk in self.unit_ids if self.model[pk][1] == UnitState.HOLD]

    @precondition(lambda self: self._held())
    @rule(
        who=st.sampled_from(["admin", "admin", "admin", "dana", "riley", "outsider"]),
        indexes=picks,
        hold_only=mostly_hold,
    )
    def release_hold(self, who, indexes, hold_only):
        actor = self.users[who]
        held = self._held()
        # Mostly units on hold; sometimes any units, which an admin must be refused as a whole.
        unit_ids = (
            [held[i % len(held)] for i in indexes] if hold_only else self._pick_units(indexes)
        )
        ok = (
            actor.role == Role.ADMIN
            and actor.organization_id == self.org.pk
            and all(self.model[pk][1] == UnitState.HOLD for pk in unit_ids)
        )
        if self._attempt(
            "units_release_hold",
            ok,
            f"release by {actor}",
            lambda: services.units_release_hold(actor=actor, unit_ids=unit_ids),
        ):
            for pk in set(unit_ids):
                self._move([pk], self.model[pk][0], UnitState.AVAILABLE)

    def _switch_pooling(self, switch):
        """Flip Access Distributor's Inventory first, when the step asks for it."""
        if switch is None:
            return
        who, group, enabled = switch
        actor = self.users[who]
        allowed = actor.role == Role.ADMIN
        self._attempt(
            "group_set_pooling",
            allowed,
            f"pooling by {actor}",
            lambda: group_set_pooling(actor=actor, group=self.groups[group], enabled=enabled),
        )
        if allowed:
            self.pooling[self.users[group].pk] = enabled
        # Actor snapshots are cached on the user objects: the next call must see the switch.
        for user in self.users.values():
            forget_actor(user)

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def every_units_ledger_replays_to_its_custodian_and_state(self):
        assert ledger_problems(organization_id=self.org.pk) == []

    @invariant()
    def no_unit_is_lost_or_duplicated(self):
        assert Unit.objects.count() == self.total_units
        assert sorted(Unit.objects.filter(organization=self.org).values_list("pk", flat=True)) == (
            self.unit_ids
        )

    @invariant()
    def in_transit_exactly_when_on_one_pending_transfer(self):
        pending_lines = Counter(
            TransferLine.objects.filter(
                transfer__organization=self.org, transfer__status=Transfer.Status.PENDING
            ).values_list("unit_id", flat=True)
        )
        in_transit = set(
            Unit.objects.filter(organization=self.org, state=UnitState.IN_TRANSIT).values_list(
                "pk", flat=True
            )
        )
        # Every in-transit unit is on a pending transfer, and every pending transfer's units
        # are in transit...
        assert set(pending_lines) == in_transit
        # ...on exactly one of them.
        assert all(n == 1 for n in pending_lines.values()), pending_lines

    @invariant()
    def database_matches_the_rules(self):
        actual = {
            pk: [custodian, state, seq]
            for pk, custodian, state, seq in Unit.objects.filter(organization=self.org).values_list(
                "pk", "custodian_id", "state", "ledger_seq"
            )
        }
        assert actual == self.model
        statuses = dict(Transfer.objects.filter(organization=self.org).values_list("pk", "status"))
        assert statuses == {pk: t["status"] for pk, t in self.transfers.items()}


def test_random_custody_histories_keep_the_ledger_true(db):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            # A fixed sequence of examples, so a red run replays exactly on any machine.
            derandomize=True,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
