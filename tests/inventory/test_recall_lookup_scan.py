"""Scanning a unit's label in the recall lookup shows its lot: every unit of the lot, the
scanned one marked, whether the label carries the lot or only the serial."""

import re

import pytest
from django.urls import reverse

from tests.inventory.factories import ProductFactory, receive_units

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"


@pytest.fixture
def lot(org, admin_user, rep, distributor):
    product = ProductFactory(organization=org, gtin=GTIN)
    receive_units(admin_user, rep, n=2, product=product, serial_prefix="R-", lot_number="L9")
    receive_units(
        admin_user, distributor, n=1, product=product, serial_prefix="D-", lot_number="L9"
    )
    receive_units(admin_user, rep, n=1, product=product, serial_prefix="X-", lot_number="OTHER")


@pytest.mark.parametrize(
    "scan",
    [
        f"(01){GTIN}(10)L9(21)R-2",
        f"(01){GTIN}(21)R-2",  # no lot on the label: the record's lot
        f"https://id.gs1.org/01/{GTIN}/10/L9/21/R-2",
    ],
)
def test_a_scanned_unit_shows_its_whole_lot_with_the_unit_marked(client, admin_user, lot, scan):
    client.force_login(admin_user)
    page = client.get(reverse("inventory:recall_lookup"), {"code": scan}).content.decode()

    assert "3 unit(s) for" in page and "lot L9 (scanned: serial R-2)" in page
    rows = re.findall(r"<tr>\s*<td><a href=\"/inventory/units/\d+/\".*?</tr>", page, re.S)
    assert sorted(re.search(r"(R-\d|D-\d|X-\d)", r).group(1) for r in rows) == ["D-1", "R-1", "R-2"]
    (marked,) = [r for r in rows if 'data-testid="scanned-unit"' in r]
    assert "R-2" in marked
