"""Marks made on a phone without signal, replayed to /offline/sync/ later: each applied once,
judged on the state at sync (never on what the phone saw), answered the same on every replay,
and a refusal told to the distributor who keeps the pool."""

import datetime
import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, NotificationKind
from accounts.services import group_set_pooling
from events.forms import MAX_SYNC_OPERATIONS
from events.models import ClientOperation, EventLine, EventStatus
from events.services import offline
from events.services.events import event_submit
from events.services.offline import (
    NO_LONGER_USABLE,
    NOT_YOURS,
    ClientOp,
    client_operation_apply,
)
from events.services.usage import event_unmark
from inventory.models import CustodyEntry, EntryKind, LabelMismatch, Unit, UnitState
from inventory.services.locations import units_move
from inventory.services.recalls import recall_record
from tests.events.factories import FacilityFactory, mark_used, open_event
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import (
    LocationFactory,
    ProductFactory,
    ledger_problems,
    receive_units,
)

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"
PHONE_TIME = datetime.datetime(2026, 3, 2, 9, 41, 7, tzinfo=datetime.UTC)


@pytest.fixture
def world(org, admin_user):
    dana = DistributorFactory(organization=org, display_name="Dana")
    riley = RepFactory(organization=org, assigned_to=dana, display_name="Riley")
    sam = RepFactory(organization=org, assigned_to=dana, display_name="Sam")
    group_set_pooling(actor=admin_user, group=dana.distributor_group, enabled=True)
    facility = FacilityFactory(organization=org)
    product = ProductFactory(organization=org, gtin=GTIN)
    return {
        "admin": admin_user,
        "dana": dana,
        "riley": riley,
        "sam": sam,
        "product": product,
        "own": receive_units(
            admin_user, riley, n=2, product=product, serial_prefix="R-", lot_number="L1"
        ),
        "pool": receive_units(
            admin_user, dana, n=2, product=product, serial_prefix="D-", lot_number="L2"
        ),
        "rileys_case": open_event(riley, facility=facility, name="Riley's knee"),
        "sams_case": open_event(sam, facility=facility, name="Sam's hip"),
    }


def op(unit, event, *, kind="mark_used", label="", how="list", at=PHONE_TIME, id=None):
    """One operation as the phone queues it."""
    return {
        "id": str(id or uuid.uuid4()),
        "kind": kind,
        "event": event.pk,
        "unit": unit.pk,
        "label": label,
        "how": how,
        "at": at.isoformat() if at else None,
    }


def sync(client, *ops, raw=None):
    body = raw if raw is not None else json.dumps({"operations": list(ops)})
    return client.post(reverse("events:offline_sync"), data=body, content_type="application/json")


def results(client, *ops):
    response = sync(client, *ops)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def signed_in(client, user):
    client.force_login(user)
    return client


def state(unit):
    unit.refresh_from_db()
    return unit.custodian_id, unit.state


def conflicts(user):
    return list(Notification.objects.filter(user=user, kind=NotificationKind.OFFLINE_CONFLICT))


# --- applied --------------------------------------------------------------------------------


def test_an_offline_mark_is_applied_at_sync_with_the_phones_time_kept_apart(client, world):
    riley, case, (unit, _) = world["riley"], world["rileys_case"], world["own"]
    sent = op(unit, case)
    before = timezone.now()

    (answer,) = results(signed_in(client, riley), sent)

    assert answer == {
        "id": sent["id"],
        "status": "applied",
        "kind": "mark_used",
        "unit": unit.pk,
        "message": "R-1 marked used on Riley's knee.",
        "warning": "",
    }
    assert state(unit) == (riley.pk, UnitState.ALLOCATED)
    entry = CustodyEntry.objects.get(unit=unit, kind=EntryKind.MARKED_USED)
    assert entry.reported_at == PHONE_TIME
    assert entry.at >= before
    assert (entry.event_id, entry.actor_id, entry.identified_by) == (case.pk, riley.pk, "list")
    row = ClientOperation.objects.get(pk=sent["id"])
    assert (row.user_id, row.event_id, row.unit_id, row.status) == (
        riley.pk,
        case.pk,
        unit.pk,
        "applied",
    )
    assert (row.reported_at, row.how, row.answer) == (PHONE_TIME, "list", answer)
    assert conflicts(world["dana"]) == []
    assert ledger_problems() == []


def test_an_expiry_warning_comes_back_with_the_applied_answer(client, world):
    (unit,) = receive_units(
        world["admin"],
        world["riley"],
        n=1,
        serial_prefix="SOON-",
        expiration_date=timezone.localdate() + datetime.timedelta(days=10),
    )

    (answer,) = results(signed_in(client, world["riley"]), op(unit, world["rileys_case"]))

    assert answer["status"] == "applied"
    assert answer["warning"].startswith("SOON-1 expires on")


def test_a_pool_unit_moved_by_its_holder_meanwhile_is_still_marked(client, world):
    dana, riley, (unit, _) = world["dana"], world["riley"], world["pool"]
    warehouse = LocationFactory(organization=dana.organization, holder=dana, name="Warehouse")
    bin_ = LocationFactory(organization=dana.organization, holder=dana, name="Bin", kind="bin")
    units_move(actor=dana, unit_ids=[unit.pk], to_location=warehouse)
    # While the rep is offline, the distributor moves it between two of her own locations.
    units_move(actor=dana, unit_ids=[unit.pk], to_location=bin_)

    (answer,) = results(signed_in(client, riley), op(unit, world["rileys_case"]))

    assert answer["status"] == "applied", answer
    assert state(unit) == (dana.pk, UnitState.ALLOCATED)
    assert ledger_problems() == []


def test_a_scanned_label_is_checked_and_says_how_the_unit_was_identified(client, world):
    (unit, _), case = world["own"], world["rileys_case"]
    label = f"(01){GTIN}(10)L1(21)R-1"

    (answer,) = results(signed_in(client, world["riley"]), op(unit, case, label=label, how="scan"))

    assert answer["status"] == "applied", answer
    entry = CustodyEntry.objects.get(unit=unit, kind=EntryKind.MARKED_USED)
    assert entry.identified_by == "scan:gs1"
    assert ClientOperation.objects.get(pk=answer["id"]).label == label


def test_a_typed_serial_is_recorded_as_typed(client, world):
    (unit, _), case = world["own"], world["rileys_case"]

    (answer,) = results(signed_in(client, world["riley"]), op(unit, case, label="r-1", how="typed"))

    assert answer["status"] == "applied", answer
    entry = CustodyEntry.objects.get(unit=unit, kind=EntryKind.MARKED_USED)
    assert entry.identified_by == "typed"


def test_an_offline_unmark_gives_the_unit_back(client, world):
    riley, case, (unit, other) = world["riley"], world["rileys_case"], world["own"]
    mark_used(riley, case, [unit])
    client = signed_in(client, riley)

    (answer,) = results(client, op(unit, case, kind="unmark"))
    (not_on_it,) = results(client, op(other, case, kind="unmark"))

    assert answer["status"] == "applied", answer
    assert answer["message"] == "R-1 unmarked on Riley's knee."
    assert state(unit) == (riley.pk, UnitState.AVAILABLE)
    assert not_on_it["status"] == "refused"
    assert not_on_it["message"] == "None of those units is marked used on this event."
    assert ledger_problems() == []


# --- replays --------------------------------------------------------------------------------


def test_replaying_the_same_operations_changes_nothing_and_answers_the_same(client, world):
    riley, sam, case = world["riley"], world["sam"], world["rileys_case"]
    (own, _), (pool, taken) = world["own"], world["pool"]
    mark_used(sam, world["sams_case"], [taken])
    ops = [op(own, case), op(taken, case), op(pool, case)]
    client = signed_in(client, riley)

    first = results(client, *ops)
    counts = (
        CustodyEntry.objects.count(),
        EventLine.objects.count(),
        ClientOperation.objects.count(),
        Notification.objects.count(),
        LabelMismatch.objects.count(),
    )
    again = results(client, *ops)

    assert [a["status"] for a in first] == ["applied", "refused", "applied"]
    assert again == first
    assert (
        CustodyEntry.objects.count(),
        EventLine.objects.count(),
        ClientOperation.objects.count(),
        Notification.objects.count(),
        LabelMismatch.objects.count(),
    ) == counts
    assert [row.answer for row in ClientOperation.objects.order_by("received_at")] == first


def test_a_refused_operation_stays_refused_after_the_unit_becomes_free(client, world):
    riley, sam = world["riley"], world["sam"]
    (_, unit), case = world["pool"], world["rileys_case"]
    mark_used(sam, world["sams_case"], [unit])
    sent = op(unit, case)
    client = signed_in(client, riley)
    (first,) = results(client, sent)

    event_unmark(actor=sam, event=world["sams_case"], unit_ids=[unit.pk])
    (again,) = results(client, sent)

    assert first["status"] == "refused"
    assert again == first
    assert state(unit) == (world["dana"].pk, UnitState.AVAILABLE)
    assert not EventLine.objects.filter(event=case).exists()


def test_the_same_id_twice_in_one_batch_is_applied_once(client, world):
    (unit, _), case = world["own"], world["rileys_case"]
    sent = op(unit, case)

    first, second = results(signed_in(client, world["riley"]), sent, sent)

    assert first["status"] == "applied"
    assert second == first
    assert CustodyEntry.objects.filter(unit=unit, kind=EntryKind.MARKED_USED).count() == 1


def test_another_users_operation_id_is_refused_and_changes_nothing(client, world):
    riley, sam = world["riley"], world["sam"]
    (unit, _), case = world["own"], world["rileys_case"]
    sent = op(unit, case)
    (rileys,) = results(signed_in(client, riley), sent)
    entries = CustodyEntry.objects.count()

    # Sam's phone sends Riley's id, for another unit of the pool on Sam's own event.
    stolen = {**sent, "event": world["sams_case"].pk, "unit": world["pool"][0].pk}
    (answer,) = results(signed_in(Client(), sam), stolen)

    assert answer == {
        "id": sent["id"],
        "status": "refused",
        "kind": "mark_used",
        "unit": world["pool"][0].pk,
        "message": NOT_YOURS,
    }
    assert CustodyEntry.objects.count() == entries
    row = ClientOperation.objects.get(pk=sent["id"])
    assert (row.user_id, row.answer) == (riley.pk, rileys)
    assert state(world["pool"][0]) == (world["dana"].pk, UnitState.AVAILABLE)
    assert conflicts(world["dana"]) == []
    # Riley's own replay still gets his answer.
    assert results(client, sent) == [rileys]


# --- judged on the state at sync --------------------------------------------------------------


def test_a_pool_unit_another_rep_used_meanwhile_is_refused_naming_who(client, world):
    sam, (unit, _) = world["sam"], world["pool"]
    mark_used(sam, world["sams_case"], [unit])

    (answer,) = results(signed_in(client, world["riley"]), op(unit, world["rileys_case"]))

    assert answer["status"] == "refused"
    assert answer["message"] == "D-1 was already marked used on “Sam's hip” by Sam."
    assert "warning" not in answer
    assert EventLine.objects.get(unit=unit).event_id == world["sams_case"].pk


def test_a_unit_recalled_meanwhile_is_refused_naming_the_recall(client, world):
    (unit, _) = world["own"]
    recall_record(
        actor=world["admin"],
        reference="RC-2417",
        reason="Sterile barrier",
        recall_class="II",
        product=world["product"],
        lot_numbers=["L1"],
        recall_date=timezone.localdate(),
    )

    (answer,) = results(signed_in(client, world["riley"]), op(unit, world["rileys_case"]))

    assert answer["status"] == "refused"
    assert "recall RC-2417" in answer["message"], answer
    assert state(unit) == (world["riley"].pk, UnitState.QUARANTINED)


def test_a_pool_unit_after_pooling_was_switched_off_is_refused(client, world):
    (unit, _) = world["pool"]
    group_set_pooling(actor=world["admin"], group=world["dana"].distributor_group, enabled=False)

    (answer,) = results(signed_in(client, world["riley"]), op(unit, world["rileys_case"]))

    assert answer["status"] == "refused"
    # Said as what happened since the phone's copy, naming nobody.
    assert answer["message"] == NO_LONGER_USABLE
    assert state(unit) == (world["dana"].pk, UnitState.AVAILABLE)
    (notice,) = conflicts(world["dana"])  # her pool: she hears of it
    assert notice.detail == f"{unit.label} (mark used): {NO_LONGER_USABLE}"


def test_a_mark_on_an_event_submitted_meanwhile_is_refused(client, world):
    riley, case, (unit, _) = world["riley"], world["rileys_case"], world["own"]
    event_submit(actor=riley, event=case)

    (answer,) = results(signed_in(client, riley), op(unit, case))

    assert answer["status"] == "refused"
    assert answer["message"] == "This event is submitted; only open events can change."
    assert state(unit) == (riley.pk, UnitState.AVAILABLE)
    case.refresh_from_db()
    assert case.status == EventStatus.SUBMITTED


def test_a_label_that_disagrees_with_the_record_is_refused_and_kept(client, world):
    riley, case, (unit, _) = world["riley"], world["rileys_case"], world["own"]
    label = f"(01){GTIN}(10)L-OTHER(21)R-1"

    (answer,) = results(signed_in(client, riley), op(unit, case, label=label, how="scan"))

    assert answer["status"] == "refused"
    assert answer["message"].startswith("the label and the record of R-1 disagree"), answer
    assert state(unit) == (riley.pk, UnitState.AVAILABLE)
    mismatch = LabelMismatch.objects.get()
    assert (mismatch.unit_id, mismatch.scanned_by_id, mismatch.where, mismatch.event_id) == (
        unit.pk,
        riley.pk,
        "mark_used",
        case.pk,
    )
    assert (mismatch.label_lot, mismatch.record_lot) == ("L-OTHER", "L1")


def test_a_label_naming_another_serial_is_refused(client, world):
    riley, case, (unit, other) = world["riley"], world["rileys_case"], world["own"]

    (answer,) = results(
        signed_in(client, riley), op(unit, case, label=f"(01){GTIN}(21)R-2", how="scan")
    )

    assert answer["status"] == "refused"
    assert answer["message"] == "no unit you can use matches this."
    assert state(unit) == state(other) == (riley.pk, UnitState.AVAILABLE)
    assert not EventLine.objects.exists()


def test_an_event_out_of_sight_is_not_found_whether_or_not_it_exists(client, world):
    other_org = OrganizationFactory()
    elsewhere = open_event(RepFactory(organization=other_org))
    (unit, _) = world["own"]
    client = signed_in(client, world["riley"])
    missing = op(unit, elsewhere)
    missing["event"] = elsewhere.pk + 1000

    hidden, absent = results(client, op(unit, elsewhere), missing)

    assert hidden["message"] == absent["message"] == "That event was not found."
    assert hidden["status"] == absent["status"] == "refused"
    assert list(ClientOperation.objects.values_list("event_id", flat=True)) == [None, None]
    assert conflicts(world["dana"]) == []


def test_one_refusal_never_undoes_another_operation_of_the_batch(client, world):
    riley, case = world["riley"], world["rileys_case"]
    (own, spare), (taken, _) = world["own"], world["pool"]
    mark_used(world["sam"], world["sams_case"], [taken])

    answers = results(signed_in(client, riley), op(own, case), op(taken, case), op(spare, case))

    assert [a["status"] for a in answers] == ["applied", "refused", "applied"]
    assert set(EventLine.objects.filter(event=case).values_list("unit_id", flat=True)) == {
        own.pk,
        spare.pk,
    }


# --- the distributor hears of conflicts ---------------------------------------------------------


def test_a_refusal_notifies_the_reps_distributor(client, world):
    dana, riley, sam = world["dana"], world["riley"], world["sam"]
    (unit, _), case = world["pool"], world["rileys_case"]
    mark_used(sam, world["sams_case"], [unit])

    (answer,) = results(signed_in(client, riley), op(unit, case))

    (notice,) = conflicts(dana)
    assert notice.summary == "A mark Riley made offline on Riley's knee refused at sync"
    assert notice.detail == f"D-1 (mark used): {answer['message']}"
    assert notice.url == reverse("events:mark_used", args=[case.pk])
    assert (notice.event_id, notice.actor_id) == (case.pk, riley.pk)
    assert conflicts(riley) == conflicts(sam) == []


def test_a_refused_unmark_is_told_too_and_applied_marks_are_not(client, world):
    dana, riley, case, (unit, other) = (
        world["dana"],
        world["riley"],
        world["rileys_case"],
        world["own"],
    )

    results(signed_in(client, riley), op(unit, case))
    assert conflicts(dana) == []
    results(client, op(other, case, kind="unmark"))

    (notice,) = conflicts(dana)
    assert notice.summary == "A mark Riley made offline on Riley's knee refused at sync"
    assert notice.detail.startswith("R-2 (unmark): ")


def test_a_rep_without_a_distributor_leaves_nobody_to_tell(client, world):
    loner = RepFactory(organization=world["dana"].organization)
    (unit,) = receive_units(world["admin"], loner, n=1, serial_prefix="L-")
    case = open_event(loner)
    event_submit(actor=loner, event=case)

    (answer,) = results(signed_in(client, loner), op(unit, case))

    assert answer["status"] == "refused"
    assert not Notification.objects.filter(kind=NotificationKind.OFFLINE_CONFLICT).exists()


def test_the_service_takes_a_plain_dict_and_answers_what_it_stored(world):
    riley, case, (unit, _) = world["riley"], world["rileys_case"], world["own"]
    sent = {
        "id": uuid.uuid4(),
        "kind": "mark_used",
        "event_id": case.pk,
        "unit_id": unit.pk,
        "label": "",
        "how": "list",
        "reported_at": PHONE_TIME,
    }

    answer = client_operation_apply(actor=riley, op=sent)

    assert answer["status"] == "applied"
    assert ClientOperation.objects.get(pk=sent["id"]).answer == answer
    assert client_operation_apply(actor=riley, op=ClientOp(**sent)) == answer


# --- what the endpoint refuses to read ----------------------------------------------------------


def nothing_stored():
    return not ClientOperation.objects.exists() and not EventLine.objects.exists()


@pytest.mark.parametrize(
    "raw",
    ["not json", "[]", '{"operations": "all"}', '{"ops": []}', b"\xff\xfe", "[" * 5000],
    ids=["text", "a list", "operations not a list", "no operations", "not utf-8", "deep"],
)
def test_a_body_that_is_not_the_shape_is_a_400_with_a_message(client, world, raw):
    response = sync(signed_in(client, world["riley"]), raw=raw)

    assert response.status_code == 400
    assert response.json()["message"]
    assert nothing_stored()


def test_more_operations_than_the_limit_are_refused_whole(client, world):
    (unit, _), case = world["own"], world["rileys_case"]
    ops = [op(unit, case) for _ in range(MAX_SYNC_OPERATIONS + 1)]

    response = sync(signed_in(client, world["riley"]), *ops)

    assert response.status_code == 400
    assert f"At most {MAX_SYNC_OPERATIONS} operations" in response.json()["message"]
    assert nothing_stored()
    assert len(results(client, *ops[:MAX_SYNC_OPERATIONS])) == MAX_SYNC_OPERATIONS


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": "not-a-uuid"}, "id: Enter a valid UUID."),
        ({"kind": "consume"}, "kind: Select a valid choice."),
        ({"how": "telepathy"}, "how: Select a valid choice."),
        ({"event": "twelve"}, "event: Enter a whole number."),
        ({"unit": 2**64}, "unit: Ensure this value is less than or equal to"),
        ({"unit": True}, "unit: Enter a whole number."),
        ({"at": "yesterday-ish"}, "at: Enter a valid date/time."),
        ({"label": "x" * 501}, "label: Ensure this value has at most 500 characters"),
        ({"label": ["R-1"]}, "label: Send this as text."),
        ({"label": "R-\x001"}, "label: Null characters are not allowed."),
    ],
    ids=[
        "bad uuid",
        "bad kind",
        "bad how",
        "event not a number",
        "huge unit",
        "unit true",
        "unparsable time",
        "label too long",
        "label a list",
        "label with NUL",
    ],
)
def test_an_operation_of_the_wrong_shape_is_invalid_and_stored_nowhere(
    client, world, change, reason
):
    (unit, other), case = world["own"], world["rileys_case"]
    bad = {**op(unit, case), **change}

    answers = results(signed_in(client, world["riley"]), bad, op(other, case))

    assert answers[0]["status"] == "invalid"
    assert answers[0]["id"] == bad["id"]
    assert reason in answers[0]["message"], answers[0]
    assert answers[1]["status"] == "applied"
    assert list(ClientOperation.objects.values_list("unit_id", flat=True)) == [other.pk]
    assert state(unit) == (world["riley"].pk, UnitState.AVAILABLE)


def test_an_operation_that_is_not_an_object_is_invalid(client, world):
    (answer,) = results(signed_in(client, world["riley"]), "mark R-1")

    assert answer == {
        "id": None,
        "status": "invalid",
        "message": "An operation is an object with id, kind, event, unit, how and at.",
    }
    assert nothing_stored()


def test_signed_out_is_a_401_in_json_never_the_login_page(client, world):
    (unit, _) = world["own"]

    response = sync(client, op(unit, world["rileys_case"]))

    assert response.status_code == 401
    assert response.json() == {"signed_out": True, "message": "Sign in again to sync."}
    assert nothing_stored()


def test_the_sync_needs_the_csrf_token_the_session_endpoint_gives(world):
    (unit, _), case = world["own"], world["rileys_case"]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world["riley"])

    refused = sync(browser, op(unit, case))
    assert refused.status_code == 403
    assert nothing_stored()

    session = browser.get(reverse("events:offline_session"))
    assert session["Cache-Control"] == "no-store"
    assert session.json()["user"] == world["riley"].pk
    response = browser.post(
        reverse("events:offline_sync"),
        data=json.dumps({"operations": [op(unit, case)]}),
        content_type="application/json",
        headers={"X-CSRFToken": session.json()["csrf"]},
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "applied"


def test_the_session_endpoint_says_who_is_signed_in(client, world):
    anonymous = client.get(reverse("events:offline_session"))
    # Signed out: no token, and no new CSRF cookie that would void a login form in another tab.
    assert anonymous.json() == {"user": None, "csrf": ""}
    assert "csrftoken" not in anonymous.cookies

    signed_in(client, world["sam"])
    assert client.get(reverse("events:offline_session")).json()["user"] == world["sam"].pk


def test_a_user_of_no_organization_is_refused_in_json(client, world):
    nobody = UserFactory(organization=None)
    (unit, _) = world["own"]

    response = sync(signed_in(client, nobody), op(unit, world["rileys_case"]))

    assert response.status_code == 403
    assert nothing_stored()


def test_a_get_of_the_sync_is_not_allowed(client, world):
    assert signed_in(client, world["riley"]).get(reverse("events:offline_sync")).status_code == 405
    assert Unit.objects.filter(state=UnitState.ALLOCATED).count() == 0


def test_a_batch_of_conflicts_on_one_event_is_one_notification_listing_each(client, world):
    dana, riley, case = world["dana"], world["riley"], world["rileys_case"]
    units = receive_units(world["admin"], riley, n=3, serial_prefix="B-")
    event_submit(actor=riley, event=case)

    answers = results(signed_in(client, riley), *(op(u, case) for u in units))

    assert [a["status"] for a in answers] == ["refused"] * 3
    (notice,) = conflicts(dana)
    assert notice.summary == "3 marks Riley made offline on Riley's knee refused at sync"
    assert [line.split(" ")[0] for line in notice.detail.splitlines()] == ["B-1", "B-2", "B-3"]


def test_an_id_naming_nothing_of_the_distributors_tells_her_nothing(client, world):
    (stranger,) = receive_units(custodian=RepFactory(organization=OrganizationFactory()))
    answers = results(signed_in(client, world["riley"]), op(stranger, world["rileys_case"]))
    assert answers[0]["status"] == "refused"
    assert conflicts(world["dana"]) == []


def test_one_operation_that_fails_is_answered_error_stores_nothing_and_blocks_no_other(
    client, world, monkeypatch
):
    riley, case, (unit, spare) = world["riley"], world["rileys_case"], world["own"]
    real = offline.event_mark_used

    def failing(**kwargs):
        if kwargs["unit_ids"] == [unit.pk]:
            raise RuntimeError("a bug")
        return real(**kwargs)

    monkeypatch.setattr(offline, "event_mark_used", failing)
    first, second = op(unit, case), op(spare, case)

    answers = results(signed_in(client, riley), first, second)

    assert [a["status"] for a in answers] == ["error", "applied"]
    assert "stays waiting" in answers[0]["message"]
    assert not ClientOperation.objects.filter(pk=first["id"]).exists()  # sent again later
    monkeypatch.setattr(offline, "event_mark_used", real)
    (again,) = results(client, first)
    assert again["status"] == "applied"


def test_an_operation_of_another_user_on_the_phone_is_refused_and_stored_nowhere(client, world):
    riley, sam, case, (unit, _) = world["riley"], world["sam"], world["rileys_case"], world["own"]
    made_by_sam = {**op(unit, case), "user": sam.pk}

    (answer,) = results(signed_in(client, riley), made_by_sam)

    assert answer["status"] == "wrong_user"
    assert not ClientOperation.objects.exists()
    assert not EventLine.objects.filter(event=case).exists()
    (mine,) = results(client, {**op(unit, case), "user": riley.pk})
    assert mine["status"] == "applied"


def test_an_offline_unmark_keeps_the_phones_time_on_the_ledger(client, world):
    riley, case, (unit, _) = world["riley"], world["rileys_case"], world["own"]
    mark_used(riley, case, [unit])

    (answer,) = results(signed_in(client, riley), op(unit, case, kind="unmark"))

    assert answer["status"] == "applied"
    entry = CustodyEntry.objects.filter(unit=unit).latest("sequence")
    assert (entry.kind, entry.reported_at) == (EntryKind.UNMARKED, PHONE_TIME)


def test_a_unit_that_expired_before_the_events_date_is_refused_at_sync(client, world):
    (unit,) = receive_units(
        world["admin"],
        world["riley"],
        n=1,
        serial_prefix="OLD-",
        expiration_date=timezone.localdate() - datetime.timedelta(days=3),
    )

    (answer,) = results(signed_in(client, world["riley"]), op(unit, world["rileys_case"]))

    assert answer["status"] == "refused"
    assert "expired on" in answer["message"] and "before the event's date" in answer["message"]


@pytest.mark.parametrize(
    "phone_time",
    [
        datetime.datetime(1999, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(2060, 1, 1, tzinfo=datetime.UTC),
    ],
)
def test_the_phones_clock_decides_nothing_whatever_it_says(client, world, phone_time):
    # A unit the event's date allows, whatever the phone believes the date is.
    (unit,) = receive_units(
        world["admin"],
        world["riley"],
        n=1,
        serial_prefix="CLOCK-",
        expiration_date=timezone.localdate() + datetime.timedelta(days=400),
    )

    (answer,) = results(
        signed_in(client, world["riley"]), op(unit, world["rileys_case"], at=phone_time)
    )

    assert answer["status"] == "applied"
    entry = CustodyEntry.objects.filter(unit=unit).latest("sequence")
    assert entry.reported_at == phone_time
    assert abs((entry.at - timezone.now()).total_seconds()) < 60


def test_a_long_list_of_conflicts_is_counted_not_cut_and_a_failure_to_tell_loses_no_answer(
    client, world, monkeypatch
):
    dana, riley, case = world["dana"], world["riley"], world["rileys_case"]
    units = receive_units(world["admin"], riley, n=60, serial_prefix="MANY-")
    event_submit(actor=riley, event=case)

    answers = results(signed_in(client, riley), *(op(u, case) for u in units))

    assert [a["status"] for a in answers] == ["refused"] * 60
    (notice,) = conflicts(dana)
    assert notice.summary.startswith("60 marks Riley made offline")
    *listed, more = notice.detail.splitlines()
    assert more == f"…and {60 - len(listed)} more (see the event's Mark Used page)."

    def broken(**kwargs):
        raise RuntimeError("mail is down")

    monkeypatch.setattr(offline, "notify", broken)
    extra = receive_units(world["admin"], riley, n=1, serial_prefix="ONE-")
    (answer,) = results(client, op(extra[0], case))
    assert answer["status"] == "refused"  # answered and stored all the same
    assert ClientOperation.objects.filter(unit_id=extra[0].pk, status="refused").exists()


@pytest.mark.parametrize("field,value", [("kind", "api"), ("how", "api")])
def test_a_phone_cannot_send_the_apis_kind_of_operation(client, field, value):
    """The API's Idempotency-Key records share ClientOperation; a phone's sync takes only
    marks and unmarks picked from the list, typed or scanned."""
    from events.forms import ClientOperationForm

    op = {
        "id": "5b2f0c3e-8f7a-4c51-9e0b-2d6f1a9c7e44",
        "kind": "unmark",
        "event": 1,
        "unit": 1,
        "how": "list",
    }
    op[field] = value
    assert field in ClientOperationForm(op).errors


@pytest.mark.parametrize("kind,how", [("api", "list"), ("unmark", "api")])
def test_the_service_refuses_the_apis_kind_of_operation_before_writing(db, kind, how):
    from events.models import ClientOperation
    from events.services.offline import client_operations_apply
    from tests.factories import RepFactory

    op = {
        "id": "5b2f0c3e-8f7a-4c51-9e0b-2d6f1a9c7e45",
        "kind": kind,
        "event_id": 1,
        "unit_id": 1,
        "how": how,
    }
    with pytest.raises(ValueError):
        client_operations_apply(actor=RepFactory(), ops=[op])
    assert not ClientOperation.objects.exists()
