"""Receiving (README, "Unit states"): by form, by UDI scan and by CSV import; all or nothing."""

import datetime
import io

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from inventory.models import CustodyEntry, EntryKind, Product, Unit, UnitState
from inventory.services.imports import NO_DEFAULT, units_import_csv
from inventory.services.receiving import ReceiveLine, unit_receive_udi, units_receive
from tests.factories import OrganizationFactory, RepFactory
from tests.inventory.factories import (
    LocationFactory,
    ProductFactory,
    ledger_problems,
    receive_units,
)

GTIN = "09506000134352"
EXPIRY = datetime.date(2027, 1, 31)


@pytest.fixture
def serial_product(org):
    return ProductFactory(organization=org, serial_tracked=True, catalog_number="KN-100")


@pytest.fixture
def lot_product(org):
    return ProductFactory(organization=org, lot_tracked=True, catalog_number="SCR-200")


def nothing_received():
    return Unit.objects.count() == 0 and CustodyEntry.objects.count() == 0


def messages_of(exc_info):
    return exc_info.value.messages


# --- units_receive -----------------------------------------------------------------------------


def test_serial_tracked_units_are_received_one_per_serial_with_a_received_entry(
    admin_user, rep, serial_product
):
    location = LocationFactory(
        organization=admin_user.organization, name="Riley's trunk", holder=rep
    )
    units = units_receive(
        actor=admin_user,
        lines=[
            ReceiveLine(
                product=serial_product,
                serial_numbers=["A1", " A2 ", ""],
                lot_number="L7",
                expiration_date=EXPIRY,
                location=location,
            )
        ],
        custodian=rep,
        note="PO 4411",
    )

    assert sorted(u.serial_number for u in units) == ["A1", "A2"]
    for unit in Unit.objects.filter(pk__in=[u.pk for u in units]):
        assert (unit.custodian, unit.state, unit.ledger_seq) == (rep, UnitState.AVAILABLE, 1)
        assert (unit.lot_number, unit.expiration_date, unit.location) == ("L7", EXPIRY, location)
        (entry,) = unit.ledger.all()
        assert (entry.kind, entry.sequence, entry.actor, entry.to_custodian) == (
            EntryKind.RECEIVED,
            1,
            admin_user,
            rep,
        )
        assert (entry.from_custodian, entry.from_state, entry.note) == (None, "", "PO 4411")
    assert ledger_problems() == []


def test_serial_tracked_product_needs_serial_numbers(admin_user, rep, serial_product):
    with pytest.raises(ValidationError) as exc:
        units_receive(
            actor=admin_user,
            lines=[ReceiveLine(product=serial_product, lot_number="L1", quantity=3)],
            custodian=rep,
        )

    assert messages_of(exc) == ["KN-100 is tracked by serial number: give one per unit."]
    assert nothing_received()


def test_serial_count_must_match_the_quantity(admin_user, rep, serial_product):
    with pytest.raises(ValidationError, match="quantity 3 does not match 2 serial"):
        units_receive(
            actor=admin_user,
            lines=[ReceiveLine(product=serial_product, serial_numbers=["A", "B"], quantity=3)],
            custodian=rep,
        )
    assert nothing_received()


def test_lot_quantity_creates_that_many_units(admin_user, distributor, lot_product):
    units = units_receive(
        actor=admin_user,
        lines=[
            ReceiveLine(product=lot_product, lot_number="LOT-9", quantity=5, expiration_date=EXPIRY)
        ],
        custodian=distributor,
    )

    assert len(units) == 5
    received = Unit.objects.filter(product=lot_product)
    assert received.count() == 5
    assert set(received.values_list("lot_number", "serial_number", "custodian_id", "state")) == {
        ("LOT-9", "", distributor.pk, UnitState.AVAILABLE)
    }
    assert CustodyEntry.objects.filter(kind=EntryKind.RECEIVED).count() == 5
    assert ledger_problems() == []


def test_lot_tracked_product_needs_a_lot_number(admin_user, rep, lot_product):
    with pytest.raises(ValidationError, match="SCR-200 is tracked by lot: give the lot number"):
        units_receive(
            actor=admin_user, lines=[ReceiveLine(product=lot_product, quantity=2)], custodian=rep
        )
    assert nothing_received()


@pytest.mark.parametrize("quantity", [0, -1, 1001])
def test_lot_quantity_must_be_sensible(admin_user, rep, lot_product, quantity):
    with pytest.raises(ValidationError, match="between 1 and 1,000"):
        units_receive(
            actor=admin_user,
            lines=[ReceiveLine(product=lot_product, lot_number="L", quantity=quantity)],
            custodian=rep,
        )
    assert nothing_received()


def test_duplicate_serials_in_the_input_and_on_record_are_all_listed_and_nothing_is_received(
    admin_user, rep, serial_product, lot_product
):
    receive_units(admin_user, rep, n=1, product=serial_product, serial_prefix="OLD-")
    before = (Unit.objects.count(), CustodyEntry.objects.count())

    with pytest.raises(ValidationError) as exc:
        units_receive(
            actor=admin_user,
            lines=[
                ReceiveLine(product=serial_product, serial_numbers=["N1", "N2", "N1"]),
                ReceiveLine(product=serial_product, serial_numbers=["OLD-1"]),
                ReceiveLine(product=lot_product, lot_number="L1", quantity=4),
            ],
            custodian=rep,
        )

    assert messages_of(exc) == [
        "serial N1 appears twice.",
        "KN-100 serial OLD-1 is already on record.",
    ]
    assert (Unit.objects.count(), CustodyEntry.objects.count()) == before


def test_the_same_serial_on_another_product_is_a_different_unit(admin_user, rep, serial_product):
    other = ProductFactory(organization=admin_user.organization)
    receive_units(admin_user, rep, n=1, product=serial_product, serial_prefix="X")

    (unit,) = receive_units(admin_user, rep, n=1, product=other, serial_prefix="X")

    assert unit.serial_number == "X1"


def test_admin_receives_into_organization_custody(admin_user, lot_product):
    units = receive_units(admin_user, None, n=2, product=lot_product)

    assert {u.custodian_id for u in Unit.objects.filter(pk__in=[u.pk for u in units])} == {None}
    assert ledger_problems() == []


def test_distributor_receives_into_own_custody(distributor, lot_product):
    units = receive_units(distributor, distributor, n=2, product=lot_product)

    entry = CustodyEntry.objects.get(unit=units[0])
    assert (entry.actor, entry.to_custodian) == (distributor, distributor)


@pytest.mark.parametrize("into", ["rep", "organization"])
def test_distributors_receive_only_into_their_own_custody(distributor, rep, lot_product, into):
    custodian = rep if into == "rep" else None

    with pytest.raises(ValidationError) as exc:
        receive_units(distributor, custodian, n=1, product=lot_product)

    assert "custodian" in exc.value.message_dict
    assert nothing_received()


def test_reps_cannot_receive_even_into_their_own_custody(rep, lot_product):
    with pytest.raises(PermissionDenied):
        receive_units(rep, rep, n=1, product=lot_product)
    assert nothing_received()


def test_admins_hold_no_stock_so_cannot_receive_into_an_admin(admin_user, lot_product):
    with pytest.raises(ValidationError, match="Admins hold no stock"):
        receive_units(admin_user, admin_user, n=1, product=lot_product)
    assert nothing_received()


def test_products_and_locations_of_another_organization_are_unknown(admin_user, rep, lot_product):
    foreign_org = OrganizationFactory()
    foreign_product = ProductFactory(organization=foreign_org, lot_tracked=True)
    foreign_location = LocationFactory(organization=foreign_org)

    with pytest.raises(ValidationError) as exc:
        units_receive(
            actor=admin_user,
            lines=[
                ReceiveLine(product=foreign_product, lot_number="L", quantity=1),
                ReceiveLine(product=lot_product, lot_number="L", location=foreign_location),
            ],
            custodian=rep,
        )

    assert messages_of(exc) == ["Unknown product.", "Unknown location."]
    assert nothing_received()


def test_receiving_into_someone_of_another_organization_is_refused(admin_user, lot_product):
    stranger = RepFactory(organization=OrganizationFactory())

    with pytest.raises(ValidationError):
        receive_units(admin_user, stranger, n=1, product=lot_product)
    assert nothing_received()


# --- unit_receive_udi --------------------------------------------------------------------------


def test_scanned_udi_finds_the_product_by_gtin_and_fills_lot_serial_and_expiry(admin_user, rep):
    product = ProductFactory(organization=admin_user.organization, gtin=GTIN)
    raw = f"(01){GTIN}(17)270131(10)LOT1(21)SER1"

    unit = unit_receive_udi(actor=admin_user, raw=raw, custodian=rep)

    unit.refresh_from_db()
    assert unit.product == product
    assert (unit.lot_number, unit.serial_number, unit.expiration_date) == (
        "LOT1",
        "SER1",
        EXPIRY,
    )
    assert (unit.udi, unit.custodian, unit.state) == (raw, rep, UnitState.AVAILABLE)
    assert unit.ledger.get().kind == EntryKind.RECEIVED
    assert ledger_problems() == []


def test_raw_scanner_output_with_group_separators_is_received(admin_user, rep):
    ProductFactory(organization=admin_user.organization, gtin=GTIN, lot_tracked=True)

    unit = unit_receive_udi(
        actor=admin_user, raw=f"]d201{GTIN}17270131" + "10LOT2\x1d21S-9", custodian=rep
    )

    assert (unit.lot_number, unit.serial_number, unit.expiration_date) == ("LOT2", "S-9", EXPIRY)


def test_lot_tracked_product_is_received_from_a_udi_without_serial(admin_user, rep):
    ProductFactory(organization=admin_user.organization, gtin=GTIN, lot_tracked=True)

    unit = unit_receive_udi(actor=admin_user, raw=f"(01){GTIN}(10)LOT3", custodian=rep)

    assert (unit.lot_number, unit.serial_number, unit.expiration_date) == ("LOT3", "", None)


def test_udi_with_an_unknown_gtin_is_refused(admin_user, rep):
    ProductFactory(organization=admin_user.organization, gtin=None)
    # The same GTIN in another organization's catalog does not count.
    ProductFactory(organization=OrganizationFactory(), gtin=GTIN)

    with pytest.raises(ValidationError) as exc:
        unit_receive_udi(actor=admin_user, raw=f"(01){GTIN}(21)S1", custodian=rep)

    assert exc.value.message_dict == {"udi": [f"No product in the catalog has GTIN {GTIN}."]}
    assert nothing_received()


@pytest.mark.parametrize(
    "raw",
    ["not a barcode", f"(01){GTIN[:-1]}3(21)S1", "", "(10)LOT(21)S1"],
    ids=["garbage", "bad check digit", "empty", "no GTIN"],
)
def test_malformed_udi_is_refused_next_to_the_udi_field(admin_user, rep, raw):
    ProductFactory(organization=admin_user.organization, gtin=GTIN)

    with pytest.raises(ValidationError) as exc:
        unit_receive_udi(actor=admin_user, raw=raw, custodian=rep)

    assert list(exc.value.message_dict) == ["udi"]
    assert nothing_received()


def test_serial_tracked_product_scanned_without_serial_is_refused(admin_user, rep):
    ProductFactory(
        organization=admin_user.organization, gtin=GTIN, serial_tracked=True, catalog_number="KN-1"
    )

    with pytest.raises(ValidationError) as exc:
        unit_receive_udi(actor=admin_user, raw=f"(01){GTIN}(10)LOT1", custodian=rep)

    assert exc.value.message_dict == {
        "udi": ["KN-1 is serial-tracked but the barcode has no serial (21)."]
    }
    assert nothing_received()


def test_scanning_the_same_serial_twice_receives_it_once(admin_user, rep):
    ProductFactory(organization=admin_user.organization, gtin=GTIN, catalog_number="KN-2")
    raw = f"(01){GTIN}(21)SER1"
    unit_receive_udi(actor=admin_user, raw=raw, custodian=rep)

    with pytest.raises(ValidationError, match="KN-2 serial SER1 is already on record"):
        unit_receive_udi(actor=admin_user, raw=raw, custodian=rep)

    assert Unit.objects.count() == 1


def test_reps_cannot_receive_by_scan(rep):
    ProductFactory(organization=rep.organization, gtin=GTIN)

    with pytest.raises(PermissionDenied):
        unit_receive_udi(actor=rep, raw=f"(01){GTIN}(21)S1", custodian=rep)
    assert nothing_received()


# --- units_import_csv --------------------------------------------------------------------------


def csv_bytes(*lines):
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_good_csv_creates_every_unit(admin_user, distributor, rep, serial_product, lot_product):
    LocationFactory(organization=admin_user.organization, name="Main warehouse", holder=distributor)
    LocationFactory(organization=admin_user.organization, name="Rep trunk", holder=rep)
    data = "\ufeff".encode() + csv_bytes(
        "Catalog_Number,serial_number,lot_number,expiration_date,quantity,location,custodian",
        "KN-100,S-1,L1,2027-01-31,,Main warehouse,",
        "kn-100,S-2,L1,2027-01-31,,,",
        "",
        f"SCR-200,,LOT-A,,3,rep TRUNK,{rep.username.upper()}",
        "SCR-200,,LOT-B,,,,organization",
    )

    units = units_import_csv(actor=admin_user, data=data, default_custodian=distributor)

    assert len(units) == 6
    rows = set(
        Unit.objects.values_list(
            "product__catalog_number", "serial_number", "lot_number", "custodian_id"
        )
    )
    assert rows == {
        ("KN-100", "S-1", "L1", distributor.pk),
        ("KN-100", "S-2", "L1", distributor.pk),
        ("SCR-200", "", "LOT-A", rep.pk),
        ("SCR-200", "", "LOT-B", None),
    }
    assert Unit.objects.filter(lot_number="LOT-A").count() == 3
    assert Unit.objects.get(serial_number="S-1").location.name == "Main warehouse"
    assert Unit.objects.get(serial_number="S-1").expiration_date == EXPIRY
    assert set(CustodyEntry.objects.values_list("kind", "note")) == {
        (EntryKind.RECEIVED, "CSV import")
    }
    assert ledger_problems() == []


def test_csv_with_several_bad_rows_reports_each_line_and_creates_nothing(
    admin_user, distributor, serial_product, lot_product
):
    data = csv_bytes(
        "catalog_number,serial_number,lot_number,expiration_date,quantity,location,custodian",
        "KN-100,S-1,L1,2027-01-31,,,",  # good
        "NOPE-1,S-2,L1,,,,",
        "KN-100,S-3,L1,31/01/2027,,,",
        "SCR-200,,LOT-A,,three,,",
        "SCR-200,,LOT-A,,2,Nowhere,",
        "SCR-200,,LOT-A,,2,,nobody",
        "KN-100,,L1,,,,",  # serial-tracked without serial
        "SCR-200,,LOT-B,,1,,,extra",
    )

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)

    messages = messages_of(exc)
    assert sorted(m.split(":")[0] for m in messages) == [f"Line {n}" for n in range(3, 10)]
    assert "Line 3: unknown catalog number 'NOPE-1'." in messages
    assert "Line 4: expiration_date '31/01/2027' is not YYYY-MM-DD." in messages
    assert "Line 5: quantity 'three' is not a whole number." in messages
    assert "Line 6: unknown location 'Nowhere'." in messages
    assert "Line 7: unknown holder 'nobody'." in messages
    assert "Line 8: KN-100 is tracked by serial number: give one per unit." in messages
    assert "Line 9: 8 value(s), but the header names 7 column(s)." in messages
    assert nothing_received()


def test_csv_row_with_several_problems_reports_them_on_one_line(admin_user, distributor):
    data = csv_bytes("catalog_number,expiration_date,quantity", "NOPE,2027-13-01,x")

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)

    assert messages_of(exc) == [
        "Line 2: unknown catalog number 'NOPE'; expiration_date '2027-13-01' is not "
        "YYYY-MM-DD; quantity 'x' is not a whole number."
    ]


def test_csv_duplicate_serial_across_rows_is_reported_even_for_different_holders(
    admin_user, distributor, rep, serial_product
):
    data = csv_bytes(
        "catalog_number,serial_number,custodian",
        f"KN-100,S-1,{distributor.username}",
        "KN-100,S-2,",
        f"KN-100,S-1,{rep.username}",
    )

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)

    assert messages_of(exc) == ["Line 4: serial S-1 appears twice (also on line 2)."]
    assert nothing_received()


def test_csv_serial_already_on_record_is_reported_with_its_line(
    admin_user, distributor, serial_product
):
    receive_units(admin_user, distributor, n=1, product=serial_product, serial_prefix="S-")
    before = Unit.objects.count()
    data = csv_bytes("catalog_number,serial_number", "KN-100,S-9", "KN-100,S-1")

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)

    assert messages_of(exc) == ["Line 3: KN-100 serial S-1 is already on record."]
    assert Unit.objects.count() == before


def test_csv_good_rows_for_one_holder_are_not_kept_when_another_holders_rows_fail(
    admin_user, distributor, rep, serial_product
):
    data = csv_bytes(
        "catalog_number,serial_number,custodian",
        f"KN-100,S-1,{distributor.username}",
        f"KN-100,,{rep.username}",
    )

    with pytest.raises(ValidationError, match="Line 3"):
        units_import_csv(actor=admin_user, data=data, default_custodian=None)

    assert nothing_received()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("serial_number,lot_number", "The first row must name the columns"),
        ("KN-100,S-1,L1", "The first row must name the columns"),
        ("catalog_number,serial,colour", "Unknown column(s): colour, serial."),
        (
            # Spelled differently, still the same column: the second value would replace the first.
            "catalog_number,serial_number,Serial_Number",
            "Column(s) named more than once in the first row: serial_number.",
        ),
    ],
    ids=["no catalog_number", "no header row", "unknown columns", "repeated column"],
)
def test_csv_with_a_bad_header_is_refused(admin_user, distributor, serial_product, header, message):
    data = csv_bytes(header, "KN-100,S-1,L1")

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)

    assert message in messages_of(exc)[0]
    assert nothing_received()


def test_csv_that_is_not_utf8_is_refused(admin_user, distributor, lot_product):
    data = "catalog_number,lot_number\nSCR-200,Lötnummer\n".encode("latin-1")

    with pytest.raises(ValidationError, match="not UTF-8"):
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)
    assert nothing_received()


def test_csv_with_a_header_and_no_rows_is_refused(admin_user, distributor):
    with pytest.raises(ValidationError, match="no rows"):
        units_import_csv(
            actor=admin_user, data=csv_bytes("catalog_number"), default_custodian=distributor
        )


def test_csv_naming_a_deactivated_holder_reports_the_line(
    admin_user, distributor, rep, lot_product
):
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    data = csv_bytes(
        "catalog_number,lot_number,custodian",
        "SCR-200,L1,",
        f"SCR-200,L2,{rep.username}",
    )

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)

    assert any(m.startswith("Line 3:") and "deactivated" in m for m in messages_of(exc)), (
        messages_of(exc)
    )
    assert nothing_received()


def test_csv_without_a_default_custody_imports_when_every_row_names_its_custodian(
    admin_user, distributor, rep, lot_product
):
    data = csv_bytes(
        "catalog_number,lot_number,custodian",
        f"SCR-200,L1,{distributor.username}",
        f"SCR-200,L2,{rep.username}",
        "SCR-200,L3,organization",
    )

    units = units_import_csv(actor=admin_user, data=data, default_custodian=NO_DEFAULT)

    assert {u.lot_number: u.custodian_id for u in units} == {
        "L1": distributor.pk,
        "L2": rep.pk,
        "L3": None,
    }


def test_csv_without_a_default_custody_refuses_each_row_that_names_no_custodian(
    admin_user, distributor, lot_product
):
    data = csv_bytes(
        "catalog_number,lot_number,custodian",
        f"SCR-200,L1,{distributor.username}",
        "SCR-200,L2,",
        "SCR-200,L3, ",
    )

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=admin_user, data=data, default_custodian=NO_DEFAULT)

    no_custodian = "no custodian: name one in the custodian column, or choose a default custody."
    assert messages_of(exc) == [f"Line 3: {no_custodian}", f"Line 4: {no_custodian}"]
    assert nothing_received()


def test_distributor_without_a_default_still_imports_only_into_her_own_custody(
    distributor, rep, lot_product
):
    data = csv_bytes(
        "catalog_number,lot_number,custodian",
        f"SCR-200,L1,{distributor.username}",
        f"SCR-200,L2,{rep.username}",
    )

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=distributor, data=data, default_custodian=NO_DEFAULT)

    assert [m.split(":")[0] for m in messages_of(exc)] == ["Line 3"]
    assert "you can receive only into your own custody" in messages_of(exc)[0]
    assert nothing_received()


def test_distributor_imports_into_own_custody(distributor, lot_product):
    data = csv_bytes("catalog_number,lot_number,quantity", "SCR-200,L1,2")

    units = units_import_csv(actor=distributor, data=data, default_custodian=distributor)

    assert {u.custodian_id for u in units} == {distributor.pk}


def test_distributor_csv_row_for_someone_else_reports_the_line(distributor, rep, lot_product):
    data = csv_bytes(
        "catalog_number,lot_number,custodian",
        "SCR-200,L1,",
        f"SCR-200,L2,{rep.username}",
    )

    with pytest.raises(ValidationError) as exc:
        units_import_csv(actor=distributor, data=data, default_custodian=distributor)

    assert any(m.startswith("Line 3:") for m in messages_of(exc)), messages_of(exc)
    assert nothing_received()


def test_reps_cannot_import(rep, lot_product):
    data = csv_bytes("catalog_number,lot_number", "SCR-200,L1")

    with pytest.raises(PermissionDenied):
        units_import_csv(actor=rep, data=data, default_custodian=rep)
    assert nothing_received()


def test_product_catalog_numbers_of_another_organization_are_unknown_in_csv(
    admin_user, distributor
):
    ProductFactory(organization=OrganizationFactory(), catalog_number="FOREIGN-1", lot_tracked=True)
    data = csv_bytes("catalog_number,lot_number", "FOREIGN-1,L1")

    with pytest.raises(ValidationError, match="Line 2: unknown catalog number 'FOREIGN-1'"):
        units_import_csv(actor=admin_user, data=data, default_custodian=distributor)
    assert Product.objects.filter(catalog_number="FOREIGN-1").count() == 1
    assert nothing_received()


def _custodian_field(client, user):
    client.force_login(user)
    response = client.get(reverse("inventory:receive"))
    return response, response.context["form"].fields["custodian"]


def _accepted(field, values):
    accepted = set()
    for value in values:
        try:
            field.clean(str(value))
        except forms.ValidationError:
            continue
        accepted.add(str(value))
    return accepted


def test_the_receive_page_lets_an_admin_pick_the_organization_or_any_holder(
    client, admin_user, distributor, rep
):
    inactive = RepFactory(organization=admin_user.organization, is_active=False)
    stranger = RepFactory(organization=OrganizationFactory())

    response, field = _custodian_field(client, admin_user)

    candidates = ["org", distributor.pk, rep.pk, inactive.pk, stranger.pk]
    assert _accepted(field, candidates) == {"org", str(distributor.pk), str(rep.pk)}
    assert field.clean("Organization custody") == "org"
    # A type-ahead box, not a <select> listing every holder.
    body = response.content.decode()
    assert f'<option value="{rep.pk}"' not in body
    assert 'name="custodian"' in body and "data-holder-url" in body


def test_the_receive_page_offers_a_distributor_only_her_own_custody(client, distributor, rep):
    _, field = _custodian_field(client, distributor)

    assert [str(value) for value, _ in field.choices] == [str(distributor.pk)]
    assert _accepted(field, ["org", rep.pk, distributor.pk]) == {str(distributor.pk)}


# --- The CSV tab of the receiving page -----------------------------------------------------------


def _post_csv(client, content: bytes, **fields):
    upload = io.BytesIO(content)
    upload.name = "units.csv"
    data = {"csv-file": upload, **{f"csv-{k}": v for k, v in fields.items()}}
    return client.post(reverse("inventory:receive_csv"), data)


def test_receive_csv_needs_no_default_custody_when_every_row_names_one(
    client, admin_user, distributor, rep, lot_product
):
    client.force_login(admin_user)
    content = csv_bytes(
        "catalog_number,lot_number,custodian",
        f"SCR-200,L1,{distributor.username}",
        f"SCR-200,L2,{rep.username}",
    )

    response = _post_csv(client, content)  # Default custody left blank

    assert response.status_code == 302
    assert set(Unit.objects.values_list("lot_number", "custodian_id")) == {
        ("L1", distributor.pk),
        ("L2", rep.pk),
    }


def test_receive_csv_without_default_custody_names_the_rows_that_need_one(
    client, admin_user, distributor, lot_product
):
    client.force_login(admin_user)
    content = csv_bytes(
        "catalog_number,lot_number,custodian", f"SCR-200,L1,{distributor.username}", "SCR-200,L2,"
    )

    response = _post_csv(client, content, custodian="")

    assert response.status_code == 400
    assert "Line 3: no custodian: name one in the custodian column, or choose a default " in (
        response.content.decode()
    )
    assert nothing_received()


@pytest.mark.parametrize("why", ["rows refused", "no file"])
def test_a_refused_csv_import_keeps_the_chosen_custody_and_asks_for_the_file_again(
    client, admin_user, distributor, lot_product, why
):
    client.force_login(admin_user)
    if why == "no file":
        response = client.post(
            reverse("inventory:receive_csv"), {"csv-custodian": distributor.username}
        )
    else:
        content = csv_bytes("catalog_number,lot_number", "NOPE,L1")
        response = _post_csv(client, content, custodian=distributor.username)

    assert response.status_code == 400  # as every refused CSV import (tests/test_bad_input.py)
    form = response.context["csv_form"]
    assert form["custodian"].value() == distributor.username
    body = response.content.decode()
    assert f'name="csv-custodian" value="{distributor.username}"' in body
    assert "Choose the file again: the browser does not keep it" in body
    assert response.context["active_tab"] == "csv"
    assert nothing_received()


def test_the_csv_tab_asks_for_the_file_only_after_a_refusal(client, admin_user):
    client.force_login(admin_user)
    body = client.get(reverse("inventory:receive")).content.decode()
    assert "Choose the file again" not in body
