"""A scan is checked against the record: a label that names a unit by serial and disagrees with
its record on GTIN, lot or expiry is refused with both values, and nothing changes. A field the
record lacks is no disagreement."""

import datetime

import pytest
from django.urls import reverse

from inventory.models import CustodyEntry, Unit
from inventory.selectors.scans import units_from_scan
from tests.events.factories import open_event
from tests.inventory.factories import ProductFactory, receive_units

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"  # valid GTIN-14
OTHER_GTIN = "09506000134369"  # valid too, another product's
EXPIRY = datetime.date(2030, 1, 31)


@pytest.fixture
def unit(org, admin_user, rep):
    product = ProductFactory(organization=org, gtin=GTIN)
    (unit,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="R-",
        lot_number="L26102",
        expiration_date=EXPIRY,
    )
    return unit


def _scan(text):
    scanned = units_from_scan(qs=Unit.objects.all(), text=text)
    return scanned.found, scanned.problems


@pytest.mark.parametrize(
    "label",
    [
        f"(01){GTIN}(17)300131(10)L26102(21)R-1",
        f"(01){GTIN}(17)300100(10)L26102(21)R-1",  # day 00: the month's last day
        f"(01){GTIN}(21)R-1",  # carries no lot or expiry: nothing to disagree on
        f"https://id.gs1.org/01/{GTIN}/10/L26102/21/R-1?17=300131",
        f"https://labels.example.com/product/01/{GTIN}/10/L26102/21/R-1",
        f"]d2(01){GTIN}(10)L26102(21)R-1",
    ],
)
def test_a_label_that_agrees_with_the_record_finds_the_unit(unit, label):
    assert _scan(label) == ([unit], [])


@pytest.mark.parametrize(
    ("label", "said", "kept"),
    [
        (f"(01){GTIN}(10)L26999(21)R-1", "label: lot L26999", "record: lot L26102"),
        (
            f"(01){GTIN}(17)300228(10)L26102(21)R-1",
            "label: expiry 2030-02-28",
            "record: expiry 2030-01-31",
        ),
        (f"(01){OTHER_GTIN}(21)R-1", f"label: GTIN {OTHER_GTIN}", f"record: GTIN {GTIN}"),
        (
            f"(01){GTIN}(17)291231(10)WRONGLOT(21)R-1",
            "label: lot WRONGLOT, expiry 2029-12-31",
            "record: lot L26102, expiry 2030-01-31",
        ),
    ],
)
def test_a_label_that_disagrees_with_the_record_is_refused_with_both_values(
    unit, label, said, kept
):
    found, (problem,) = _scan(label)
    assert found == []
    assert said in problem and kept in problem and unit.label in problem


def test_a_field_the_record_lacks_is_not_a_disagreement(org, admin_user, rep):
    product = ProductFactory(organization=org, gtin=GTIN)
    (bare,) = receive_units(admin_user, rep, n=1, product=product, serial_prefix="B-")
    Unit.objects.filter(pk=bare.pk).update(lot_number="", expiration_date=None)

    assert _scan(f"(01){GTIN}(17)300131(10)ANYLOT(21)B-1") == ([bare], [])


def test_mark_used_refuses_a_mismatched_label_and_changes_nothing(client, rep, unit):
    case = open_event(rep)
    entries = CustodyEntry.objects.count()
    client.force_login(rep)

    response = client.post(
        reverse("events:mark_used", args=[case.pk]),
        {"scan": f"(01){GTIN}(10)L26999(21)R-1"},
        follow=True,
    )

    page = response.content.decode()
    assert "label: lot L26999" in page and "record: lot L26102" in page
    assert not case.lines.exists()
    unit.refresh_from_db()
    assert unit.state == "available" and CustodyEntry.objects.count() == entries
