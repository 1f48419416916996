"""Products carry an optional HIBC identity (labeler code + product number): an HIBC scan finds
the product as a GTIN scan does, a disagreeing HIBC product is a label mismatch, and Mark Used
refuses the label of a higher packaging level (a box of several)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from inventory.forms import ProductForm
from inventory.models import CustodyEntry, Product, Unit
from inventory.selectors.recalls import lookup_query
from inventory.selectors.scans import units_from_scan
from inventory.services.catalog import product_create
from inventory.udi import hibc_check_character
from tests.events.factories import open_event
from tests.inventory.factories import ProductFactory, receive_units

pytestmark = pytest.mark.django_db


def hibc(data: str) -> str:
    """An HIBC symbol's text: + data, then its mod-43 check character (computed)."""
    return f"+{data}{hibc_check_character('+' + data)}"


@pytest.fixture
def unit(org, admin_user, rep):
    product = ProductFactory(organization=org, hibc_lic="A999", hibc_product="1234")
    (unit,) = receive_units(
        admin_user,
        rep,
        n=1,
        product=product,
        serial_prefix="H",
        lot_number="LOTX",
        expiration_date=datetime.date(2030, 1, 31),
    )
    return unit


def _scan(text, **kwargs):
    scanned = units_from_scan(qs=Unit.objects.all(), text=text, **kwargs)
    return scanned.found, scanned.problems


def test_an_hibc_label_finds_its_unit(unit):
    assert _scan(hibc("A99912340/$$+7H1")) == ([unit], [])
    assert _scan(hibc("A99912340/$$3300131LOTX/SH1")) == ([unit], [])


def test_an_hibc_label_of_another_product_is_a_mismatch(unit):
    found, (problem,) = _scan(hibc("A99955550/$$+7H1"))
    assert found == []
    assert "label: HIBC product A9995555" in problem and "record: HIBC product A9991234" in problem


def test_an_hibc_label_whose_lot_disagrees_is_refused(unit):
    found, (problem,) = _scan(hibc("A99912340/$$3300131WRONG/SH1"))
    assert found == [] and "label: lot WRONG" in problem and "record: lot LOTX" in problem


def test_an_hibc_lot_only_label_takes_a_unit_of_the_lot(org, admin_user, rep):
    product = ProductFactory(
        organization=org, hibc_lic="B111", hibc_product="77", tracking=Product.Tracking.LOT
    )
    (unit,) = receive_units(admin_user, rep, n=1, product=product, lot_number="LL1")
    assert _scan(hibc("B111770/$LL1")) == ([unit], [])
    # The same lot under another HIBC product is not this unit.
    assert _scan(hibc("B111780/$LL1"))[0] == []


def test_a_product_without_hibc_identity_is_found_by_serial(org, admin_user, rep):
    product = ProductFactory(organization=org)
    (unit,) = receive_units(admin_user, rep, n=1, product=product, serial_prefix="Z")
    assert _scan(hibc("C22212340/$+Z1")) == ([unit], [])


def test_mark_used_refuses_a_package_level_label(unit):
    found, (problem,) = _scan(hibc("A99912342/$$+7H1"), units_of_use_only=True)
    assert found == [] and "packaging level 2" in problem
    # The lookups (recall, transfer) may read the box: its serial still names the unit.
    assert _scan(hibc("A99912342/$$+7H1")) == ([unit], [])


def test_mark_used_page_refuses_a_box_label_and_changes_nothing(client, rep, unit):
    case = open_event(rep)
    entries = CustodyEntry.objects.count()
    client.force_login(rep)
    response = client.post(
        reverse("events:mark_used", args=[case.pk]),
        {"scan": hibc("A99912341/$$+7H1")},
        follow=True,
    )
    assert "packaging level 1" in response.content.decode()
    assert not case.lines.exists() and CustodyEntry.objects.count() == entries


def test_mark_used_page_marks_a_unit_by_hibc(client, rep, unit):
    case = open_event(rep)
    client.force_login(rep)
    client.post(reverse("events:mark_used", args=[case.pk]), {"scan": hibc("A99912340/SH1")})
    assert list(case.lines.values_list("unit_id", flat=True)) == [unit.pk]
    entry = CustodyEntry.objects.filter(unit=unit).latest("sequence")
    assert entry.identified_by == "scan:hibcc"


def test_recall_lookup_reads_an_hibc_label(org, unit):
    lookup = lookup_query(organization_id=org.pk, code=hibc("A99912340/$$+7H1"))
    assert lookup.description == "HIBC A9991234 lot LOTX (scanned: serial H1)"
    assert list(Unit.objects.filter(lookup.q)) == [unit]


def test_product_form_takes_an_hibc_identity_in_either_case():
    form = ProductForm(
        {
            "catalog_number": "C-1",
            "description": "Screw",
            "manufacturer": "Acme",
            "hibc_lic": "a999",
            "hibc_product": "12ab",
            "tracking": "serial",
        }
    )
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["hibc_lic"], form.cleaned_data["hibc_product"]) == ("A999", "12AB")


@pytest.mark.parametrize(
    ("lic", "number", "field"),
    [
        ("9999", "1", "hibc_lic"),  # a letter first
        ("A99", "1", "hibc_lic"),
        ("A999", "12-3", "hibc_product"),
        ("A999", "1" * 19, "hibc_product"),
        ("A999", "", "hibc_product"),  # both or neither
        ("", "123", "hibc_lic"),
    ],
)
def test_product_form_refuses_a_malformed_hibc_identity(lic, number, field):
    form = ProductForm(
        {
            "catalog_number": "C-1",
            "description": "Screw",
            "manufacturer": "Acme",
            "hibc_lic": lic,
            "hibc_product": number,
            "tracking": "serial",
        }
    )
    assert not form.is_valid() and field in form.errors


def test_an_hibc_identity_is_unique_per_organization(org, admin_user):
    product_create(
        actor=admin_user,
        catalog_number="P-1",
        description="a",
        manufacturer="m",
        hibc_lic="A999",
        hibc_product="1",
    )
    with pytest.raises(ValidationError) as caught:
        product_create(
            actor=admin_user,
            catalog_number="P-2",
            description="b",
            manufacturer="m",
            hibc_lic="A999",
            hibc_product="1",
        )
    assert "hibc_product" in caught.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(organization=org, hibc_lic="A999", hibc_product="1")


def test_the_database_refuses_half_an_hibc_identity(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(organization=org, hibc_lic="A999", hibc_product="")


def test_a_label_naming_only_the_product_asks_for_the_serial_or_lot(unit):
    for label in (hibc("A99912340"), "(01)09506000134352"):
        found, (problem,) = _scan(label)
        assert found == [] and "names only the product" in problem


def test_a_lot_only_label_never_takes_another_products_unit(org, admin_user, rep):
    """A lot is shared by products: a lot-only label must name the unit's product. (A serial
    names one unit, so there a record lacking the identity is no disagreement.)"""
    gtin_only = ProductFactory(organization=org, gtin="09506000134352", tracking="lot")
    receive_units(admin_user, rep, n=1, product=gtin_only, lot_number="LOT7")
    bare = ProductFactory(organization=org, tracking="lot")
    receive_units(admin_user, rep, n=1, product=bare, lot_number="LOT7")
    assert _scan(hibc("A99912340/$LOT7"))[0] == []
    assert _scan("(01)09506000134369(10)LOT7")[0] == []
    hibc_product = ProductFactory(
        organization=org, hibc_lic="A999", hibc_product="1234", tracking="lot"
    )
    (own,) = receive_units(admin_user, rep, n=1, product=hibc_product, lot_number="LOT7")
    assert _scan(hibc("A99912340/$LOT7")) == ([own], [])
