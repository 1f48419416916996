"""Idempotency-Key on the API's writes (api/idempotency.py): a retry returns the first answer
and changes nothing; the key is kept as the offline replay's record (events.ClientOperation,
kind "api"); another body under the same key is a 422; a refusal replays as the same refusal;
two calls with one key at the same moment act once; a failure of ours keeps nothing, so the
retry acts; and keys are each user's own."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.exceptions import APIException

from events.models import ClientOperation, EventLine
from events.services.usage import event_unmark
from inventory.models import CustodyEntry, Transfer, Unit, UnitState
from tests.api.matrix import events as event_matrix
from tests.api.matrix import transfers as transfer_matrix
from tests.api.test_api_permissions import api_world, world  # noqa: F401 - fixtures
from tests.api.test_transfers_api import Api, message
from tests.concurrency import race
from tests.events.factories import mark_used, open_event
from tests.factories import RepFactory
from tests.inventory.factories import receive_units

KEY = {"HTTP_IDEMPOTENCY_KEY": "retry-me-7"}


@pytest.fixture
def case(pooled, rep):
    return open_event(rep, name="Riley's knee")


@pytest.fixture
def pool_unit(admin_user, distributor):
    (unit,) = receive_units(admin_user, distributor, n=1, serial_prefix="POOL-")
    return unit


def _ledger():
    return list(CustodyEntry.objects.order_by("pk").values_list("pk", flat=True))


def test_a_retried_mark_used_returns_the_first_answer_and_changes_nothing(
    client, rep, case, pool_unit
):
    riley = Api(client, rep)
    first = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)
    assert first.status_code == 200, first.content
    assert "Idempotent-Replayed" not in first
    ledger, lines = _ledger(), list(EventLine.objects.values_list("pk", flat=True))

    again = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)

    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _ledger() == ledger
    assert list(EventLine.objects.values_list("pk", flat=True)) == lines
    (op,) = ClientOperation.objects.all()
    assert (op.kind, op.how, op.user_id, op.status, op.status_code) == (
        ClientOperation.Kind.API,
        ClientOperation.How.API,
        rep.pk,
        ClientOperation.Status.APPLIED,
        200,
    )
    assert op.answer == first.json()


def test_a_retried_transfer_starts_one_transfer(client, admin_user, rep, distributor):
    units = receive_units(admin_user, rep, n=2)
    riley = Api(client, rep)
    body = {"unit_ids": [u.pk for u in units], "recipient": distributor.pk}
    first = riley.post("api:transfer_list", body, KEY)
    again = riley.post("api:transfer_list", body, KEY)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Transfer.objects.count() == 1


def test_the_same_key_with_another_body_is_422_and_does_nothing(client, rep, case, pool_unit):
    (other,) = receive_units(None, rep, n=1)
    riley = Api(client, rep)
    first = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)
    assert first.status_code == 200
    ledger = _ledger()
    for name, body in (
        ("api:event_mark_used", {"unit_ids": [other.pk]}),  # another body
        ("api:event_unmark", {"unit_ids": [pool_unit.pk]}),  # another path
    ):
        response = riley.post(name, body, KEY, pk=case.pk)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert _ledger() == ledger
    assert Unit.objects.get(pk=other.pk).state == UnitState.AVAILABLE


def test_a_refusal_replays_as_the_same_refusal_even_once_the_rule_would_allow_it(
    client, distributor, rep, case, pool_unit
):
    sam = RepFactory(organization=rep.organization, assigned_to=distributor)
    sams = open_event(sam, name="Sam's hip")
    mark_used(sam, sams, [pool_unit])
    riley = Api(client, rep)
    first = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)
    assert first.status_code == 400
    assert "was already marked used on “Sam's hip”" in message(first)
    (op,) = ClientOperation.objects.all()
    assert (op.status, op.status_code) == (ClientOperation.Status.REFUSED, 400)
    assert op.message == message(first)
    event_unmark(actor=sam, event=sams, unit_ids=[pool_unit.pk])  # the unit is free now

    again = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)

    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert not case.lines.exists()
    assert Unit.objects.get(pk=pool_unit.pk).state == UnitState.AVAILABLE
    # A new key is a new request, judged now.
    fresh = riley.post(
        "api:event_mark_used",
        {"unit_ids": [pool_unit.pk]},
        {"HTTP_IDEMPOTENCY_KEY": "2"},
        pk=case.pk,
    )
    assert fresh.status_code == 200


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("the disk is full"),  # a crash: Django's 500
        APIException("the ledger is busy"),  # a 500 the API answers in its own shape
    ],
    ids=["crash", "answered-500"],
)
def test_a_failure_of_ours_keeps_nothing_so_the_retry_acts(
    client, rep, case, pool_unit, monkeypatch, failure
):
    import api.views.events as views

    real = views.event_mark_used

    def half_done_then_fails(**kwargs):
        real(**kwargs)  # the work is done in the transaction, then something breaks
        raise failure

    monkeypatch.setattr(views, "event_mark_used", half_done_then_fails)
    client.raise_request_exception = False
    riley = Api(client, rep)
    failed = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)
    assert failed.status_code == 500
    assert not ClientOperation.objects.exists()
    assert not EventLine.objects.exists()
    assert Unit.objects.get(pk=pool_unit.pk).state == UnitState.AVAILABLE

    monkeypatch.setattr(views, "event_mark_used", real)
    retried = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried
    assert Unit.objects.get(pk=pool_unit.pk).state == UnitState.ALLOCATED


def test_keys_are_each_users_own(client, admin_user, distributor, rep):
    sam = RepFactory(organization=rep.organization, assigned_to=distributor)
    mine = receive_units(admin_user, rep, n=1)[0]
    sams = receive_units(admin_user, sam, n=1)[0]
    # The same key and the same body shape from two people: two transfers, neither replayed.
    riley_answer = Api(client, rep).post(
        "api:transfer_list", {"unit_ids": [mine.pk], "recipient": distributor.pk}, KEY
    )
    sam_answer = Api(client, sam).post(
        "api:transfer_list", {"unit_ids": [sams.pk], "recipient": distributor.pk}, KEY
    )
    assert (riley_answer.status_code, sam_answer.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in sam_answer
    assert Transfer.objects.count() == 2
    assert ClientOperation.objects.filter(kind="api").count() == 2
    # Even the very same body: sam is never handed riley's answer.
    again = Api(client, sam).post(
        "api:transfer_list", {"unit_ids": [mine.pk], "recipient": distributor.pk}, KEY
    )
    assert again.status_code == 422


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_key_that_is_not_printable_ascii_up_to_255_is_refused(client, rep, case, pool_unit, key):
    response = Api(client, rep).post(
        "api:event_mark_used",
        {"unit_ids": [pool_unit.pk]},
        {"HTTP_IDEMPOTENCY_KEY": key},
        pk=case.pk,
    )
    assert response.status_code == 400
    assert not EventLine.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_calls_with_one_key_at_the_same_moment_act_once(admin_user, pooled, distributor, rep):
    case = open_event(rep, name="Riley's knee")
    units = receive_units(admin_user, distributor, n=3, serial_prefix="POOL-")
    body = {"unit_ids": [u.pk for u in units]}
    api = Api(Client(), rep)

    def call():
        return Api.post(_with_client(api, Client()), "api:event_mark_used", body, KEY, pk=case.pk)

    outcomes = race(call, call)

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    answers = [response for _, response in outcomes]
    assert sorted(r.status_code for r in answers) == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert sorted("Idempotent-Replayed" in r for r in answers) == [False, True]
    assert EventLine.objects.count() == 3
    assert CustodyEntry.objects.filter(kind="marked_used").count() == 3
    assert ClientOperation.objects.count() == 1


def _with_client(api: Api, client: Client) -> Api:
    """The same caller and token on another test client (one per thread)."""
    other = Api.__new__(Api)
    other.client, other.user, other.auth = client, api.user, api.auth
    return other


# Every transfer and event write the matrix declares, as an admin (who may take each step).
_WRITES = {
    key: expect
    for module in (transfer_matrix, event_matrix)
    for key, expect in module.EXPECTATIONS.items()
    if key[1] != "get"
}


@pytest.mark.parametrize(("name", "method"), sorted(_WRITES))
def test_every_transfer_and_event_write_replays_its_first_answer(
    client,
    api_world,  # noqa: F811 - the fixture imported above
    name,
    method,
):
    expect = _WRITES[(name, method)]
    auth = Api(client, api_world.admin).auth
    url = reverse(name, kwargs=expect.kwargs(api_world))
    body = expect.data(api_world)

    def send():
        return getattr(client, method)(url, body, content_type="application/json", **auth, **KEY)

    first = send()
    assert first.status_code < 300, first.content  # the step is taken once
    ledger, ops = _ledger(), ClientOperation.objects.count()
    again = send()
    assert again["Idempotent-Replayed"] == "true"
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert (_ledger(), ClientOperation.objects.count()) == (ledger, ops)


def test_an_integrity_error_of_the_action_itself_is_its_answer_not_a_race_to_rerun(
    client, rep, case, pool_unit, monkeypatch
):
    """Only the key's own insert losing a race means "answer as the winner did": an
    IntegrityError from the action runs it once, keeps nothing, and answers 500."""
    from django.db import IntegrityError

    import api.views.events as views

    calls = []

    def clashes(**kwargs):
        calls.append(kwargs)
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(views, "event_mark_used", clashes)
    client.raise_request_exception = False
    riley = Api(client, rep)
    answer = riley.post("api:event_mark_used", {"unit_ids": [pool_unit.pk]}, KEY, pk=case.pk)
    assert answer.status_code == 500
    assert len(calls) == 1
    assert not ClientOperation.objects.exists()
