"""One device, one record: serial and lot numbers take printable ASCII without spaces, so a
pasted look-alike (zero-width space, Cyrillic, fullwidth, a typographic hyphen, a combining
mark, a control character) cannot record the same device a second time."""

import pytest
from django.core.exceptions import ValidationError

from inventory.models import Unit
from inventory.services.imports import units_import_csv
from inventory.services.receiving import ReceiveLine, units_receive
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db

LOOK_ALIKES = [
    ("D-1002\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u0414-1002", "U+0414 CYRILLIC CAPITAL LETTER DE"),
    ("\uff24-1002", "U+FF24 FULLWIDTH LATIN CAPITAL LETTER D"),
    ("D\u20101002", "U+2010 HYPHEN"),
    ("D-1002\u0301", "U+0301 COMBINING ACUTE ACCENT"),
    ("D-10\x0702", "U+0007"),
    ("D 1002", "U+0020"),
]


@pytest.mark.parametrize(("serial", "named"), LOOK_ALIKES)
def test_receiving_refuses_a_look_alike_serial_naming_the_character(admin_user, serial, named):
    product = ProductFactory(organization=admin_user.organization)
    with pytest.raises(ValidationError) as refused:
        units_receive(
            actor=admin_user,
            custodian=None,
            lines=[ReceiveLine(product=product, serial_numbers=["D-1001", serial])],
        )
    assert named in " ".join(refused.value.messages)
    assert not Unit.objects.exists()  # all or nothing: D-1001 was not received either


def test_receiving_refuses_a_look_alike_lot(admin_user):
    product = ProductFactory(organization=admin_user.organization, tracking="lot")
    with pytest.raises(ValidationError, match="The lot number contains U\\+2010 HYPHEN"):
        units_receive(
            actor=admin_user,
            custodian=None,
            lines=[ReceiveLine(product=product, lot_number="L\u201026", quantity=2)],
        )
    assert not Unit.objects.exists()


def test_a_csv_row_with_a_look_alike_serial_is_refused_by_line(admin_user):
    product = ProductFactory(organization=admin_user.organization)
    data = (
        "catalog_number,serial_number,lot_number,expiration_date,quantity\n"
        f"{product.catalog_number},D-1001,L1,2030-01-01,1\n"
        f"{product.catalog_number},\u0414-1002,L1,2030-01-01,1\n"
    ).encode()
    with pytest.raises(ValidationError) as refused:
        units_import_csv(actor=admin_user, data=data, default_custodian=None)
    assert any(
        m.startswith("Line 3:") and "U+0414 CYRILLIC CAPITAL LETTER DE" in m
        for m in refused.value.messages
    )
    assert not Unit.objects.exists()


def test_plain_ascii_codes_are_received(admin_user):
    product = ProductFactory(organization=admin_user.organization)
    units = units_receive(
        actor=admin_user,
        custodian=None,
        lines=[ReceiveLine(product=product, lot_number="L-26/1.A", serial_numbers=["D-1002"])],
    )
    assert [u.serial_number for u in units] == ["D-1002"]
