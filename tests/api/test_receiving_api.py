"""Receiving through the API: by lines and by one scanned UDI, through the receiving service,
with ids resolved inside the caller's organization and the service's refusals in its words."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import ClientOperation
from inventory.models import CustodyEntry, Location, Unit, UnitState
from inventory.services.recalls import recall_record
from tests.api.test_api_permissions import token_for
from tests.factories import OrganizationFactory, RepFactory, UserFactory
from tests.inventory.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db

LINES = reverse("api:receive_lines")
UDI = reverse("api:receive_udi")
GTIN = "09506000134352"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


@pytest.fixture
def serial_product(org):
    return ProductFactory(organization=org, catalog_number="KNEE-1", gtin=GTIN)


@pytest.fixture
def lot_product(org):
    return ProductFactory(organization=org, catalog_number="SCREW-1", lot_tracked=True)


def _line(product, **fields):
    return {"product": product.pk, **fields}


# --- by lines ----------------------------------------------------------------------------


def test_a_distributor_receives_serials_and_a_lot_into_her_own_custody(
    org, distributor, serial_product, lot_product
):
    shelf = LocationFactory(organization=org, holder=distributor, name="Dana's shelf")
    body = {
        "custodian": distributor.pk,
        "note": "PO 7",
        "lines": [
            _line(serial_product, serial_numbers=["S-1", "S-2"], location=shelf.pk),
            _line(lot_product, lot_number="L9", quantity=3, expiration_date="2030-01-31"),
        ],
    }
    response = _client(distributor).post(LINES, body, format="json")
    assert response.status_code == 201, response.content
    rows = response.json()["units"]
    assert len(rows) == 5
    assert {r["custodian"]["id"] for r in rows} == {distributor.pk}
    serials = [r for r in rows if r["serial_number"]]
    assert {r["serial_number"] for r in serials} == {"S-1", "S-2"}
    assert {r["location"]["id"] for r in serials} == {shelf.pk}
    assert Unit.objects.filter(lot_number="L9", expiration_date="2030-01-31").count() == 3
    assert set(CustodyEntry.objects.values_list("note", flat=True)) == {"PO 7"}


def test_a_distributor_cannot_receive_into_someone_elses_custody(distributor, rep, serial_product):
    body = {"custodian": rep.pk, "lines": [_line(serial_product, serial_numbers=["S-1"])]}
    response = _client(distributor).post(LINES, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["custodian"] == [
        "Distributors receive stock into their own custody."
    ]
    assert not Unit.objects.exists()


def test_an_admin_receives_into_organization_custody(admin_user, lot_product):
    body = {"custodian": None, "lines": [_line(lot_product, lot_number="L1", quantity=2)]}
    response = _client(admin_user).post(LINES, body, format="json")
    assert response.status_code == 201
    assert [r["custodian"] for r in response.json()["units"]] == [None, None]


def test_a_rep_cannot_receive(rep, serial_product):
    body = {"custodian": rep.pk, "lines": [_line(serial_product, serial_numbers=["S-1"])]}
    response = _client(rep).post(LINES, body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only admins and distributors receive stock."
    assert not Unit.objects.exists()


def test_ids_of_another_organization_are_refused_as_unknown(
    admin_user, distributor, serial_product
):
    elsewhere = OrganizationFactory()
    their_product = ProductFactory(organization=elsewhere)
    their_location = LocationFactory(organization=elsewhere)
    their_person = RepFactory(organization=elsewhere)
    client = _client(admin_user)
    line = _line(serial_product, serial_numbers=["S-1"])
    response = client.post(LINES, {"custodian": their_person.pk, "lines": [line]}, format="json")
    assert response.json()["error"]["fields"]["custodian"] == [
        "Nobody of your organization has this id."
    ]
    response = client.post(
        LINES,
        {
            "custodian": None,
            "lines": [
                _line(their_product, serial_numbers=["S-1"]),
                {**line, "location": their_location.pk},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["lines"] == [
        f"Line 1: no product of your catalog has id {their_product.pk}.",
        f"Line 2: no location of your organization has id {their_location.pk}.",
    ]
    assert not Unit.objects.exists()


def test_the_services_refusals_come_back_by_line(admin_user, distributor, serial_product, org):
    client = _client(admin_user)
    first = {"custodian": distributor.pk, "lines": [_line(serial_product, serial_numbers=["S-1"])]}
    assert client.post(LINES, first, format="json").status_code == 201
    trunk = LocationFactory(
        organization=org, kind=Location.Kind.TRUNK, holder=RepFactory(organization=org)
    )
    body = {
        "custodian": distributor.pk,
        "lines": [
            _line(serial_product, serial_numbers=["s-1"]),
            _line(serial_product, serial_numbers=["S-9"], location=trunk.pk),
            _line(serial_product),
        ],
    }
    response = client.post(LINES, body, format="json")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "Line 1: KNEE-1 serial s-1 is already on record (as S-1)." in message
    assert f"Line 2: {trunk.name} is held by" in message
    assert "Line 3: KNEE-1 is tracked by serial number: give one per unit." in message
    assert Unit.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"lines": []},
        {"custodian": None, "lines": []},
        {"custodian": None, "lines": [{"product": "x"}]},
        {"custodian": None, "lines": [{"product": 1, "quantity": 0}]},
        {"custodian": 2**63, "lines": [{"product": 1}]},
        {"custodian": None, "lines": [{"product": 1, "serial_numbers": ["a\x00b"]}]},
        {"custodian": None, "lines": "all of them"},
    ],
)
def test_a_malformed_receipt_is_a_400_that_changes_nothing(admin_user, body):
    response = _client(admin_user).post(LINES, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Unit.objects.exists()


def test_a_lot_an_active_recall_names_is_quarantined_on_receipt(admin_user, lot_product):
    recall_record(
        actor=admin_user,
        reference="R-9",
        reason="Sterility",
        recall_class="I",
        product=lot_product,
        lot_numbers=["BAD"],
        recall_date=timezone.localdate(),
    )
    body = {"custodian": None, "lines": [_line(lot_product, lot_number="BAD", quantity=2)]}
    response = _client(admin_user).post(LINES, body, format="json")
    assert response.status_code == 201
    assert {r["state"] for r in response.json()["units"]} == {UnitState.QUARANTINED}


def test_a_retried_receipt_with_the_same_key_gets_the_first_answer_and_receives_once(
    admin_user, distributor, lot_product
):
    client = _client(admin_user)
    body = {"custodian": distributor.pk, "lines": [_line(lot_product, lot_number="L1", quantity=4)]}
    first = client.post(LINES, body, format="json", HTTP_IDEMPOTENCY_KEY="po-7-receipt")
    again = client.post(LINES, body, format="json", HTTP_IDEMPOTENCY_KEY="po-7-receipt")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Unit.objects.count() == 4
    assert ClientOperation.objects.filter(user=admin_user).count() == 1
    # The same key for another body is refused, never answered with the first receipt.
    other = client.post(
        LINES, {**body, "note": "changed"}, format="json", HTTP_IDEMPOTENCY_KEY="po-7-receipt"
    )
    assert other.status_code == 422
    assert Unit.objects.count() == 4


def test_a_refused_receipt_is_refused_again_on_retry_and_receives_nothing(
    distributor, rep, lot_product
):
    client = _client(distributor)
    body = {"custodian": rep.pk, "lines": [_line(lot_product, lot_number="L1", quantity=1)]}
    first = client.post(LINES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(LINES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert not Unit.objects.exists()


# --- by UDI ------------------------------------------------------------------------------


def test_a_scanned_udi_receives_one_unit_keeping_the_label(admin_user, rep, serial_product):
    scan = f"(01){GTIN}(17)300131(10)LOT7(21)SN-1"
    response = _client(admin_user).post(UDI, {"udi": scan, "custodian": rep.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["serial_number"], body["lot_number"]) == ("SN-1", "LOT7")
    assert (body["expiration_date"], body["udi"]) == ("2030-01-31", scan)
    assert body["custodian"]["id"] == rep.pk


def test_a_label_no_product_carries_is_a_400_saying_so(admin_user, rep, serial_product):
    scan = "(01)00850001230025(21)SN-1"
    response = _client(admin_user).post(UDI, {"udi": scan, "custodian": rep.pk}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_product"
    assert error["message"] == "No product in the catalog has GTIN 00850001230025."
    assert error["fields"] == {"udi": ["No product in the catalog has GTIN 00850001230025."]}
    assert not Unit.objects.exists()


@pytest.mark.parametrize(
    "scan,words",
    [
        ("(01)123", None),
        (f"(01){GTIN}(10)LOT7", "KNEE-1 is serial-tracked but the barcode has no serial (21)."),
        ("\r\n", "Scan or paste a barcode."),
    ],
)
def test_a_scan_that_cannot_be_received_says_why(admin_user, rep, serial_product, scan, words):
    response = _client(admin_user).post(UDI, {"udi": scan, "custodian": rep.pk}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "udi" in fields
    if words:
        assert fields["udi"] == [words]
    assert not Unit.objects.exists()


def test_a_rep_cannot_receive_by_scan_even_an_unknown_label(rep):
    response = _client(rep).post(
        UDI, {"udi": "(01)00850001230025(21)SN-1", "custodian": rep.pk}, format="json"
    )
    assert response.status_code == 403


def test_a_scan_into_another_organizations_location_is_refused(admin_user, rep, serial_product):
    theirs = LocationFactory(organization=OrganizationFactory())
    response = _client(admin_user).post(
        UDI,
        {"udi": f"(01){GTIN}(21)SN-1", "custodian": None, "location": theirs.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["location"] == [
        "No location of your organization has this id."
    ]
    assert not Unit.objects.exists()


def test_another_organizations_admin_cannot_receive_into_this_ones_people(rep, serial_product):
    elsewhere_admin = UserFactory(organization=OrganizationFactory(), admin=True)
    response = _client(elsewhere_admin).post(
        UDI, {"udi": f"(01){GTIN}(21)SN-1", "custodian": rep.pk}, format="json"
    )
    assert response.status_code == 400
    assert "custodian" in response.json()["error"]["fields"]
    assert not Unit.objects.exists()


def test_an_admin_names_the_custodian_the_transfer_rule_refuses(admin_user, lot_product):
    other_admin = UserFactory(organization=admin_user.organization, admin=True)
    body = {"custodian": other_admin.pk, "lines": [_line(lot_product, lot_number="L1")]}
    response = _client(admin_user).post(LINES, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "custodian": ["Admins hold no stock; send it to organization custody instead."]
    }
    assert not Unit.objects.exists()
