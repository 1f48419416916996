"""Units received into a lot or serial of an active recall are quarantined on receipt, whatever
the receiving path (form, UDI scan, CSV import, background import): a "quarantined" entry naming
the recall follows "received", custody and location stay as received, and the recall counts
them (so a return or a withdrawal covers them). A withdrawn recall, another product with the
same lot, or another lot quarantines nothing."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.models import CustodyEntry, EntryKind, Location, RecallUnit, Unit, UnitState
from inventory.services.imports import units_import_begin, units_import_csv
from inventory.services.recalls import recall_record, recall_return, recall_withdraw
from inventory.services.receiving import unit_receive_udi
from jobs.models import Job
from tests import taskqueue
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units

GTIN = "00850001230049"


@pytest.fixture
def screws(org):
    return ProductFactory(organization=org, lot_tracked=True, catalog_number="SCR-9", gtin=GTIN)


@pytest.fixture
def recall(admin_user, screws):
    return recall_record(
        actor=admin_user,
        reference="R-REC",
        reason="Mislabelled length",
        recall_class="II",
        product=screws,
        lot_numbers=["BAD"],
        serial_numbers=["SN-BAD"],
        recall_date=datetime.date(2026, 3, 1),
    )


def _assert_quarantined_on_receipt(units, recall, custodian):
    assert {u.state for u in units} == {UnitState.QUARANTINED}
    for unit in Unit.objects.filter(pk__in=[u.pk for u in units]):
        assert unit.state == UnitState.QUARANTINED
        assert unit.custodian_id == (custodian.pk if custodian else None)
        kinds = list(
            CustodyEntry.objects.filter(unit=unit)
            .order_by("sequence")
            .values_list("kind", "recall_id", "from_custodian_id", "to_custodian_id")
        )
        holder = custodian.pk if custodian else None
        assert kinds == [
            (EntryKind.RECEIVED, None, None, holder),
            (EntryKind.QUARANTINED, recall.pk, holder, holder),
        ]
    assert set(RecallUnit.objects.filter(recall=recall).values_list("unit_id", flat=True)) >= {
        u.pk for u in units
    }
    assert ledger_problems() == []


def test_a_lot_received_by_the_form_is_quarantined_and_the_page_says_so(
    client, distributor, screws, recall
):
    client.force_login(distributor)
    response = client.post(
        reverse("inventory:receive"),
        {"product": screws.pk, "lot_number": "BAD", "quantity": 3, "custodian": distributor.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    units = list(Unit.objects.filter(lot_number="BAD"))
    assert len(units) == 3
    _assert_quarantined_on_receipt(units, recall, distributor)
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("3 received unit(s)" in n and "quarantined" in n for n in notes)


def test_a_scanned_udi_of_a_recalled_lot_is_quarantined(admin_user, rep, recall):
    unit = unit_receive_udi(actor=admin_user, raw=f"(01){GTIN}(17)301231(10)BAD", custodian=rep)
    _assert_quarantined_on_receipt([unit], recall, rep)


def test_a_recalled_serial_is_quarantined_and_keeps_its_location(admin_user, org, recall):
    shelf = Location.objects.create(organization=org, name="Returns shelf")
    unit = unit_receive_udi(
        actor=admin_user, raw=f"(01){GTIN}(10)OK(21)SN-BAD", custodian=None, location=shelf
    )
    _assert_quarantined_on_receipt([unit], recall, None)
    assert Unit.objects.get(pk=unit.pk).location_id == shelf.pk


def test_a_csv_import_quarantines_only_the_recalled_rows(org, admin_user, distributor, recall):
    ProductFactory(organization=org, lot_tracked=True, catalog_number="PL-1")
    data = (
        b"catalog_number,serial_number,lot_number,expiration_date,quantity\n"
        b"SCR-9,,BAD,2030-01-01,2\n"
        b"SCR-9,,GOOD,2030-01-01,2\n"
        b"PL-1,,BAD,2030-01-01,1\n"
    )
    units = units_import_csv(actor=admin_user, data=data, default_custodian=distributor)
    bad = [u for u in units if u.lot_number == "BAD" and u.product_id == recall.product_id]
    _assert_quarantined_on_receipt(bad, recall, distributor)
    good = Unit.objects.exclude(pk__in=[u.pk for u in bad])
    assert good.count() == 3
    assert set(good.values_list("state", flat=True)) == {UnitState.AVAILABLE}


def test_a_background_import_quarantines_the_recalled_rows(
    settings, admin_user, distributor, recall
):
    settings.IMPORT_MAX_UNITS = 1
    data = (
        b"catalog_number,serial_number,lot_number,expiration_date,quantity\n"
        b"SCR-9,,BAD,2030-01-01,3\n"
    )
    job = units_import_begin(actor=admin_user, data=data, default_custodian=distributor)
    assert isinstance(job, Job)
    taskqueue.run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    _assert_quarantined_on_receipt(list(Unit.objects.all()), recall, distributor)


def test_a_withdrawn_recall_another_lot_or_another_product_quarantines_nothing(
    org, admin_user, distributor, screws, recall
):
    plates = ProductFactory(organization=org, lot_tracked=True)
    other_product = receive_units(admin_user, distributor, n=1, product=plates, lot_number="BAD")
    other_lot = receive_units(admin_user, distributor, n=1, product=screws, lot_number="GOOD")
    recall_withdraw(actor=admin_user, recall=recall, reason="Wrong lot")
    after = receive_units(admin_user, distributor, n=1, product=screws, lot_number="BAD")
    for unit in [*other_product, *other_lot, *after]:
        assert Unit.objects.get(pk=unit.pk).state == UnitState.AVAILABLE
    assert ledger_problems() == []


def test_units_quarantined_on_receipt_are_returned_with_the_rest(
    admin_user, distributor, screws, recall
):
    late = receive_units(admin_user, distributor, n=2, product=screws, lot_number="BAD")
    shipment = recall_return(
        actor=admin_user, recall=recall, reference="RMA-1", returned_on=datetime.date(2026, 3, 9)
    )
    assert set(shipment.units.values_list("unit_id", flat=True)) == {u.pk for u in late}
    assert {u.state for u in Unit.objects.filter(pk__in=[u.pk for u in late])} == {
        UnitState.INACTIVE
    }
    assert ledger_problems() == []


def test_withdrawing_puts_units_quarantined_on_receipt_back_to_available(
    admin_user, distributor, screws, recall
):
    late = receive_units(admin_user, distributor, n=2, product=screws, lot_number="BAD")
    recall_withdraw(actor=admin_user, recall=recall, reason="Wrong lot")
    assert {u.state for u in Unit.objects.filter(pk__in=[u.pk for u in late])} == {
        UnitState.AVAILABLE
    }
    assert ledger_problems() == []


def test_the_recall_page_shows_units_quarantined_on_receipt_as_such(
    client, admin_user, distributor, screws, recall
):
    """A unit received into the recall's lot after it was recorded was never found available:
    the recall quarantined it as it came in, and its page says so."""
    (late,) = receive_units(admin_user, distributor, n=1, product=screws, lot_number="BAD")
    assert RecallUnit.objects.get(recall=recall, unit=late).on_receipt
    client.force_login(admin_user)
    page = client.get(reverse("inventory:recall_detail", args=[recall.pk]))
    (row,) = page.context["page"].rows
    assert row.unit_id == late.pk
    assert row.found_display == "Quarantined on receipt"
    html = page.content.decode()
    assert '<td data-testid="found">Quarantined on receipt</td>' in html
    assert '<td data-testid="found">Available</td>' not in html
