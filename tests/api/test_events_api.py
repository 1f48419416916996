"""Events through the API: the event list's scope and filters, opening and editing through the
event form's and the services' rules, lines and usage, Mark Used with the pool and its
refusals in the rule's words, the whole life of a case, the patient reference only where the
event's page shows it, and list queries that do not grow with the rows."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Event, EventLine, EventStatus, EventType
from events.services.events import event_submit
from inventory.models import CustodyEntry, EntryKind, Unit, UnitState
from inventory.services.recalls import recall_record
from tests.api.test_transfers_api import Api, message
from tests.events.factories import (
    FacilityFactory,
    ProcedureFactory,
    days_from_today,
    mark_used,
    open_event,
    sell_to_facility,
)
from tests.factories import DistributorFactory, OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units


@pytest.fixture
def people(admin_user, pooled, distributor, rep):
    """dana (pooling on) with riley and sam; drew with casey; an admin of another org."""
    org = admin_user.organization
    drew = DistributorFactory(organization=org)
    return {
        "admin": admin_user,
        "dana": distributor,
        "riley": rep,
        "sam": RepFactory(organization=org, assigned_to=distributor, display_name="Sam"),
        "drew": drew,
        "casey": RepFactory(organization=org, assigned_to=drew),
        "other_admin": UserFactory(organization=OrganizationFactory(), admin=True),
    }


@pytest.fixture
def facility(people):
    return FacilityFactory(organization=people["admin"].organization, name="Mercy General")


@pytest.fixture
def case(people, facility):
    """riley's open Case at Mercy General, with a patient reference."""
    event = open_event(people["riley"], facility=facility, name="Riley's knee")
    Event.objects.filter(pk=event.pk).update(patient_ref="CASE-2041")
    return Event.objects.get(pk=event.pk)


def units_of(people, holder, n=1, **kwargs):
    return receive_units(people["admin"], holder, n=n, **kwargs)


def test_the_list_shows_whose_events_the_caller_may_see(client, people, facility):
    events = {
        who: open_event(people[who], facility=facility) for who in ("riley", "sam", "dana", "casey")
    }

    def listed(who, **query):
        response = Api(client, people[who]).get("api:event_list", query)
        assert response.status_code == 200, response.content
        ids = {row["id"] for row in response.json()["results"]}
        return {name for name, e in events.items() if e.pk in ids}

    assert listed("riley") == {"riley"}  # pooling shares stock, never events
    assert listed("dana") == {"riley", "sam", "dana"}
    assert listed("drew") == {"casey"}
    assert listed("admin") == set(events)
    assert listed("other_admin") == set()
    assert listed("dana", representative=people["sam"].pk) == {"sam"}
    assert listed("admin", representative=people["casey"].pk) == {"casey"}


def test_the_list_filters_as_the_event_page_and_refuses_a_bad_filter(client, people, facility):
    elsewhere = FacilityFactory(organization=people["admin"].organization)
    here = open_event(people["riley"], facility=facility)
    there = open_event(people["riley"], facility=elsewhere, type=EventType.STOCKING_ORDER)
    event_submit(actor=people["riley"], event=there)
    riley = Api(client, people["riley"])

    def ids(**query):
        return {row["id"] for row in riley.get("api:event_list", query).json()["results"]}

    assert ids(facility=facility.pk) == {here.pk}
    assert ids(status="submitted") == {there.pk}
    assert ids(type="stocking_order") == {there.pk}
    assert ids(date_from=timezone.localdate().isoformat()) == {here.pk, there.pk}
    assert ids(date_to=days_from_today(-1).isoformat()) == set()
    for bad in ({"status": "lost"}, {"date_from": "yesterday"}, {"representative": "²"}):
        response = riley.get("api:event_list", bad)
        assert response.status_code == 400, bad
        assert set(response.json()["error"]["fields"]) == set(bad)
    # Another group's rep is not one riley may name.
    response = riley.get("api:event_list", {"representative": people["casey"].pk})
    assert response.status_code == 400
    # An admin names anyone by a type-ahead's text or id; a digit that is not 0-9 is neither.
    response = Api(client, people["admin"]).get("api:event_list", {"representative": "²"})
    assert response.status_code == 400
    assert "representative" in response.json()["error"]["fields"]


def test_the_patient_reference_shows_only_where_the_events_page_shows_it(client, people, case):
    (unit,) = units_of(people, people["riley"])
    mark_used(people["riley"], case, [unit])
    for who in ("riley", "dana", "admin"):
        api = Api(client, people[who])
        assert api.get("api:event_detail", pk=case.pk).json()["patient_ref"] == "CASE-2041"
        (row,) = api.get("api:event_list").json()["results"]
        lines = api.get("api:event_lines", pk=case.pk).content.decode()
        assert "CASE-2041" not in str(row) and "CASE-2041" not in lines


@pytest.mark.parametrize("who", ["sam", "casey", "drew", "other_admin"])
def test_an_event_outside_the_callers_scope_is_not_found_for_every_verb(client, people, case, who):
    (unit,) = units_of(people, people["riley"])
    api = Api(client, people[who])
    for name in ("api:event_detail", "api:event_lines"):
        assert api.get(name, pk=case.pk).status_code == 404
    assert api.patch("api:event_detail", {"notes": "x"}, pk=case.pk).status_code == 404
    assert api.post("api:event_mark_used", {"unit_ids": [unit.pk]}, pk=case.pk).status_code == 404
    assert api.post("api:event_unmark", {"unit_ids": [unit.pk]}, pk=case.pk).status_code == 404
    for name in ("api:event_submit", "api:event_cancel", "api:event_reopen", "api:event_paid"):
        assert api.post(name, pk=case.pk).status_code == 404
    assert api.post("api:event_po", {"po_number": "P"}, pk=case.pk).status_code == 404
    case.refresh_from_db()
    assert (case.status, case.notes, case.lines.count()) == (EventStatus.OPEN, "", 0)


def _new_case(people, facility, **changes):
    return {
        "type": "case",
        "representative": people["riley"].pk,
        "facility": facility.pk,
        "procedure": ProcedureFactory(organization=people["admin"].organization).pk,
        "scheduled_at": "2031-03-04T09:30:00+01:00",
        "patient_ref": "MRN-77/B",
        **changes,
    }


def test_opening_an_event_follows_the_forms_and_services_rules(client, people, facility):
    riley, dana = Api(client, people["riley"]), Api(client, people["dana"])
    response = riley.post("api:event_list", _new_case(people, facility))
    assert response.status_code == 201, response.content
    body = response.json()
    event = Event.objects.get(pk=body["id"])
    assert (event.representative, event.created_by, event.patient_ref) == (
        people["riley"],
        people["riley"],
        "MRN-77/B",
    )
    assert event.scheduled_at == datetime.datetime(2031, 3, 4, 8, 30, tzinfo=datetime.UTC)
    assert body["name"].startswith("Case · ") and body["status"] == "open"
    assert body["can"]["mark_used"] is True and body["can"]["reopen"] is False

    # A distributor opens one for her rep; the rep cannot open one for another rep.
    response = dana.post("api:event_list", _new_case(people, facility, name="For Riley"))
    assert response.status_code == 201
    assert response.json()["representative"]["id"] == people["riley"].pk
    response = riley.post(
        "api:event_list", _new_case(people, facility, representative=people["sam"].pk)
    )
    assert response.status_code == 400
    assert "representative" in response.json()["error"]["fields"]

    response = riley.post("api:event_list", _new_case(people, facility, procedure=None))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"procedure": ["A Case needs a procedure."]}
    # The patient reference is a reference, never a name: the form's rule and words.
    response = riley.post("api:event_list", _new_case(people, facility, patient_ref="Jane Doe"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["patient_ref"] == [
        "Use letters, digits and - _ / # . only: a reference, never a name."
    ]
    other_facility = FacilityFactory(organization=people["other_admin"].organization)
    response = riley.post("api:event_list", _new_case(people, other_facility))
    assert response.status_code == 400 and "facility" in response.json()["error"]["fields"]
    assert Event.objects.count() == 2


def test_an_admin_names_any_representative_by_id(client, people, facility):
    response = Api(client, people["admin"]).post(
        "api:event_list", _new_case(people, facility, representative=people["casey"].pk)
    )
    assert response.status_code == 201, response.content
    assert response.json()["representative"]["id"] == people["casey"].pk
    response = Api(client, people["admin"]).post(
        "api:event_list", _new_case(people, facility, representative=people["admin"].pk)
    )
    assert response.status_code == 400


def test_patch_changes_only_what_is_sent_and_keeps_the_edit_rules(client, people, case):
    riley = Api(client, people["riley"])
    response = riley.patch("api:event_detail", {"notes": "Long screws"}, pk=case.pk)
    assert response.status_code == 200, response.content
    before = (case.name, case.facility_id, case.procedure_id, case.scheduled_at, case.patient_ref)
    case.refresh_from_db()
    assert case.notes == "Long screws"
    assert (
        case.name,
        case.facility_id,
        case.procedure_id,
        case.scheduled_at,
        case.patient_ref,
    ) == before

    (unit,) = units_of(people, people["riley"])
    mark_used(people["riley"], case, [unit])
    response = Api(client, people["dana"]).patch(
        "api:event_detail", {"representative": people["sam"].pk}, pk=case.pk
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "representative": ["Unmark the used units before changing the representative."]
    }
    event_submit(actor=people["riley"], event=case)
    response = riley.patch("api:event_detail", {"notes": "Late"}, pk=case.pk)
    assert response.status_code == 400
    assert message(response) == "This event is submitted; only open events can change."
    case.refresh_from_db()
    assert (case.representative_id, case.notes) == (people["riley"].pk, "Long screws")


def test_a_pooled_rep_marks_the_distributors_unit_and_the_ledger_says_how_it_was_found(
    client, people, case
):
    product = ProductFactory(organization=people["admin"].organization)
    scanned, picked = units_of(people, people["dana"], n=2, product=product)
    response = Api(client, people["riley"]).post(
        "api:event_mark_used",
        {"unit_ids": [scanned.pk, picked.pk], "identified_by": {str(scanned.pk): "scan:gs1"}},
        pk=case.pk,
    )
    assert response.status_code == 200, response.content
    lines = response.json()["lines"]
    assert sorted(line["unit"]["id"] for line in lines) == sorted([scanned.pk, picked.pk])
    assert all(line["billable"] and not line["from_facility_stock"] for line in lines)
    assert {line["unit"]["custodian"]["id"] for line in lines} == {people["dana"].pk}
    entries = dict(
        CustodyEntry.objects.filter(kind=EntryKind.MARKED_USED).values_list(
            "unit_id", "identified_by"
        )
    )
    assert entries == {scanned.pk: "scan:gs1", picked.pk: "list"}
    assert set(Unit.objects.filter(pk__in=entries).values_list("state", flat=True)) == {
        UnitState.ALLOCATED
    }


def test_identified_by_must_name_units_sent(client, people, case):
    (unit,) = units_of(people, people["riley"])
    riley = Api(client, people["riley"])
    for identified in (
        {"999999": "typed"},
        {"abc": "typed"},
        {"²": "typed"},
        {str(unit.pk): "carrier pigeon"},
    ):
        response = riley.post(
            "api:event_mark_used",
            {"unit_ids": [unit.pk], "identified_by": identified},
            pk=case.pk,
        )
        assert response.status_code == 400, identified
        assert "identified_by" in response.json()["error"]["fields"]
    assert not EventLine.objects.exists()


def test_a_unit_another_event_took_is_refused_naming_that_event(client, people, case):
    (unit,) = units_of(people, people["dana"], serial_prefix="POOL-")
    sams = open_event(people["sam"], name="Sam's hip")
    mark_used(people["sam"], sams, [unit])
    (own,) = units_of(people, people["riley"])
    response = Api(client, people["riley"]).post(
        "api:event_mark_used", {"unit_ids": [own.pk, unit.pk]}, pk=case.pk
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "rule"
    assert message(response) == f"POOL-1 was already marked used on “Sam's hip” by {people['sam']}."
    # All or nothing: riley's own unit was not taken either.
    assert not case.lines.exists()
    assert Unit.objects.get(pk=own.pk).state == UnitState.AVAILABLE


def test_a_recalled_unit_is_refused_naming_the_recall(client, people, case):
    product = ProductFactory(organization=people["admin"].organization, lot_tracked=True)
    (unit,) = units_of(people, people["riley"], product=product, lot_number="L-9")
    recall_record(
        actor=people["admin"],
        reference="RC-88",
        reason="Packaging",
        recall_class="I",
        product=product,
        lot_numbers=["L-9"],
        recall_date=timezone.localdate(),
    )
    response = Api(client, people["riley"]).post(
        "api:event_mark_used", {"unit_ids": [unit.pk]}, pk=case.pk
    )
    assert response.status_code == 400
    assert "quarantined under recall RC-88" in message(response)
    assert "cannot be used" in message(response)


def test_units_beyond_what_the_rep_may_use_answer_not_found(client, people, case):
    (sams,) = units_of(people, people["sam"])  # a rep's trunk is never shared by the pool
    (caseys,) = units_of(people, people["casey"])
    for unit in (sams, caseys):
        response = Api(client, people["dana"]).post(
            "api:event_mark_used", {"unit_ids": [unit.pk]}, pk=case.pk
        )
        assert response.status_code == 400
        assert message(response) == "A selected unit was not found."
    assert not case.lines.exists()


def test_facility_stock_used_on_a_case_there_is_unbillable_and_lines_say_so(
    client, people, case, facility
):
    (stock,) = units_of(people, people["riley"])
    sell_to_facility(
        people["riley"], representative=people["riley"], facility=facility, units=[stock]
    )
    (fresh,) = units_of(people, people["riley"], expiration_date=days_from_today(10))
    riley = Api(client, people["riley"])
    response = riley.post("api:event_mark_used", {"unit_ids": [stock.pk, fresh.pk]}, pk=case.pk)
    assert response.status_code == 200, response.content
    assert response.json()["warnings"] == [
        f"{fresh.serial_number} expires on {fresh.expiration_date:%Y-%m-%d}, within 30 days "
        "of the event."
    ]
    body = riley.get("api:event_lines", pk=case.pk).json()
    assert (body["status"], body["po_number"], body["type"]) == ("open", "", "case")
    assert body["usage"] == {"billable": 1, "unbillable": 1, "recalled": 0}
    by_unit = {line["unit"]["id"]: line for line in body["lines"]}
    assert (by_unit[stock.pk]["billable"], by_unit[stock.pk]["from_facility_stock"]) == (
        False,
        True,
    )
    assert (by_unit[fresh.pk]["billable"], by_unit[fresh.pk]["from_facility_stock"]) == (
        True,
        False,
    )


def test_unmark_gives_units_back(client, people, case):
    (unit,) = units_of(people, people["dana"])
    mark_used(people["riley"], case, [unit])
    riley = Api(client, people["riley"])
    response = riley.post("api:event_unmark", {"unit_ids": [unit.pk]}, pk=case.pk)
    assert response.status_code == 200
    assert response.json() == {"unmarked": 1}
    assert Unit.objects.get(pk=unit.pk).state == UnitState.AVAILABLE
    response = riley.post("api:event_unmark", {"unit_ids": [unit.pk]}, pk=case.pk)
    assert response.status_code == 400
    assert message(response) == "None of those units is marked used on this event."


def test_a_case_lives_its_whole_life_through_the_api(client, people, case):
    riley, dana = Api(client, people["riley"]), Api(client, people["dana"])
    (unit,) = units_of(people, people["riley"])
    assert riley.post("api:event_mark_used", {"unit_ids": [unit.pk]}, pk=case.pk).status_code == 200

    response = riley.post("api:event_submit", pk=case.pk)
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert Unit.objects.get(pk=unit.pk).state == UnitState.INACTIVE
    # A rep may not reopen: the office does, and the unit is allocated to it again.
    response = riley.post("api:event_reopen", pk=case.pk)
    assert response.status_code == 400
    assert message(response) == "A submitted Case is reopened only by its distributor or an admin."
    response = dana.post("api:event_reopen", pk=case.pk)
    assert response.status_code == 200 and response.json()["status"] == "open"
    assert Unit.objects.get(pk=unit.pk).state == UnitState.ALLOCATED
    assert riley.post("api:event_submit", pk=case.pk).status_code == 200

    response = riley.post("api:event_po", {"po_number": ""}, pk=case.pk)
    assert response.status_code == 400 and "po_number" in response.json()["error"]["fields"]
    response = riley.post("api:event_po", {"po_number": "PO-4471"}, pk=case.pk)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["po_number"]) == ("completed", "PO-4471")
    response = riley.post("api:event_paid", pk=case.pk)
    assert response.status_code == 400
    assert message(response) == (
        "Only the representative's distributor or an admin records an event as marked paid."
    )
    response = dana.post("api:event_paid", pk=case.pk)
    assert response.status_code == 200 and response.json()["status"] == "paid"
    body = dana.get("api:event_lines", pk=case.pk).json()
    assert (body["status"], body["po_number"], body["usage"]["billable"]) == ("paid", "PO-4471", 1)
    response = dana.post("api:event_cancel", pk=case.pk)
    assert response.status_code == 400
    assert message(response) == "Only an open event can be cancelled; this one is paid."


def test_cancelling_an_open_event_releases_its_units(client, people, case):
    (unit,) = units_of(people, people["dana"])
    mark_used(people["riley"], case, [unit])
    response = Api(client, people["admin"]).post("api:event_cancel", pk=case.pk)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Unit.objects.get(pk=unit.pk).state == UnitState.AVAILABLE
    entry = CustodyEntry.objects.filter(unit=unit).latest("sequence")
    assert (entry.kind, entry.actor_id, entry.on_behalf_of_id) == (
        EntryKind.UNMARKED,
        people["admin"].pk,
        people["riley"].pk,
    )


def test_the_event_list_and_lines_queries_do_not_grow_with_rows(client, people, facility):
    dana = Api(client, people["dana"])
    event = open_event(people["riley"], facility=facility)

    def count(name, **kwargs):
        with CaptureQueriesContext(connection) as ctx:
            response = dana.get(name, {"limit": 200} if not kwargs else None, **kwargs)
        assert response.status_code == 200
        return len(ctx)

    dana.get("api:event_list")  # the token's first use records it (once a minute)
    mark_used(people["riley"], event, units_of(people, people["riley"]))
    few_events, few_lines = count("api:event_list"), count("api:event_lines", pk=event.pk)
    for who in ("riley", "sam", "dana") * 10:
        mark_used(
            people[who], open_event(people[who], facility=facility), units_of(people, people[who])
        )
    mark_used(people["riley"], event, units_of(people, people["dana"], n=20))
    assert len(dana.get("api:event_list", {"limit": 200}).json()["results"]) == 31
    assert count("api:event_list") == few_events
    assert count("api:event_lines", pk=event.pk) == few_lines
