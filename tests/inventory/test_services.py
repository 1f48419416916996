"""Transfers and holds (README, "Transfers"): who may move what, when it completes, and all or nothing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.selectors import forget_actor
from accounts.services import group_set_pooling
from inventory.models import CustodyEntry, EntryKind, Transfer, TransferLine, Unit, UnitState
from inventory.services.holds import units_release_hold
from inventory.services.transfers import (
    transfer_accept,
    transfer_cancel,
    transfer_create,
    transfer_decline,
)
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ledger_problems, receive_units

# --- the cast ------------------------------------------------------------------------------
# org: admin_user; distributor (dana) with reps `rep` (riley) and `second_rep` (sam);
# `other_distributor` (drew) with `their_rep` (casey). `pooled` turns dana's pooling on.


@pytest.fixture
def second_rep(distributor):
    return RepFactory(organization=distributor.organization, assigned_to=distributor)


@pytest.fixture
def other_distributor(org):
    return DistributorFactory(organization=org)


@pytest.fixture
def their_rep(other_distributor):
    return RepFactory(organization=other_distributor.organization, assigned_to=other_distributor)


@pytest.fixture
def rep_units(admin_user, rep):
    return receive_units(admin_user, rep, n=3, serial_prefix="RIL-")


@pytest.fixture
def distributor_units(admin_user, distributor):
    return receive_units(admin_user, distributor, n=2, serial_prefix="DANA-")


def ids(units):
    return [u.pk for u in units]


def snapshot():
    """Everything a refused call must leave as it was."""
    return (
        list(Unit.objects.order_by("pk").values_list("pk", "custodian_id", "state", "ledger_seq")),
        CustodyEntry.objects.count(),
        list(Transfer.objects.order_by("pk").values_list("pk", "status")),
        TransferLine.objects.count(),
    )


def states(units):
    return {u.pk: (u.custodian_id, u.state) for u in Unit.objects.filter(pk__in=ids(units))}


def last_entry(unit):
    return CustodyEntry.objects.filter(unit=unit).order_by("-sequence").first()


def send(actor, units, recipient, note=""):
    return transfer_create(actor=actor, unit_ids=ids(units), recipient=recipient, note=note)


# --- holder sends, recipient answers -------------------------------------------------------


def test_holder_sending_units_makes_one_pending_transfer_with_units_in_transit(
    rep, second_rep, rep_units
):
    (transfer,) = send(rep, rep_units[:2], second_rep, note="for Tuesday's case")

    assert transfer.status == Transfer.Status.PENDING
    assert (transfer.sender, transfer.recipient, transfer.started_by) == (rep, second_rep, rep)
    assert transfer.on_behalf_of is None
    assert transfer.resolved_at is None
    assert set(transfer.lines.values_list("unit_id", flat=True)) == set(ids(rep_units[:2]))
    # In transit units stay in the sender's custody until the recipient accepts.
    assert states(rep_units) == {
        rep_units[0].pk: (rep.pk, UnitState.IN_TRANSIT),
        rep_units[1].pk: (rep.pk, UnitState.IN_TRANSIT),
        rep_units[2].pk: (rep.pk, UnitState.AVAILABLE),
    }
    entry = last_entry(rep_units[0])
    assert (entry.sequence, entry.kind, entry.actor, entry.on_behalf_of) == (
        2,
        EntryKind.TRANSFER_SENT,
        rep,
        None,
    )
    assert (entry.from_state, entry.to_state, entry.transfer) == (
        UnitState.AVAILABLE,
        UnitState.IN_TRANSIT,
        transfer,
    )
    assert entry.note == "for Tuesday's case"
    assert ledger_problems(ids(rep_units)) == []


def test_recipient_accepting_takes_custody(rep, second_rep, rep_units):
    (transfer,) = send(rep, rep_units[:2], second_rep)

    transfer_accept(actor=second_rep, transfer=transfer)

    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED
    assert transfer.resolved_by == second_rep
    assert transfer.resolved_at is not None
    assert set(states(rep_units[:2]).values()) == {(second_rep.pk, UnitState.AVAILABLE)}
    entry = last_entry(rep_units[0])
    assert (entry.kind, entry.from_custodian, entry.to_custodian, entry.actor) == (
        EntryKind.TRANSFER_ACCEPTED,
        rep,
        second_rep,
        second_rep,
    )
    assert entry.on_behalf_of is None
    assert ledger_problems(ids(rep_units)) == []


def test_recipients_distributor_accepts_on_the_recipients_behalf(
    distributor, rep, their_rep, admin_user
):
    units = receive_units(admin_user, their_rep, n=1)
    (transfer,) = send(their_rep, units, rep)

    transfer_accept(actor=distributor, transfer=transfer)

    assert states(units) == {units[0].pk: (rep.pk, UnitState.AVAILABLE)}
    entry = last_entry(units[0])
    assert (entry.actor, entry.on_behalf_of) == (distributor, rep)


@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_needs_a_reason(rep, second_rep, rep_units, reason):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        transfer_decline(actor=second_rep, transfer=transfer, reason=reason)

    assert "reason" in exc.value.message_dict
    assert snapshot() == before


def test_declined_units_go_back_to_the_sender_on_hold(rep, second_rep, rep_units):
    (transfer,) = send(rep, rep_units[:2], second_rep)

    transfer_decline(actor=second_rep, transfer=transfer, reason="  Wrong size  ")

    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DECLINED
    assert transfer.decline_reason == "Wrong size"
    assert transfer.resolved_by == second_rep
    assert set(states(rep_units[:2]).values()) == {(rep.pk, UnitState.HOLD)}
    entry = last_entry(rep_units[0])
    assert (entry.kind, entry.to_custodian, entry.to_state, entry.note) == (
        EntryKind.TRANSFER_DECLINED,
        rep,
        UnitState.HOLD,
        "Wrong size",
    )
    assert ledger_problems(ids(rep_units)) == []


def test_units_on_hold_cannot_be_transferred_until_released(rep, second_rep, rep_units):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    transfer_decline(actor=second_rep, transfer=transfer, reason="Damaged box")

    with pytest.raises(ValidationError, match="RIL-1 is hold, not available"):
        send(rep, rep_units[:1], second_rep)


def test_admin_releases_units_on_hold_back_to_their_holder(admin_user, rep, second_rep, rep_units):
    (transfer,) = send(rep, rep_units[:2], second_rep)
    transfer_decline(actor=second_rep, transfer=transfer, reason="Damaged box")

    units_release_hold(actor=admin_user, unit_ids=ids(rep_units[:2]), note="Checked")

    assert set(states(rep_units[:2]).values()) == {(rep.pk, UnitState.AVAILABLE)}
    entry = last_entry(rep_units[1])
    assert (entry.kind, entry.actor, entry.note) == (EntryKind.HOLD_RELEASED, admin_user, "Checked")
    assert ledger_problems(ids(rep_units)) == []
    # Released units move again.
    (again,) = send(rep, rep_units[:1], second_rep)
    assert again.status == Transfer.Status.PENDING


@pytest.mark.parametrize("who", ["rep", "distributor"])
def test_only_an_admin_releases_a_hold(request, rep, second_rep, rep_units, who):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    transfer_decline(actor=second_rep, transfer=transfer, reason="Damaged box")
    before = snapshot()

    with pytest.raises(PermissionDenied):
        units_release_hold(actor=request.getfixturevalue(who), unit_ids=ids(rep_units[:1]))

    assert snapshot() == before


def test_releasing_a_unit_that_is_not_on_hold_changes_nothing(
    admin_user, rep, second_rep, rep_units
):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    transfer_decline(actor=second_rep, transfer=transfer, reason="Damaged box")
    before = snapshot()

    with pytest.raises(ValidationError, match="RIL-2 is not on hold"):
        units_release_hold(actor=admin_user, unit_ids=ids(rep_units[:2]))

    assert snapshot() == before


def test_admin_cannot_release_a_hold_in_another_organization(rep, second_rep, rep_units):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    transfer_decline(actor=second_rep, transfer=transfer, reason="Damaged box")
    outsider = UserFactory(organization=OrganizationFactory(), admin=True)
    before = snapshot()

    with pytest.raises(ValidationError):
        units_release_hold(actor=outsider, unit_ids=ids(rep_units[:1]))

    assert snapshot() == before


def test_starter_cancels_a_pending_transfer_and_the_units_are_available_again(
    rep, second_rep, rep_units
):
    (transfer,) = send(rep, rep_units[:2], second_rep)

    transfer_cancel(actor=rep, transfer=transfer)

    transfer.refresh_from_db()
    assert (transfer.status, transfer.resolved_by) == (Transfer.Status.CANCELLED, rep)
    assert set(states(rep_units[:2]).values()) == {(rep.pk, UnitState.AVAILABLE)}
    assert last_entry(rep_units[0]).kind == EntryKind.TRANSFER_CANCELLED
    assert ledger_problems(ids(rep_units)) == []


def test_admin_may_cancel_a_transfer_someone_else_started(admin_user, rep, second_rep, rep_units):
    (transfer,) = send(rep, rep_units[:1], second_rep)

    transfer_cancel(actor=admin_user, transfer=transfer)

    assert states(rep_units[:1]) == {rep_units[0].pk: (rep.pk, UnitState.AVAILABLE)}


@pytest.mark.parametrize("who", ["second_rep", "distributor"])
def test_only_the_starter_or_an_admin_cancels(request, rep, second_rep, rep_units, who):
    # The recipient (and the recipient's distributor) decline instead; cancelling is the sender's.
    (transfer,) = send(rep, rep_units[:1], second_rep)
    before = snapshot()

    with pytest.raises(PermissionDenied):
        transfer_cancel(actor=request.getfixturevalue(who), transfer=transfer)

    assert snapshot() == before


# --- completes at once ---------------------------------------------------------------------


def test_distributor_moving_a_reps_units_to_another_rep_completes_at_once_on_their_behalf(
    distributor, rep, second_rep, rep_units
):
    (transfer,) = send(distributor, rep_units[:2], second_rep)

    assert transfer.status == Transfer.Status.COMPLETED
    assert (transfer.sender, transfer.recipient) == (rep, second_rep)
    assert (transfer.started_by, transfer.on_behalf_of) == (distributor, rep)
    assert (transfer.resolved_by, transfer.resolved_at is not None) == (distributor, True)
    assert set(states(rep_units[:2]).values()) == {(second_rep.pk, UnitState.AVAILABLE)}
    sent, accepted = CustodyEntry.objects.filter(unit=rep_units[0], sequence__gt=1).order_by(
        "sequence"
    )
    assert (sent.kind, sent.actor, sent.on_behalf_of, sent.transfer) == (
        EntryKind.TRANSFER_SENT,
        distributor,
        rep,
        transfer,
    )
    assert (accepted.kind, accepted.actor, accepted.transfer) == (
        EntryKind.TRANSFER_ACCEPTED,
        distributor,
        transfer,
    )
    assert (accepted.from_custodian, accepted.to_custodian) == (rep, second_rep)
    # The distributor answered for the recipient: recorded as acting for them.
    assert accepted.on_behalf_of == second_rep
    assert ledger_problems(ids(rep_units)) == []


def test_distributor_sending_own_stock_to_one_of_their_reps_completes_at_once(
    distributor, rep, distributor_units
):
    (transfer,) = send(distributor, distributor_units, rep)

    assert transfer.status == Transfer.Status.COMPLETED
    assert transfer.on_behalf_of is None
    assert set(states(distributor_units).values()) == {(rep.pk, UnitState.AVAILABLE)}


def test_admin_moving_a_reps_units_completes_at_once_on_the_reps_behalf(
    admin_user, rep, their_rep, rep_units
):
    (transfer,) = send(admin_user, rep_units[:1], their_rep)

    assert transfer.status == Transfer.Status.COMPLETED
    assert (transfer.started_by, transfer.on_behalf_of) == (admin_user, rep)
    assert states(rep_units[:1]) == {rep_units[0].pk: (their_rep.pk, UnitState.AVAILABLE)}


def test_rep_taking_a_unit_from_the_pool_completes_at_once(
    pooled, admin_user, distributor, rep, distributor_units
):
    (transfer,) = send(rep, distributor_units[:1], rep)

    assert transfer.status == Transfer.Status.COMPLETED
    assert (transfer.sender, transfer.recipient, transfer.started_by) == (distributor, rep, rep)
    # A rep using the pool acts for themselves: nobody is recorded on whose behalf.
    assert transfer.on_behalf_of is None
    assert states(distributor_units) == {
        distributor_units[0].pk: (rep.pk, UnitState.AVAILABLE),
        distributor_units[1].pk: (distributor.pk, UnitState.AVAILABLE),
    }
    kinds = list(
        CustodyEntry.objects.filter(unit=distributor_units[0])
        .order_by("sequence")
        .values_list("kind", "actor_id", "on_behalf_of_id")
    )
    assert kinds == [
        (EntryKind.RECEIVED, admin_user.pk, None),
        (EntryKind.TRANSFER_SENT, rep.pk, None),
        (EntryKind.TRANSFER_ACCEPTED, rep.pk, None),
    ]
    assert ledger_problems(ids(distributor_units)) == []


def test_pooled_rep_sending_pool_stock_to_another_rep_waits_for_that_rep(
    pooled, distributor, rep, second_rep, distributor_units
):
    (transfer,) = send(rep, distributor_units[:1], second_rep)

    assert transfer.status == Transfer.Status.PENDING
    assert (transfer.sender, transfer.started_by) == (distributor, rep)
    transfer_accept(actor=second_rep, transfer=transfer)
    assert states(distributor_units[:1]) == {
        distributor_units[0].pk: (second_rep.pk, UnitState.AVAILABLE)
    }


def test_rep_sending_to_their_distributor_needs_the_distributors_acceptance(
    pooled, distributor, rep, rep_units
):
    # Pooling lets a rep use the distributor's stock; it does not let them answer for her.
    (transfer,) = send(rep, rep_units[:1], distributor)

    assert transfer.status == Transfer.Status.PENDING
    with pytest.raises(PermissionDenied):
        transfer_accept(actor=rep, transfer=transfer)
    transfer_accept(actor=distributor, transfer=transfer)
    assert states(rep_units[:1]) == {rep_units[0].pk: (distributor.pk, UnitState.AVAILABLE)}


def test_admin_moves_units_into_organization_custody_at_once(admin_user, rep, rep_units):
    (transfer,) = send(admin_user, rep_units[:1], None)

    assert (transfer.status, transfer.recipient) == (Transfer.Status.COMPLETED, None)
    assert states(rep_units[:1]) == {rep_units[0].pk: (None, UnitState.AVAILABLE)}
    assert ledger_problems(ids(rep_units)) == []


def test_distributor_returning_stock_to_the_organization_waits_for_an_admin(
    admin_user, distributor, distributor_units
):
    (transfer,) = send(distributor, distributor_units, None)

    assert transfer.status == Transfer.Status.PENDING
    with pytest.raises(PermissionDenied):
        transfer_accept(actor=distributor, transfer=transfer)
    transfer_accept(actor=admin_user, transfer=transfer)
    assert set(states(distributor_units).values()) == {(None, UnitState.AVAILABLE)}


# --- scope -----------------------------------------------------------------------------------


def test_transfer_from_pool_is_refused_when_pooling_is_off(distributor, rep, distributor_units):
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        send(rep, distributor_units[:1], rep)

    assert exc.value.messages == ["A selected unit was not found."]
    assert snapshot() == before


def test_turning_pooling_off_takes_the_pool_away_again(
    admin_user, pooled, distributor, rep, distributor_units
):
    group_set_pooling(actor=admin_user, group=pooled, enabled=False)
    forget_actor(rep)

    with pytest.raises(ValidationError, match="was not found"):
        send(rep, distributor_units[:1], rep)


def test_rep_of_another_group_cannot_touch_units_even_with_pooling_on(
    pooled, rep, second_rep, their_rep, rep_units, distributor_units
):
    before = snapshot()

    for units in (rep_units[:1], distributor_units[:1]):
        with pytest.raises(ValidationError, match="was not found"):
            send(their_rep, units, their_rep)

    assert snapshot() == before


def test_rep_cannot_move_a_fellow_reps_units(rep, second_rep, rep_units):
    with pytest.raises(ValidationError, match="was not found"):
        send(second_rep, rep_units[:1], second_rep)


def test_distributor_cannot_move_units_of_another_distributors_rep(
    distributor, their_rep, admin_user
):
    units = receive_units(admin_user, their_rep, n=1)

    with pytest.raises(ValidationError, match="was not found"):
        send(distributor, units, distributor)


def test_rep_of_another_group_cannot_answer_or_cancel_a_transfer(
    rep, second_rep, their_rep, other_distributor, rep_units
):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    before = snapshot()

    for outsider in (their_rep, other_distributor):
        with pytest.raises(PermissionDenied):
            transfer_accept(actor=outsider, transfer=transfer)
        with pytest.raises(PermissionDenied):
            transfer_decline(actor=outsider, transfer=transfer, reason="mine now")
        with pytest.raises(PermissionDenied):
            transfer_cancel(actor=outsider, transfer=transfer)

    assert snapshot() == before


def test_users_of_another_organization_cannot_touch_units_or_transfers(rep, second_rep, rep_units):
    other_org = OrganizationFactory()
    outsider_admin = UserFactory(organization=other_org, admin=True)
    outsider_rep = RepFactory(organization=other_org)
    (transfer,) = send(rep, rep_units[:1], second_rep)
    before = snapshot()

    with pytest.raises(ValidationError, match="was not found"):
        send(outsider_admin, rep_units[1:2], outsider_rep)
    with pytest.raises(ValidationError, match="was not found"):
        send(outsider_admin, rep_units[1:2], None)
    for action in (transfer_accept, transfer_cancel):
        with pytest.raises(PermissionDenied):
            action(actor=outsider_admin, transfer=transfer)
    with pytest.raises(PermissionDenied):
        transfer_decline(actor=outsider_admin, transfer=transfer, reason="x")
    with pytest.raises(ValidationError):
        units_release_hold(actor=outsider_admin, unit_ids=ids(rep_units[:1]))

    assert snapshot() == before


def test_transfer_to_someone_of_another_organization_is_refused(rep, rep_units):
    stranger = RepFactory(organization=OrganizationFactory())
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        send(rep, rep_units[:1], stranger)

    assert "recipient" in exc.value.message_dict
    assert snapshot() == before


# --- refusals that change nothing ----------------------------------------------------------


def test_one_bad_unit_among_several_leaves_every_unit_and_the_ledger_unchanged(
    rep, second_rep, distributor, rep_units, admin_user
):
    already_moving = receive_units(admin_user, rep, n=1, serial_prefix="BUSY-")
    send(rep, already_moving, distributor)
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        send(rep, [*rep_units, *already_moving], second_rep)

    assert snapshot() == before
    assert len(exc.value.messages) == 1
    assert "BUSY-1 is already in transit to" in exc.value.messages[0]
    assert ledger_problems() == []


def test_every_problem_in_a_selection_is_named(rep, second_rep, distributor, rep_units):
    send(rep, rep_units[:1], second_rep)
    distributor_unit = receive_units(None, distributor, n=1)[0]
    missing_pk = max(Unit.objects.values_list("pk", flat=True)) + 1000
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        transfer_create(
            actor=rep,
            unit_ids=[rep_units[0].pk, rep_units[1].pk, distributor_unit.pk, missing_pk],
            recipient=second_rep,
        )

    messages = exc.value.messages
    # The missing id and the out-of-scope unit share one line that names neither.
    assert len(messages) == 2
    assert "A selected unit was not found." in messages
    assert any("RIL-1 is already in transit to" in m for m in messages)
    assert snapshot() == before


def test_units_of_two_holders_in_one_selection_make_two_transfers(
    distributor, rep, their_rep, rep_units, distributor_units
):
    transfers = send(distributor, [rep_units[0], distributor_units[0]], their_rep)

    assert len(transfers) == 2
    by_sender = {t.sender_id: t for t in transfers}
    assert set(by_sender) == {rep.pk, distributor.pk}
    for t in transfers:
        assert (t.recipient, t.started_by, t.status) == (
            their_rep,
            distributor,
            Transfer.Status.PENDING,
        )
    assert by_sender[rep.pk].on_behalf_of == rep
    assert by_sender[distributor.pk].on_behalf_of is None
    assert list(by_sender[rep.pk].lines.values_list("unit_id", flat=True)) == [rep_units[0].pk]
    assert list(by_sender[distributor.pk].lines.values_list("unit_id", flat=True)) == [
        distributor_units[0].pk
    ]
    # Each sender's transfer is answered on its own.
    transfer_accept(actor=their_rep, transfer=by_sender[rep.pk])
    transfer_decline(actor=their_rep, transfer=by_sender[distributor.pk], reason="Not needed")
    assert states([rep_units[0], distributor_units[0]]) == {
        rep_units[0].pk: (their_rep.pk, UnitState.AVAILABLE),
        distributor_units[0].pk: (distributor.pk, UnitState.HOLD),
    }
    assert ledger_problems() == []


def test_transfer_to_the_current_holder_is_refused(rep, rep_units):
    before = snapshot()

    with pytest.raises(ValidationError, match=r"RIL-1 is already in .*'s custody"):
        send(rep, rep_units[:1], rep)

    assert snapshot() == before


def test_transfer_to_an_admin_is_refused(rep, admin_user, rep_units):
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        send(rep, rep_units[:1], admin_user)

    assert "Admins hold no stock" in exc.value.message_dict["recipient"][0]
    assert snapshot() == before


def test_transfer_to_a_deactivated_user_is_refused(rep, second_rep, rep_units):
    second_rep.is_active = False
    second_rep.save(update_fields=["is_active"])

    with pytest.raises(ValidationError, match="deactivated"):
        send(rep, rep_units[:1], second_rep)


def test_transfer_of_nothing_is_refused(rep, second_rep):
    with pytest.raises(ValidationError, match="at least one unit"):
        transfer_create(actor=rep, unit_ids=[], recipient=second_rep)


def test_unit_in_transit_cannot_be_sent_elsewhere(rep, second_rep, distributor, rep_units):
    (first,) = send(rep, rep_units[:1], second_rep)
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        send(rep, rep_units[:1], distributor)

    assert exc.value.messages == [
        f"RIL-1 is already in transit to {second_rep} (transfer #{first.pk})."
    ]
    assert snapshot() == before


@pytest.mark.parametrize(
    "who",
    ["rep", "their_rep", "other_distributor"],
    ids=["the sender", "a rep of another group", "another distributor"],
)
def test_accept_by_someone_who_does_not_answer_for_the_recipient_is_denied(
    request, rep, second_rep, rep_units, who
):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    before = snapshot()

    with pytest.raises(PermissionDenied):
        transfer_accept(actor=request.getfixturevalue(who), transfer=transfer)

    assert snapshot() == before


def test_pooled_rep_cannot_accept_for_the_distributor(pooled, distributor, rep, their_rep):
    units = receive_units(None, their_rep, n=1)
    (transfer,) = send(their_rep, units, distributor)

    with pytest.raises(PermissionDenied):
        transfer_accept(actor=rep, transfer=transfer)


def test_accepting_an_already_cancelled_transfer_is_refused(rep, second_rep, rep_units):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    transfer_cancel(actor=rep, transfer=transfer)
    before = snapshot()

    # `transfer` is the caller's stale copy, still saying "pending".
    with pytest.raises(ValidationError, match="already cancelled"):
        transfer_accept(actor=second_rep, transfer=transfer)

    assert snapshot() == before


@pytest.mark.parametrize("finish", ["accept", "decline", "cancel"])
def test_a_resolved_transfer_cannot_be_resolved_again(rep, second_rep, rep_units, finish):
    (transfer,) = send(rep, rep_units[:1], second_rep)
    if finish == "accept":
        transfer_accept(actor=second_rep, transfer=transfer)
    elif finish == "decline":
        transfer_decline(actor=second_rep, transfer=transfer, reason="No")
    else:
        transfer_cancel(actor=rep, transfer=transfer)
    before = snapshot()

    with pytest.raises(ValidationError, match="already"):
        transfer_accept(actor=second_rep, transfer=transfer)
    with pytest.raises(ValidationError, match="already"):
        transfer_decline(actor=second_rep, transfer=transfer, reason="No")
    with pytest.raises(ValidationError, match="already"):
        transfer_cancel(actor=rep, transfer=transfer)

    assert snapshot() == before


def test_deactivated_distributor_can_no_longer_move_reps_stock(
    distributor, rep, second_rep, rep_units
):
    distributor.is_active = False
    distributor.save(update_fields=["is_active"])
    forget_actor(distributor)

    with pytest.raises(ValidationError, match="was not found"):
        send(distributor, rep_units[:1], second_rep)


def test_product_create_takes_only_the_products_own_details(admin_user):
    from inventory.services.catalog import product_create

    with pytest.raises(TypeError):
        product_create(
            actor=admin_user,
            catalog_number="K-1",
            description="Knee",
            manufacturer="Acme",
            organization_id=0,
        )
    product = product_create(
        actor=admin_user, catalog_number="K-1", description="Knee", manufacturer="Acme"
    )
    assert (product.organization_id, product.gtin) == (admin_user.organization_id, None)
