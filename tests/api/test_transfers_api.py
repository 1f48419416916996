"""Transfers through the API: the same scope as the transfers page (a pooled rep sees the pool's
transfers, never what another group sent to the distributor), the page's sections as filters,
the same rules and words as the page, a distributor sending on a rep's behalf, and list
queries that do not grow with the rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.models import TokenScope
from inventory.models import CustodyEntry, EntryKind, Transfer, Unit, UnitState
from inventory.services.recalls import recall_record
from inventory.services.transfers import transfer_create
from tests.api.tokens import token_for
from tests.events.factories import mark_used, open_event
from tests.factories import (
    DistributorFactory,
    OrganizationFactory,
    RepFactory,
    UserFactory,
)
from tests.inventory.factories import LocationFactory, ProductFactory, receive_units


class Api:
    """A caller with a token: JSON in, JSON out."""

    def __init__(self, client, user, scope=TokenScope.WRITE):
        self.client = client
        self.user = user
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user, scope)}"}

    def get(self, name, query=None, **kwargs):
        return self.client.get(reverse(name, kwargs=kwargs or None), query or {}, **self.auth)

    def post(self, name, data=None, headers=None, **kwargs):
        return self.client.post(
            reverse(name, kwargs=kwargs or None),
            data if data is not None else {},
            content_type="application/json",
            **self.auth,
            **(headers or {}),
        )

    def patch(self, name, data, **kwargs):
        return self.client.patch(
            reverse(name, kwargs=kwargs or None), data, content_type="application/json", **self.auth
        )


def message(response) -> str:
    return response.json()["error"]["message"]


@pytest.fixture
def people(admin_user, pooled, distributor, rep):
    """dana (pooling on) with riley and sam; drew with casey; an admin of another org."""
    org = admin_user.organization
    return {
        "admin": admin_user,
        "dana": distributor,
        "riley": rep,
        "sam": RepFactory(organization=org, assigned_to=distributor, display_name="Sam"),
        "drew": (drew := DistributorFactory(organization=org, display_name="Drew")),
        "casey": RepFactory(organization=org, assigned_to=drew, display_name="Casey"),
        "other_admin": UserFactory(organization=OrganizationFactory(), admin=True),
    }


@pytest.fixture
def product(people):
    return ProductFactory(organization=people["admin"].organization)


def one_unit(people, holder, product, **kwargs):
    return receive_units(people["admin"], holder, n=1, product=product, **kwargs)[0]


@pytest.fixture
def transfers(people, product):
    """One transfer of each kind that tells the scopes apart (tests/inventory/
    test_transfer_scope.py has the page's)."""
    p = people

    def send(actor, holder, recipient):
        unit = one_unit(p, holder, product)
        (transfer,) = transfer_create(actor=actor, unit_ids=[unit.pk], recipient=recipient)
        return transfer

    return {
        "dana_own_to_drew": send(p["dana"], p["dana"], p["drew"]),
        "casey_to_dana": send(p["casey"], p["casey"], p["dana"]),
        "riley_from_pool": send(p["riley"], p["dana"], p["riley"]),
        "drew_to_riley": send(p["drew"], p["drew"], p["riley"]),
        "sam_to_dana": send(p["sam"], p["sam"], p["dana"]),
        "casey_to_drew": send(p["casey"], p["casey"], p["drew"]),
        "admin_from_org_to_dana": send(p["admin"], None, p["dana"]),
        "dana_for_sam_to_casey": send(p["dana"], p["sam"], p["casey"]),
    }


def listed(api, transfers, **query) -> set[str]:
    response = api.get("api:transfer_list", {"limit": 200, **query})
    assert response.status_code == 200, response.content
    ids = {row["id"] for row in response.json()["results"]}
    return {name for name, t in transfers.items() if t.pk in ids}


def test_a_pooled_rep_lists_the_pools_transfers_but_not_what_another_group_sent_to_it(
    client, people, transfers
):
    riley = Api(client, people["riley"])
    assert listed(riley, transfers) == {"dana_own_to_drew", "riley_from_pool", "drew_to_riley"}


def test_a_distributor_lists_what_names_her_or_her_reps_and_another_org_lists_nothing(
    client, people, transfers
):
    assert listed(Api(client, people["dana"]), transfers) == {
        "dana_own_to_drew",
        "casey_to_dana",
        "riley_from_pool",
        "drew_to_riley",
        "sam_to_dana",
        "admin_from_org_to_dana",
        "dana_for_sam_to_casey",
    }
    assert listed(Api(client, people["other_admin"]), transfers) == set()
    assert listed(Api(client, people["admin"]), transfers) == set(transfers)


def test_the_transfers_pages_sections_are_filters(client, people, transfers):
    dana = Api(client, people["dana"])
    # Waiting on her: sent to her. Waiting on others: sent to her reps (she may answer those).
    assert listed(dana, transfers, box="waiting_on_me") == {"casey_to_dana", "sam_to_dana"}
    assert listed(dana, transfers, box="waiting_on_others") == {"drew_to_riley"}
    assert listed(dana, transfers, box="sent") == {"dana_own_to_drew", "dana_for_sam_to_casey"}
    # Completed at once: riley answers for herself, an admin for anyone.
    done = {"riley_from_pool", "admin_from_org_to_dana"}
    assert listed(dana, transfers, box="recent") == done
    assert listed(dana, transfers, status="completed") == done
    assert listed(dana, transfers, box="sent", status="completed") == set()
    response = dana.get("api:transfer_list", {"box": "everything"})
    assert response.status_code == 400
    assert "box" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("who", "transfer"),
    [
        ("riley", "casey_to_dana"),  # the pool's distributor received it: not the rep's to see
        ("riley", "casey_to_drew"),
        ("dana", "casey_to_drew"),  # another group entirely
        ("other_admin", "dana_own_to_drew"),  # another organization
    ],
)
def test_a_transfer_outside_the_callers_scope_is_not_found_for_every_verb(
    client, people, transfers, who, transfer
):
    api = Api(client, people[who])
    pk = transfers[transfer].pk
    assert api.get("api:transfer_detail", pk=pk).status_code == 404
    for name in ("api:transfer_accept", "api:transfer_cancel"):
        assert api.post(name, pk=pk).status_code == 404
    assert api.post("api:transfer_decline", {"reason": "No"}, pk=pk).status_code == 404
    assert Transfer.objects.get(pk=pk).status == Transfer.Status.PENDING


def test_the_detail_shows_the_units_and_what_the_caller_may_do(client, people, transfers):
    t = transfers["sam_to_dana"]
    body = Api(client, people["dana"]).get("api:transfer_detail", pk=t.pk).json()
    assert body["status"] == "pending" and body["unit_count"] == 1
    assert body["sender"]["id"] == people["sam"].pk
    assert body["recipient"]["id"] == people["dana"].pk
    assert [u["id"] for u in body["units"]] == list(t.units.values_list("pk", flat=True))
    assert body["units"][0]["custody"]["kind"] == "rep"
    assert body["can"] == {"accept": True, "decline": True, "cancel": False}
    body = Api(client, people["sam"]).get("api:transfer_detail", pk=t.pk).json()
    assert body["can"] == {"accept": False, "decline": False, "cancel": True}


def test_a_distributor_sends_her_reps_stock_on_the_reps_behalf(client, people, product):
    unit = one_unit(people, people["sam"], product)
    response = Api(client, people["dana"]).post(
        "api:transfer_list",
        {"unit_ids": [unit.pk], "recipient": people["casey"].pk, "note": "For Monday"},
    )
    assert response.status_code == 201, response.content
    (row,) = response.json()["transfers"]
    assert row["status"] == "pending"  # casey answers for herself, not dana
    assert row["started_by"]["id"] == people["dana"].pk
    assert row["on_behalf_of"]["id"] == people["sam"].pk
    assert row["sender"]["id"] == people["sam"].pk and row["unit_count"] == 1
    entry = CustodyEntry.objects.get(unit=unit, kind=EntryKind.TRANSFER_SENT)
    assert (entry.actor_id, entry.on_behalf_of_id) == (people["dana"].pk, people["sam"].pk)
    assert Transfer.objects.get(pk=row["id"]).note == "For Monday"


def test_a_distributor_taking_her_reps_stock_completes_at_once_into_her_location(
    client, people, product
):
    unit = one_unit(people, people["riley"], product)
    shelf = LocationFactory(organization=people["admin"].organization, holder=people["dana"])
    response = Api(client, people["dana"]).post(
        "api:transfer_list",
        {"unit_ids": [unit.pk], "recipient": people["dana"].pk, "to_location": shelf.pk},
    )
    assert response.status_code == 201, response.content
    (row,) = response.json()["transfers"]
    assert row["status"] == "completed" and row["to_location_id"] == shelf.pk
    unit.refresh_from_db()
    assert (unit.custodian_id, unit.state, unit.location_id) == (
        people["dana"].pk,
        UnitState.AVAILABLE,
        shelf.pk,
    )


def test_units_of_two_holders_make_two_transfers(client, people, product):
    units = [one_unit(people, people["riley"], product), one_unit(people, people["sam"], product)]
    response = Api(client, people["admin"]).post(
        "api:transfer_list", {"unit_ids": [u.pk for u in units], "recipient": None}
    )
    assert response.status_code == 201, response.content
    rows = response.json()["transfers"]
    assert sorted(r["sender"]["id"] for r in rows) == sorted([people["riley"].pk, people["sam"].pk])
    # An admin answers for organization custody: done at once.
    assert {r["recipient"] for r in rows} == {None}
    assert {r["status"] for r in rows} == {"completed"}


def test_a_recalled_unit_is_refused_naming_the_recall(client, people):
    product = ProductFactory(organization=people["admin"].organization, lot_tracked=True)
    unit = one_unit(people, people["riley"], product, lot_number="BAD-LOT")
    recall_record(
        actor=people["admin"],
        reference="RC-2025-7",
        reason="Sterility",
        recall_class="II",
        product=product,
        lot_numbers=["BAD-LOT"],
        recall_date=timezone.localdate(),
    )
    response = Api(client, people["riley"]).post(
        "api:transfer_list", {"unit_ids": [unit.pk], "recipient": people["sam"].pk}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "rule"
    assert "quarantined under recall RC-2025-7" in message(response)
    assert "only go back to organization custody" in message(response)
    assert not Transfer.objects.filter(lines__unit=unit).exists()


def test_a_unit_another_event_took_cannot_move(client, people, product):
    unit = one_unit(people, people["riley"], product)
    mark_used(people["riley"], open_event(people["riley"]), [unit])
    before = CustodyEntry.objects.count()
    response = Api(client, people["riley"]).post(
        "api:transfer_list", {"unit_ids": [unit.pk], "recipient": people["sam"].pk}
    )
    assert response.status_code == 400
    assert message(response) == f"{unit.serial_number} is allocated, not available."
    assert CustodyEntry.objects.count() == before


def test_units_out_of_scope_answer_not_found_naming_nothing(client, people, product):
    drews = one_unit(people, people["drew"], product)
    other_org = receive_units(
        None, RepFactory(organization=OrganizationFactory()), n=1, serial_prefix="ELSE-"
    )[0]
    riley = Api(client, people["riley"])
    for unit in (drews, other_org):
        response = riley.post(
            "api:transfer_list", {"unit_ids": [unit.pk], "recipient": people["sam"].pk}
        )
        assert response.status_code == 400
        assert message(response) == "A selected unit was not found."
    assert Unit.objects.get(pk=drews.pk).state == UnitState.AVAILABLE


def test_the_recipient_is_resolved_by_the_pages_picker(client, people, product):
    unit = one_unit(people, people["riley"], product)
    riley = Api(client, people["riley"])
    # Another organization's user: nobody riley may pick.
    stranger = people["other_admin"]
    response = riley.post("api:transfer_list", {"unit_ids": [unit.pk], "recipient": stranger.pk})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["recipient"] == [
        f"Nobody you may pick here matches “{stranger.pk}”."
    ]
    # The units' own holder is no recipient: the page's words.
    response = riley.post(
        "api:transfer_list", {"unit_ids": [unit.pk], "recipient": people["riley"].pk}
    )
    assert response.status_code == 400
    assert "You already hold the units you picked" in str(response.json()["error"]["fields"])
    # An admin holds no stock (the service's words).
    response = riley.post(
        "api:transfer_list", {"unit_ids": [unit.pk], "recipient": people["admin"].pk}
    )
    assert response.status_code == 400
    assert Unit.objects.get(pk=unit.pk).state == UnitState.AVAILABLE


@pytest.mark.parametrize(
    "body",
    [
        {"unit_ids": "12", "recipient": None},
        {"unit_ids": [0], "recipient": None},
        {"unit_ids": [1]},
        {"unit_ids": [1], "recipient": "org"},
        {"unit_ids": [1], "recipient": None, "note": "x" * 501},
        ["unit_ids"],
    ],
)
def test_malformed_bodies_are_400_naming_the_field(client, people, body):
    response = Api(client, people["riley"]).post("api:transfer_list", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Transfer.objects.exists()


def test_accept_decline_and_cancel_go_through_the_services_with_their_words(
    client, people, transfers
):
    dana, sam = Api(client, people["dana"]), Api(client, people["sam"])
    t = transfers["sam_to_dana"]
    # Sam sent it: not hers to accept.
    response = sam.post("api:transfer_accept", pk=t.pk)
    assert response.status_code == 403
    assert message(response) == "Only the recipient, their distributor or an admin can accept."
    response = dana.post("api:transfer_decline", {"reason": "  "}, pk=t.pk)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["reason"] == [
        "Say why you decline: the sender and an admin read it."
    ]
    response = dana.post("api:transfer_accept", pk=t.pk)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    assert response.json()["resolved_by"]["id"] == people["dana"].pk
    (unit,) = t.units.all()
    assert (unit.custodian_id, unit.state) == (people["dana"].pk, UnitState.AVAILABLE)
    response = dana.post("api:transfer_cancel", pk=t.pk)
    assert response.status_code == 400
    assert message(response) == f"Transfer #{t.pk} is already completed."

    declined = transfers["casey_to_dana"]
    response = dana.post("api:transfer_decline", {"reason": "Not ordered"}, pk=declined.pk)
    assert response.status_code == 200
    assert response.json()["decline_reason"] == "Not ordered"
    assert {u.state for u in declined.units.all()} == {UnitState.HOLD}

    cancelled = transfers["dana_own_to_drew"]
    response = Api(client, people["drew"]).post("api:transfer_cancel", pk=cancelled.pk)
    assert response.status_code == 403
    response = dana.post("api:transfer_cancel", pk=cancelled.pk)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_a_read_only_token_cannot_start_a_transfer(client, people, product):
    unit = one_unit(people, people["riley"], product)
    response = Api(client, people["riley"], TokenScope.READ).post(
        "api:transfer_list", {"unit_ids": [unit.pk], "recipient": people["sam"].pk}
    )
    assert response.status_code == 403
    assert not Transfer.objects.exists()


def test_the_list_pages_by_cursor_and_its_queries_do_not_grow_with_rows(client, people, product):
    dana = Api(client, people["dana"])
    units = receive_units(people["admin"], people["sam"], n=30, product=product)

    def query_count():
        with CaptureQueriesContext(connection) as ctx:
            response = dana.get("api:transfer_list", {"limit": 200})
        assert response.status_code == 200
        return len(ctx), len(response.json()["results"])

    transfer_create(actor=people["sam"], unit_ids=[units[0].pk], recipient=people["riley"])
    query_count()  # the token's first use records it (once a minute): not a per-row cost
    few, rows = query_count()
    assert rows == 1
    for unit in units[1:]:
        transfer_create(actor=people["sam"], unit_ids=[unit.pk], recipient=people["riley"])
    many, rows = query_count()
    assert rows == 30
    assert many == few

    first = dana.get("api:transfer_list", {"limit": 20}).json()
    assert len(first["results"]) == 20 and first["next"]
    second = client.get(first["next"], **dana.auth).json()
    assert len(second["results"]) == 10 and second["next"] is None
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 30
    assert ids == sorted(ids, reverse=True)  # newest first
