"""The recalls API: the list and recording one, one recall with its progress and units,
returning units, and the recall lookup; the same scope and the same refusals as the pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Recall, RecallUnit, Unit, UnitState
from inventory.services.recalls import recall_record
from tests.api.test_api_permissions import token_for
from tests.events.factories import PhysicianFactory, mark_used, open_event
from tests.factories import DistributorFactory, OrganizationFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive_units

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate().isoformat()


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


def _record(admin, product, lots, reference="R-1"):
    return recall_record(
        actor=admin,
        reference=reference,
        reason="Sterility",
        recall_class="II",
        product=product,
        lot_numbers=lots,
        recall_date=timezone.localdate(),
    )


@pytest.fixture
def lot(org, admin_user, distributor, rep):
    """Lot L1 of a GTIN-labelled product: three units with the distributor, two with her rep
    (one used on a case), two with another group's distributor (drew)."""
    product = ProductFactory(organization=org, lot_tracked=True, gtin="00850001230018")
    drew = DistributorFactory(organization=org)
    units = {
        "dana": receive_units(admin_user, distributor, n=3, product=product, lot_number="L1"),
        "riley": receive_units(admin_user, rep, n=2, product=product, lot_number="L1"),
        "drew": receive_units(admin_user, drew, n=2, product=product, lot_number="L1"),
    }
    case = open_event(rep, physician=PhysicianFactory(organization=org, name="Dr. Hale"))
    case.patient_ref = "CASE-9"
    case.save(update_fields=["patient_ref"])
    mark_used(rep, case, units["riley"][:1])
    return {"product": product, "units": units, "case": case, "drew": drew}


def _new(of, **overrides):
    body = {
        "reference": "API-R-1",
        "recall_class": "I",
        "product": of.pk,
        "lot_numbers": ["L1"],
        "recall_date": TODAY,
        "reason": "Mislabelled",
    }
    body.update(overrides)
    return body


# --- recording ---------------------------------------------------------------------------


def test_an_admin_records_a_recall_and_the_lot_is_quarantined(admin_user, lot):
    response = _client(admin_user).post(
        reverse("api:recall_list"), _new(lot["product"]), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    recall = Recall.objects.get(pk=body["id"])
    assert (recall.reference, recall.recall_class) == ("API-R-1", "I")
    assert body["progress"]["found"] == 7
    # Stock on the shelf is quarantined; the unit on the open case is listed for action.
    assert body["progress"]["quarantined"] == 6
    assert [c["event_id"] for c in body["progress"]["open_cases"]] == [lot["case"].pk]
    states = set(
        Unit.objects.filter(pk__in=[u.pk for u in lot["units"]["dana"]]).values_list(
            "state", flat=True
        )
    )
    assert states == {UnitState.QUARANTINED}


def test_only_an_admin_records_a_recall_in_the_services_words(distributor, rep, lot):
    for user in (distributor, rep):
        response = _client(user).post(
            reverse("api:recall_list"), _new(lot["product"]), format="json"
        )
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "Only an admin records a recall."
    assert not Recall.objects.exists()


def test_a_product_of_another_organization_is_no_product_of_the_catalog(admin_user, lot):
    theirs = ProductFactory(organization=OrganizationFactory(), lot_tracked=True)
    response = _client(admin_user).post(reverse("api:recall_list"), _new(theirs), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["product"] == ["Choose a product of your catalog."]
    assert not Recall.objects.exists()


@pytest.mark.parametrize(
    "overrides,field,words",
    [
        ({"lot_numbers": []}, "lot_numbers", "List the affected lots or serial numbers."),
        ({"reason": "   "}, "reason", None),
        ({"recall_class": "IV"}, "recall_class", None),
        ({"recall_date": "yesterday"}, "recall_date", None),
        ({"product": 2**64}, "product", None),
    ],
)
def test_a_recall_the_rules_refuse_records_nothing(admin_user, lot, overrides, field, words):
    response = _client(admin_user).post(
        reverse("api:recall_list"), _new(lot["product"], **overrides), format="json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert field in fields
    if words:
        assert fields[field] == [words]
    assert not Recall.objects.exists()


def test_a_reference_already_used_is_refused_in_the_services_words(admin_user, lot):
    _record(admin_user, lot["product"], ["L1"], reference="api-r-1")
    response = _client(admin_user).post(
        reverse("api:recall_list"), _new(lot["product"]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["reference"] == [
        "A recall with this reference is already recorded."
    ]


# --- reading -----------------------------------------------------------------------------


def test_the_list_is_an_admins_organization_and_a_distributors_scope(
    org, admin_user, distributor, lot
):
    mine = _record(admin_user, lot["product"], ["L1"], reference="R-ALL")
    other_product = ProductFactory(organization=org, lot_tracked=True)
    receive_units(admin_user, lot["drew"], n=1, product=other_product, lot_number="DREW")
    drews = _record(admin_user, other_product, ["DREW"], reference="R-DREW")
    elsewhere_admin = UserFactory(organization=OrganizationFactory(), admin=True)

    def ids(user):
        response = _client(user).get(reverse("api:recall_list"))
        assert response.status_code == 200
        return [r["id"] for r in response.json()["results"]]

    assert ids(admin_user) == [drews.pk, mine.pk]
    assert ids(distributor) == [mine.pk]
    assert ids(lot["drew"]) == [drews.pk, mine.pk]
    assert ids(elsewhere_admin) == []


def test_a_rep_is_refused_every_recall_read(rep, admin_user, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    client = _client(rep)
    for url, params in [
        (reverse("api:recall_list"), {}),
        (reverse("api:recall_detail", args=[recall.pk]), {}),
        (reverse("api:recall_units", args=[recall.pk]), {}),
        (reverse("api:recall_lookup"), {"q": "L1"}),
    ]:
        response = client.get(url, params)
        assert response.status_code == 403, url
        assert response.json()["error"]["message"] == "Recalls are for admins and distributors."


def test_the_recall_list_costs_the_same_queries_for_more_recalls(org, admin_user, distributor):
    client = _client(admin_user)
    url = reverse("api:recall_list")
    product = ProductFactory(organization=org, lot_tracked=True)
    receive_units(admin_user, distributor, n=1, product=product, lot_number="Q0")
    _record(admin_user, product, ["Q0"], reference="Q0")
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(1, 8):
        other = ProductFactory(organization=org, lot_tracked=True)
        _record(UserFactory(organization=org, admin=True), other, [f"Q{n}"], reference=f"Q{n}")
    assert count() == few


def test_the_list_filters_by_status(admin_user, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    client = _client(admin_user)
    assert client.get(reverse("api:recall_list"), {"status": "withdrawn"}).json()["results"] == []
    active = client.get(reverse("api:recall_list"), {"status": "active"}).json()["results"]
    assert [r["id"] for r in active] == [recall.pk]
    assert client.get(reverse("api:recall_list"), {"status": "gone"}).status_code == 400


def test_one_recall_shows_the_pages_progress_over_the_callers_units(admin_user, distributor, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    body = _client(admin_user).get(reverse("api:recall_detail", args=[recall.pk])).json()
    assert body["product"]["catalog_number"] == lot["product"].catalog_number
    progress = body["progress"]
    assert (progress["found"], progress["quarantined"], progress["returnable"]) == (7, 6, 6)
    (case,) = progress["cases"]
    assert (case["surgeon"], case["patient_ref"]) == ("Dr. Hale", "CASE-9")
    assert progress["surgeons"] == ["Dr. Hale"]
    # The distributor counts only her stock and her rep's.
    mine = _client(distributor).get(reverse("api:recall_detail", args=[recall.pk])).json()
    assert (mine["progress"]["found"], mine["progress"]["quarantined"]) == (5, 4)


def test_a_recall_outside_the_callers_scope_is_not_found(admin_user, lot):
    other_product = ProductFactory(organization=admin_user.organization, lot_tracked=True)
    receive_units(admin_user, lot["drew"], n=1, product=other_product, lot_number="DREW")
    drews = _record(admin_user, other_product, ["DREW"], reference="R-DREW")
    elsewhere_admin = UserFactory(organization=OrganizationFactory(), admin=True)
    distributor = lot["units"]["dana"][0].custodian
    for user in (distributor, elsewhere_admin):
        for name in ("api:recall_detail", "api:recall_units"):
            response = _client(user).get(reverse(name, args=[drews.pk]))
            assert response.status_code == 404, (user, name)


def test_the_recall_units_are_paged_and_scoped(admin_user, distributor, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    client = _client(distributor)
    first = client.get(reverse("api:recall_units", args=[recall.pk]), {"limit": 3}).json()
    second = client.get(first["next"]).json()
    rows = first["results"] + second["results"]
    seen = {r["unit"]["id"] for r in rows}
    expected = {u.pk for u in lot["units"]["dana"] + lot["units"]["riley"]}
    assert seen == expected
    allocated = next(r for r in rows if r["unit"]["id"] == lot["units"]["riley"][0].pk)
    assert (allocated["found_state"], allocated["unit"]["state"]) == ("allocated", "allocated")
    assert rows[0]["unit"]["custody"]["kind"] == "own"


def test_the_recall_units_cost_the_same_queries_for_more_rows(org, admin_user, distributor):
    product = ProductFactory(organization=org, lot_tracked=True)
    receive_units(admin_user, distributor, n=2, product=product, lot_number="Q1")
    few_recall = _record(admin_user, product, ["Q1"], reference="FEW")
    receive_units(admin_user, distributor, n=30, product=product, lot_number="Q2")
    many_recall = _record(admin_user, product, ["Q2"], reference="MANY")
    client = _client(admin_user)
    client.get(reverse("api:recall_list"))

    def count(recall):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("api:recall_units", args=[recall.pk]))
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["results"])

    few, rows = count(few_recall)
    many, more_rows = count(many_recall)
    assert (rows, more_rows) == (2, 30)
    assert many == few


# --- returning ---------------------------------------------------------------------------


def test_an_admin_returns_every_quarantined_unit(admin_user, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    response = _client(admin_user).post(
        reverse("api:recall_return", args=[recall.pk]),
        {"reference": "RMA-7", "returned_on": TODAY},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["recall"], body["reference"]) == (recall.pk, "RMA-7")
    assert len(body["unit_ids"]) == 6
    assert set(Unit.objects.filter(pk__in=body["unit_ids"]).values_list("state", flat=True)) == {
        UnitState.INACTIVE
    }


def test_a_unit_not_quarantined_under_the_recall_refuses_the_return(admin_user, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    allocated = lot["units"]["riley"][0]
    elsewhere = receive_units(UserFactory(organization=OrganizationFactory(), admin=True), None)[0]
    client = _client(admin_user)
    url = reverse("api:recall_return", args=[recall.pk])
    body = {"reference": "RMA-7", "returned_on": TODAY}
    response = client.post(url, {**body, "unit_ids": [allocated.pk]}, format="json")
    assert response.status_code == 400
    assert "is not quarantined under recall R-1" in response.json()["error"]["message"]
    # Another organization's unit answers "not found", naming nothing of it.
    response = client.post(url, {**body, "unit_ids": [elsewhere.pk]}, format="json")
    assert response.status_code == 400
    assert elsewhere.serial_number not in response.json()["error"]["message"]
    assert not RecallUnit.objects.filter(returned_in__isnull=False).exists()


def test_only_an_admin_returns_in_the_services_words(admin_user, distributor, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    response = _client(distributor).post(
        reverse("api:recall_return", args=[recall.pk]),
        {"reference": "RMA-7", "returned_on": TODAY},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only an admin returns or withdraws a recall."
    assert not Unit.objects.filter(state=UnitState.INACTIVE).exists()


def test_another_organizations_admin_cannot_find_the_recall_to_return(admin_user, lot):
    recall = _record(admin_user, lot["product"], ["L1"])
    elsewhere_admin = UserFactory(organization=OrganizationFactory(), admin=True)
    response = _client(elsewhere_admin).post(
        reverse("api:recall_return", args=[recall.pk]),
        {"reference": "RMA-7", "returned_on": TODAY},
        format="json",
    )
    assert response.status_code == 404


# --- the lookup --------------------------------------------------------------------------


def _lookup(user, **params):
    return _client(user).get(reverse("api:recall_lookup"), params)


def test_a_lot_lookup_lists_the_callers_units_with_the_cases_that_used_them(
    admin_user, distributor, lot
):
    response = _lookup(admin_user, q="L1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["description"] == "lot or serial L1"
    assert body["counts"]["total"] == 7
    assert {"name": "Allocated", "count": 1} in body["counts"]["by_state"]
    used = next(u for u in body["results"] if u["id"] == lot["units"]["riley"][0].pk)
    (case,) = used["cases"]
    assert (case["event_id"], case["patient_ref"]) == (lot["case"].pk, "CASE-9")
    # The distributor's scope: hers and her rep's, never drew's.
    mine = _lookup(distributor, q="L1").json()
    assert mine["counts"]["total"] == 5
    assert {u["id"] for u in mine["results"]}.isdisjoint(u.pk for u in lot["units"]["drew"])


def test_a_scanned_udi_or_a_gtin_with_its_lots_finds_the_lot(admin_user, lot):
    by_udi = _lookup(admin_user, q="(01)00850001230018(17)271231(10)L1").json()
    assert by_udi["counts"]["total"] == 7
    assert by_udi["description"].startswith("GTIN 00850001230018 lot L1")
    by_gtin = _lookup(admin_user, product="00850001230018", lots="L1").json()
    assert by_gtin["counts"]["total"] == 7


@pytest.mark.parametrize(
    "params,field,words",
    [
        ({}, "q", "Enter a lot, a serial number or a scanned UDI."),
        ({"q": "(01)123"}, "q", None),
        (
            {"product": "NOPE", "lots": "x"},
            "product",
            "No product has catalog number or GTIN NOPE.",
        ),
        ({"q": "x" * 256}, "q", None),
    ],
)
def test_a_lookup_that_cannot_be_made_says_why_by_field(admin_user, lot, params, field, words):
    response = _lookup(admin_user, **params)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert field in fields
    if words:
        assert fields[field] == [words]


def test_the_lookup_pages_and_costs_the_same_queries_for_more_rows(org, admin_user, distributor):
    product = ProductFactory(organization=org, lot_tracked=True)
    receive_units(admin_user, distributor, n=2, product=product, lot_number="FEW")
    receive_units(admin_user, distributor, n=40, product=product, lot_number="MANY")
    client = _client(admin_user)
    client.get(reverse("api:recall_list"))

    def count(code):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("api:recall_lookup"), {"q": code})
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()

    few, _ = count("FEW")
    many, body = count("MANY")
    assert len(body["results"]) == 40
    assert many == few
    paged = client.get(reverse("api:recall_lookup"), {"q": "MANY", "limit": 25}).json()
    rest = client.get(paged["next"]).json()
    assert len(paged["results"]) + len(rest["results"]) == 40
    assert rest["next"] is None
