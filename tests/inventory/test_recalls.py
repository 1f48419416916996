"""Recalls: recording quarantines what the recall names (custody unchanged), pending transfers
cannot be accepted, quarantine blocks use and transfer but not a return to organization
custody, allocated units stay on their cases, and return and withdrawal (README, "Recalls and
par levels"). Every test ends with the ledger agreeing with the units."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification, NotificationKind
from events.models import EventStatus
from events.services.events import event_submit
from events.services.usage import event_unmark
from inventory.models import CustodyEntry, EntryKind, Recall, RecallUnit, Unit, UnitState
from inventory.selectors.recalls import recall_progress
from inventory.services.ledger import lock_units
from inventory.services.recalls import (
    recall_recipients,
    recall_record,
    recall_return,
    recall_withdraw,
)
from inventory.services.transfers import (
    transfer_accept,
    transfer_cancel,
    transfer_create,
    transfer_decline,
)
from tests.events.factories import FacilityFactory, PhysicianFactory, mark_used, open_event
from tests.factories import RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units
from tests.taskqueue import run_worker

TODAY = datetime.date(2026, 3, 1)


def refused(call, error=ValidationError):
    with pytest.raises(error) as info:
        call()
    return " ".join(getattr(info.value, "messages", [str(info.value)]))


def fresh(*units):
    return [Unit.objects.get(pk=u.pk) for u in units]


def states(*units):
    return [u.state for u in fresh(*units)]


def record(admin, product, lots=(), serials=(), reference="R-2026-01", **extra):
    return recall_record(
        actor=admin,
        reference=reference,
        reason="Sterile barrier may be breached",
        recall_class=extra.pop("recall_class", "II"),
        product=product,
        lot_numbers=lots,
        serial_numbers=serials,
        recall_date=TODAY,
        **extra,
    )


@pytest.fixture
def product(org):
    return ProductFactory(organization=org, lot_tracked=True)


@pytest.fixture
def world(org, admin_user, distributor, rep, product):
    """Lot BAD spread over the distributor, her rep and organization custody; lot GOOD too."""
    bad = {
        "dana": receive_units(admin_user, distributor, n=2, product=product, lot_number="BAD"),
        "riley": receive_units(admin_user, rep, n=2, product=product, lot_number="BAD"),
        "org": receive_units(admin_user, None, n=1, product=product, lot_number="BAD"),
    }
    good = receive_units(admin_user, rep, n=1, product=product, lot_number="GOOD")
    return {"bad": bad, "good": good}


def test_recording_quarantines_every_affected_unit_and_keeps_custody(admin_user, product, world):
    affected = [u for units in world["bad"].values() for u in units]
    custodians = [u.custodian_id for u in affected]

    recall = record(admin_user, product, lots=["BAD"])

    assert states(*affected) == [UnitState.QUARANTINED] * 5
    assert [u.custodian_id for u in fresh(*affected)] == custodians
    assert states(*world["good"]) == [UnitState.AVAILABLE]
    entries = CustodyEntry.objects.filter(kind=EntryKind.QUARANTINED)
    assert entries.count() == 5
    assert set(entries.values_list("recall_id", flat=True)) == {recall.pk}
    assert all(f"Recall {recall.reference}" in e.note for e in entries)
    assert RecallUnit.objects.filter(recall=recall).count() == 5
    assert ledger_problems() == []


def test_a_recall_by_serial_names_only_those_serials(admin_user, distributor, org):
    serial_product = ProductFactory(organization=org, serial_tracked=True)
    units = receive_units(admin_user, distributor, n=3, product=serial_product, serial_prefix="X")

    record(admin_user, serial_product, serials=["X2"])

    assert states(*units) == [UnitState.AVAILABLE, UnitState.QUARANTINED, UnitState.AVAILABLE]


def test_a_recall_of_another_product_with_the_same_lot_leaves_the_lot_alone(
    admin_user, org, product, world
):
    other = ProductFactory(organization=org, lot_tracked=True)
    record(admin_user, other, lots=["BAD"])
    assert set(states(*world["bad"]["dana"])) == {UnitState.AVAILABLE}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"reference": " "}, "reference"),
        ({"reason": ""}, "reason"),
        ({"recall_class": "IV"}, "recall_class"),
        ({"lot_numbers": [], "serial_numbers": []}, "lot_numbers"),
    ],
)
def test_bad_recall_input_is_refused_by_field_and_changes_nothing(
    admin_user, product, world, change, field
):
    args = {
        "actor": admin_user,
        "reference": "R-1",
        "reason": "Why",
        "recall_class": "I",
        "product": product,
        "lot_numbers": ["BAD"],
        "serial_numbers": [],
        "recall_date": TODAY,
        **change,
    }
    with pytest.raises(ValidationError) as info:
        recall_record(**args)
    assert field in info.value.message_dict
    assert not Recall.objects.exists()
    assert set(states(*world["bad"]["dana"])) == {UnitState.AVAILABLE}


def test_a_reference_is_used_once_regardless_of_case(admin_user, product, world):
    record(admin_user, product, lots=["BAD"], reference="R-7")
    message = refused(lambda: record(admin_user, product, lots=["GOOD"], reference="r-7"))
    assert "already recorded" in message


def test_a_product_of_another_organization_is_refused(admin_user, world):
    stranger = ProductFactory(lot_tracked=True)
    with pytest.raises(ValidationError) as info:
        record(admin_user, stranger, lots=["BAD"])
    assert "product" in info.value.message_dict


@pytest.mark.parametrize("who", ["distributor", "rep"])
def test_only_an_admin_records_a_recall(request, product, world, who):
    actor = request.getfixturevalue(who)
    refused(lambda: record(actor, product, lots=["BAD"]), PermissionDenied)
    assert not Recall.objects.exists()


def test_holders_and_representatives_of_open_cases_are_told(
    admin_user, distributor, rep, org, product, django_capture_on_commit_callbacks
):
    (on_case,) = receive_units(admin_user, distributor, n=1, product=product, lot_number="BAD")
    (with_rep,) = receive_units(admin_user, rep, n=1, product=product, lot_number="BAD")
    other_rep = RepFactory(organization=org, assigned_to=distributor)
    (used,) = receive_units(admin_user, other_rep, n=1, product=product, lot_number="BAD")
    case = open_event(other_rep)
    mark_used(other_rep, case, [used])
    bystander = RepFactory(organization=org)
    receive_units(admin_user, bystander, n=1, product=product, lot_number="GOOD")
    # A case submitted long ago: its unit is consumed; its representative holds nothing of it.
    past_rep = RepFactory(organization=org)
    (consumed,) = receive_units(admin_user, past_rep, n=1, product=product, lot_number="BAD")
    past = open_event(past_rep)
    mark_used(past_rep, past, [consumed])
    event_submit(actor=past_rep, event=past)

    with django_capture_on_commit_callbacks(execute=True):
        recall = record(admin_user, product, lots=["BAD"])

    recipients = recall_recipients(recall=recall, units=fresh(on_case, with_rep, used, consumed))
    assert {u.pk for u in recipients} == {distributor.pk, rep.pk, other_rep.pk}
    told = Notification.objects.filter(kind=NotificationKind.RECALL, recall_id=recall.pk)
    assert sorted(told.values_list("user_id", flat=True)) == sorted(
        u.pk for u in (distributor, rep, other_rep)
    )
    run_worker()  # email leaves through the job queue
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        u.email for u in (distributor, rep, other_rep)
    )
    assert all(recall.reference in m.subject for m in mail.outbox)


# --- What quarantine blocks ----------------------------------------------------------------------


def test_a_quarantined_unit_cannot_be_marked_used_and_the_refusal_names_the_recall(
    admin_user, rep, product, world
):
    unit = world["bad"]["riley"][0]
    record(admin_user, product, lots=["BAD"], reference="R-55", recall_class="I")
    case = open_event(rep)

    message = refused(lambda: mark_used(rep, case, [unit]))

    assert "quarantined under recall R-55 (Class I)" in message
    assert states(unit) == [UnitState.QUARANTINED]
    assert ledger_problems() == []


def test_a_quarantined_unit_cannot_be_sold_on_a_stocking_order(
    admin_user, distributor, product, world
):
    unit = world["bad"]["dana"][0]
    record(admin_user, product, lots=["BAD"], reference="R-56")
    order = open_event(distributor, type="stocking_order")
    assert "recall R-56" in refused(lambda: mark_used(distributor, order, [unit]))


def test_a_quarantined_unit_cannot_be_transferred_to_a_person(
    admin_user, distributor, rep, product, world
):
    unit = world["bad"]["riley"][0]
    record(admin_user, product, lots=["BAD"], reference="R-57")
    message = refused(lambda: transfer_create(actor=rep, unit_ids=[unit.pk], recipient=distributor))
    assert "recall R-57" in message
    assert states(unit) == [UnitState.QUARANTINED]


def test_a_quarantined_unit_goes_back_to_organization_custody_and_stays_quarantined(
    admin_user, rep, product, world
):
    unit = world["bad"]["riley"][0]
    record(admin_user, product, lots=["BAD"])

    (transfer,) = transfer_create(actor=rep, unit_ids=[unit.pk], recipient=None)

    (unit,) = fresh(unit)
    assert (unit.custodian_id, unit.state) == (None, UnitState.QUARANTINED)
    assert transfer.status == "completed"
    assert ledger_problems() == []


def test_recalled_and_good_units_do_not_travel_back_together(admin_user, rep, product, world):
    unit, good = world["bad"]["riley"][0], world["good"][0]
    record(admin_user, product, lots=["BAD"])
    message = refused(
        lambda: transfer_create(actor=rep, unit_ids=[unit.pk, good.pk], recipient=None)
    )
    assert "on their own transfer" in message


# --- Pending transfers -----------------------------------------------------------------------


@pytest.fixture
def pending(org, admin_user, rep, product, world):
    """Riley sends two BAD units to another rep (pending), then the recall is recorded."""
    other = RepFactory(organization=org)
    units = world["bad"]["riley"]
    (transfer,) = transfer_create(actor=rep, unit_ids=[u.pk for u in units], recipient=other)
    recall = record(admin_user, product, lots=["BAD"], reference="R-60")
    return {"transfer": transfer, "units": units, "other": other, "recall": recall}


def test_a_pending_transfer_with_a_recalled_unit_cannot_be_accepted(pending):
    assert states(*pending["units"]) == [UnitState.IN_TRANSIT] * 2
    message = refused(lambda: transfer_accept(actor=pending["other"], transfer=pending["transfer"]))
    assert "recall R-60" in message
    assert states(*pending["units"]) == [UnitState.IN_TRANSIT] * 2


def test_cancelling_it_quarantines_the_units_with_the_sender(rep, pending):
    transfer_cancel(actor=rep, transfer=pending["transfer"])
    assert states(*pending["units"]) == [UnitState.QUARANTINED] * 2
    assert {u.custodian_id for u in fresh(*pending["units"])} == {rep.pk}
    assert ledger_problems() == []


def test_declining_it_quarantines_the_units(rep, pending):
    transfer_decline(actor=pending["other"], transfer=pending["transfer"], reason="no")
    assert states(*pending["units"]) == [UnitState.QUARANTINED] * 2
    last = CustodyEntry.objects.filter(unit=pending["units"][0]).order_by("-sequence").first()
    assert (last.kind, last.recall_id) == (EntryKind.QUARANTINED, pending["recall"].pk)
    assert ledger_problems() == []


# --- Allocated units -------------------------------------------------------------------------


@pytest.fixture
def allocated(org, admin_user, rep, product, world):
    physician = PhysicianFactory(organization=org, name="Dr. Hale")
    case = open_event(rep, physician=physician, facility=FacilityFactory(organization=org))
    unit = world["bad"]["riley"][0]
    mark_used(rep, case, [unit])
    recall = record(admin_user, product, lots=["BAD"], reference="R-70")
    return {"case": case, "unit": unit, "recall": recall}


def test_an_allocated_unit_is_listed_for_action_never_pulled(admin_user, allocated):
    assert states(allocated["unit"]) == [UnitState.ALLOCATED]
    progress = recall_progress(recall=allocated["recall"], user=admin_user)
    assert [c.event_id for c in progress.open_cases] == [allocated["case"].pk]
    assert progress.surgeons == ["Dr. Hale"]


def test_the_case_can_still_be_submitted(rep, allocated):
    case = event_submit(actor=rep, event=allocated["case"])
    assert case.status == EventStatus.SUBMITTED
    assert states(allocated["unit"]) == [UnitState.INACTIVE]
    assert ledger_problems() == []


def test_unmarking_a_recalled_unit_quarantines_it(rep, allocated):
    event_unmark(actor=rep, event=allocated["case"], unit_ids=[allocated["unit"].pk])
    assert states(allocated["unit"]) == [UnitState.QUARANTINED]
    assert ledger_problems() == []


# --- Return and withdrawal -------------------------------------------------------------------


def test_an_admin_returns_every_quarantined_unit_in_one_action(admin_user, product, world):
    recall = record(admin_user, product, lots=["BAD"])
    affected = [u for units in world["bad"].values() for u in units]
    custodians = [u.custodian_id for u in affected]

    shipment = recall_return(actor=admin_user, recall=recall, reference="RMA-9", returned_on=TODAY)

    assert states(*affected) == [UnitState.INACTIVE] * 5
    assert [u.custodian_id for u in fresh(*affected)] == custodians
    assert shipment.units.count() == 5
    assert CustodyEntry.objects.filter(kind=EntryKind.RETURNED, recall=recall).count() == 5
    progress = recall_progress(recall=recall, user=admin_user)
    assert (progress.found, progress.quarantined, progress.returned) == (5, 0, 5)
    assert [(r.reference, r.unit_count) for r in progress.returns] == [("RMA-9", 5)]
    assert ledger_problems() == []


def test_returning_a_unit_the_recall_does_not_name_is_refused_as_not_found(
    admin_user, product, world
):
    recall = record(admin_user, product, lots=["BAD"])
    good = world["good"][0]
    message = refused(
        lambda: recall_return(
            actor=admin_user,
            recall=recall,
            reference="RMA",
            returned_on=TODAY,
            unit_ids=[good.pk],
        )
    )
    assert "not found" in message
    assert states(good) == [UnitState.AVAILABLE]


def test_returning_a_unit_the_recall_found_but_did_not_quarantine_is_refused(
    admin_user, rep, product, world
):
    used = world["bad"]["riley"][0]
    mark_used(rep, open_event(rep), [used])
    recall = record(admin_user, product, lots=["BAD"])
    message = refused(
        lambda: recall_return(
            actor=admin_user, recall=recall, reference="RMA", returned_on=TODAY, unit_ids=[used.pk]
        )
    )
    assert f"{used.label} is not quarantined under recall" in message
    assert states(used) == [UnitState.ALLOCATED]


def test_returning_an_empty_selection_is_refused(admin_user, product, world):
    recall = record(admin_user, product, lots=["BAD"])
    message = refused(
        lambda: recall_return(
            actor=admin_user, recall=recall, reference="RMA", returned_on=TODAY, unit_ids=[]
        )
    )
    assert "Select at least one" in message
    assert set(states(*world["bad"]["dana"])) == {UnitState.QUARANTINED}


def test_only_an_admin_returns(distributor, admin_user, product, world):
    recall = record(admin_user, product, lots=["BAD"])
    refused(
        lambda: recall_return(actor=distributor, recall=recall, reference="RMA", returned_on=TODAY),
        PermissionDenied,
    )


def test_withdrawing_puts_each_unit_back_in_its_previous_state(
    admin_user, distributor, rep, org, product, world
):
    held = world["bad"]["dana"][1]
    other = RepFactory(organization=org)
    (transfer,) = transfer_create(actor=distributor, unit_ids=[held.pk], recipient=other)
    transfer_decline(actor=other, transfer=transfer, reason="wrong size")
    assert states(held) == [UnitState.HOLD]
    recall = record(admin_user, product, lots=["BAD"])

    recall_withdraw(actor=admin_user, recall=recall, reason="Wrong lot on the notice")

    assert states(held) == [UnitState.HOLD]
    assert states(world["bad"]["dana"][0], *world["bad"]["riley"]) == [UnitState.AVAILABLE] * 3
    assert CustodyEntry.objects.filter(kind=EntryKind.RECALL_WITHDRAWN).count() == 5
    recall.refresh_from_db()
    assert recall.status == Recall.Status.WITHDRAWN
    # A withdrawn recall blocks nothing any more.
    case = open_event(rep)
    mark_used(rep, case, [world["bad"]["riley"][0]])
    assert ledger_problems() == []


def test_a_unit_another_active_recall_names_stays_quarantined(admin_user, product, world):
    first = record(admin_user, product, lots=["BAD"], reference="R-A")
    record(admin_user, product, lots=["BAD"], reference="R-B")
    recall_withdraw(actor=admin_user, recall=first, reason="duplicate")
    assert set(states(*world["bad"]["dana"])) == {UnitState.QUARANTINED}
    message = refused(
        lambda: transfer_create(
            actor=admin_user,
            unit_ids=[world["bad"]["dana"][0].pk],
            recipient=UserFactory(organization=admin_user.organization, distributor=True),
        )
    )
    assert "recall R-B" in message


def test_a_reusable_recalled_unit_back_from_a_submitted_case_is_quarantined(org, admin_user, rep):
    instrument = ProductFactory(organization=org, lot_tracked=True, single_use=False)
    (unit,) = receive_units(admin_user, rep, n=1, product=instrument, lot_number="BAD")
    case = open_event(rep)
    mark_used(rep, case, [unit])
    record(admin_user, instrument, lots=["BAD"])

    event_submit(actor=rep, event=case)

    assert states(unit) == [UnitState.QUARANTINED]
    assert ledger_problems() == []


def test_a_unit_of_another_organization_is_not_found_and_not_named(admin_user, product, world):
    recall = record(admin_user, product, lots=["BAD"])
    stranger = UserFactory(admin=True)
    foreign_product = ProductFactory(organization=stranger.organization, lot_tracked=True)
    (foreign,) = receive_units(stranger, None, n=1, product=foreign_product, lot_number="SECRET")
    message = refused(
        lambda: recall_return(
            actor=admin_user,
            recall=recall,
            reference="RMA",
            returned_on=TODAY,
            unit_ids=[foreign.pk, world["bad"]["dana"][0].pk],
        )
    )
    assert "not found" in message
    assert "SECRET" not in message and foreign.label not in message
    assert states(foreign, world["bad"]["dana"][0]) == [UnitState.AVAILABLE, UnitState.QUARANTINED]


def test_lock_units_never_locks_another_organizations_units(admin_user, product, world):
    stranger = UserFactory(admin=True)
    foreign_product = ProductFactory(organization=stranger.organization, lot_tracked=True)
    (foreign,) = receive_units(stranger, None, n=1, product=foreign_product, lot_number="X")
    mine = world["good"][0]
    locked = lock_units([foreign.pk, mine.pk], organization_id=admin_user.organization_id)
    assert [u.pk for u in locked] == [mine.pk]


@pytest.mark.parametrize("order", ["first-then-second", "second-then-first"])
def test_withdrawing_two_overlapping_recalls_restores_each_unit(admin_user, product, world, order):
    first = record(admin_user, product, lots=["BAD"], reference="R-A")
    second = record(admin_user, product, lots=["BAD"], reference="R-B")
    for recall in (first, second) if order == "first-then-second" else (second, first):
        recall_withdraw(actor=admin_user, recall=recall, reason="duplicate")
    assert set(states(*world["bad"]["dana"], *world["bad"]["riley"])) == {UnitState.AVAILABLE}
    assert ledger_problems() == []


def test_withdrawing_a_later_recall_restores_the_state_before_an_earlier_ones_quarantine(
    admin_user, distributor, org, product, world
):
    held = world["bad"]["dana"][1]
    other = RepFactory(organization=org)
    (transfer,) = transfer_create(actor=distributor, unit_ids=[held.pk], recipient=other)
    transfer_decline(actor=other, transfer=transfer, reason="wrong size")
    first = record(admin_user, product, lots=["BAD"], reference="R-A")
    second = record(admin_user, product, lots=["BAD"], reference="R-B")
    recall_withdraw(actor=admin_user, recall=first, reason="duplicate")
    recall_withdraw(actor=admin_user, recall=second, reason="duplicate")
    assert states(held) == [UnitState.HOLD]
    assert ledger_problems() == []


def test_each_recall_recipient_can_open_the_link_they_are_sent(
    client, admin_user, distributor, rep, org, product
):
    receive_units(admin_user, distributor, n=1, product=product, lot_number="BAD")
    (with_rep,) = receive_units(admin_user, rep, n=1, product=product, lot_number="BAD")
    other_rep = RepFactory(organization=org, assigned_to=distributor)
    (used,) = receive_units(admin_user, other_rep, n=1, product=product, lot_number="BAD")
    case = open_event(other_rep)
    mark_used(other_rep, case, [used])

    recall = record(admin_user, product, lots=["BAD"])

    told = Notification.objects.filter(kind=NotificationKind.RECALL, recall_id=recall.pk)
    assert told.count() == 3
    for note in told.select_related("user"):
        client.force_login(note.user)
        response = client.get(note.url)
        assert response.status_code == 200, (note.user.role, note.url)
    by_user = {n.user_id: n.url for n in told}
    # The rep whose open case used a unit lands on that case; a holding rep on her quarantine.
    assert by_user[other_rep.pk].endswith(f"/{case.pk}/")
    client.force_login(rep)
    rep_page = client.get(by_user[rep.pk])
    assert with_rep.pk in {u.pk for u in rep_page.context["page"].rows}


def test_withdrawing_the_last_recall_naming_a_unit_frees_it_though_another_quarantined_it(
    admin_user, product, world
):
    first = record(admin_user, product, lots=["BAD"], reference="R-A")
    second = record(admin_user, product, lots=["BAD"], reference="R-B")  # already quarantined
    recall_withdraw(actor=admin_user, recall=first, reason="duplicate")
    recall_withdraw(actor=admin_user, recall=second, reason="wrong lot too")
    assert set(states(*world["bad"]["dana"])) == {UnitState.AVAILABLE}
    assert ledger_problems() == []
