"""CSV import is parsed strictly and capped (the attack run's cases): a quote left open or a
ragged row is a numbered line error, and one import cannot create more units than the caps."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from inventory.models import CustodyEntry, Unit
from inventory.services.imports import units_import_csv
from inventory.services.receiving import ReceiveLine, units_receive
from tests.inventory.factories import ProductFactory

HEADER = "catalog_number,serial_number,lot_number,expiration_date,quantity"


@pytest.fixture
def lot_product(org):
    return ProductFactory(organization=org, lot_tracked=True, catalog_number="SCR-200")


@pytest.fixture
def serial_product(org):
    return ProductFactory(organization=org, serial_tracked=True, catalog_number="KN-100")


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _import(actor, data, custodian=None):
    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=actor, data=data, default_custodian=custodian)
    assert not Unit.objects.exists() and not CustodyEntry.objects.exists()
    return exc.value.messages


def test_an_unterminated_quote_is_a_numbered_line_error_not_one_garbled_serial(
    admin_user, serial_product
):
    messages = _import(
        admin_user,
        _csv(HEADER, "KN-100,S-1,,,", 'KN-100,"S-2,,,', "KN-100,S-3,,,", "KN-100,S-4,,,"),
    )
    assert len(messages) == 1
    assert messages[0].startswith("Line 3: the file cannot be read from here")
    assert "quote" in messages[0]


def test_text_after_a_closing_quote_is_a_numbered_line_error(admin_user, serial_product):
    messages = _import(admin_user, _csv(HEADER, "KN-100,S-1,,,", 'KN-100,"S-2"x,,,'))
    assert messages[0].startswith("Line 3: the file cannot be read from here")


@pytest.mark.parametrize(
    ("row", "count"), [("KN-100,S-1,,,,extra", 6), ("KN-100,S-1", 2), ("KN-100,S-1,,", 4)]
)
def test_a_ragged_row_is_a_numbered_line_error(admin_user, serial_product, row, count):
    messages = _import(admin_user, _csv(HEADER, "KN-100,S-0,,,", row))
    assert messages == [f"Line 3: {count} value(s), but the header names 5 column(s)."]


def test_blank_lines_are_skipped(admin_user, distributor, lot_product):
    data = _csv(HEADER, "", "SCR-200,,LOT-A,,2", "", "SCR-200,,LOT-B,,1")
    units = units_import_csv(actor=admin_user, data=data, default_custodian=distributor)
    assert sorted(u.lot_number for u in units) == ["LOT-A", "LOT-A", "LOT-B"]


def test_a_quoted_line_break_is_read_as_part_of_the_value_and_refused_in_a_lot(
    admin_user, distributor, lot_product
):
    data = _csv(HEADER, "", 'SCR-200,,"LOT\nA",,2', "", "SCR-200,,LOT-B,,1")
    assert _import(admin_user, data, distributor) == [
        "Line 3: The lot number contains U+000A LINE FEED at position 4. "
        "Use plain letters, digits and punctuation, without spaces."
    ]


def test_the_attack_file_100_rows_of_1000_units_is_refused_before_any_unit_is_made(
    admin_user, distributor, lot_product, django_assert_max_num_queries
):
    data = _csv(HEADER, *[f"SCR-200,,LOT-{i},,1000" for i in range(100)])
    with django_assert_max_num_queries(10):
        messages = _import(admin_user, data, distributor)
    assert messages == [
        "This file would create 100,000 units; one import creates at most 5,000. Split the file."
    ]


def test_the_cap_counts_rows_times_quantity(admin_user, distributor, lot_product, settings):
    settings.IMPORT_MAX_UNITS = 5
    messages = _import(admin_user, _csv(HEADER, "SCR-200,,L1,,3", "SCR-200,,L2,,3"), distributor)
    assert "This file would create 6 units; one import creates at most 5." in messages[0]
    units = units_import_csv(
        actor=admin_user,
        data=_csv(HEADER, "SCR-200,,L1,,3", "SCR-200,,L2,,2"),
        default_custodian=distributor,
    )
    assert len(units) == 5


def test_more_rows_than_the_cap_stops_reading_at_once(
    admin_user, distributor, serial_product, settings
):
    settings.IMPORT_MAX_UNITS = 3
    messages = _import(
        admin_user, _csv(HEADER, *[f"KN-100,S-{i},,," for i in range(10)]), distributor
    )
    assert messages == [
        "The file has more than 3 rows; one import creates at most 3 units. Split the file."
    ]


def test_a_row_over_the_per_row_quantity_cap_names_the_cap(admin_user, distributor, lot_product):
    messages = _import(admin_user, _csv(HEADER, "SCR-200,,L1,,1001"), distributor)
    assert messages == ["Line 2: quantity must be between 1 and 1,000 per row (limit 1,000)."]


def test_permission_is_checked_before_the_file_is_read(rep):
    with pytest.raises(PermissionDenied):
        units_import_csv(actor=rep, data=b'\xff\x00"broken', default_custodian=rep)


def test_the_receive_forms_quantity_follows_the_same_cap(client, admin_user, lot_product, settings):
    settings.RECEIVE_MAX_QUANTITY = 50
    client.force_login(admin_user)
    page = client.get(reverse("inventory:receive")).content.decode()
    assert 'max="50"' in page and "at most 50 at a time" in page
    response = client.post(
        reverse("inventory:receive"),
        {"product": lot_product.pk, "lot_number": "L1", "quantity": 51, "custodian": "org"},
    )
    assert "less than or equal to 50" in response.content.decode()
    assert not Unit.objects.exists()


def test_receiving_by_hand_is_capped_too(admin_user, lot_product, settings):
    settings.RECEIVE_MAX_QUANTITY = 50
    line = ReceiveLine(product=lot_product, lot_number="L1", quantity=51)
    with pytest.raises(ValidationError, match="between 1 and 50"):
        units_receive(actor=admin_user, lines=[line], custodian=None)


def test_the_csv_upload_page_shows_the_cap_message(client, admin_user, lot_product, settings):
    import io

    # Over the in-request cap a file goes to the background, up to the background cap.
    settings.IMPORT_MAX_UNITS = 5
    settings.IMPORT_BACKGROUND_MAX_UNITS = 10
    upload = io.BytesIO(_csv(HEADER, "SCR-200,,L1,,11"))
    upload.name = "units.csv"
    client.force_login(admin_user)
    response = client.post(
        reverse("inventory:receive_csv"), {"csv-file": upload, "csv-custodian": "org"}
    )
    assert response.status_code == 400
    assert "one import creates at most 10" in response.content.decode()
