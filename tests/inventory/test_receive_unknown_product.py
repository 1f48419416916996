"""Receiving by scan reads HIBC labels as it reads GS1 ones, and a label whose product is not in
the catalog says so exactly; an admin then gives its GTIN or HIBC identity to a product (an
existing one, or a new one) and the unit is received from the same scan, never retyped."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from inventory.models import CustodyEntry, EntryKind, Product, Unit, UnitState
from inventory.services import catalog
from inventory.services.catalog import product_attach_identity
from inventory.services.receiving import (
    UnknownProduct,
    unit_receive_udi,
    unit_receive_udi_attaching,
    unit_receive_udi_new_product,
)
from inventory.udi import hibc_check_character
from tests.factories import OrganizationFactory
from tests.inventory.factories import ProductFactory, ledger_problems, receive_units

pytestmark = pytest.mark.django_db

GTIN = "09506000134352"
OTHER_GTIN = "00850001230025"
GS1_SCAN = f"(01){GTIN}(17)300131(10)LOT7(21)SN-1"


def hibc(data: str) -> str:
    """An HIBC symbol's text: + data, then its mod-43 check character (computed)."""
    return f"+{data}{hibc_check_character('+' + data)}"


# Labeler A999, product 1234, unit of use (0); lot LOTX, expiry 2030-01-31, serial H1.
HIBC_SCAN = hibc("A99912340/$$3300131LOTX/SH1")
HIBC_BOX = hibc("A99912341/$$3300131LOTX/SH1")  # the same product's box of several (level 1)


def nothing_received():
    return not Unit.objects.exists() and not CustodyEntry.objects.exists()


def identities():
    return set(Product.objects.values_list("catalog_number", "gtin", "hibc_lic", "hibc_product"))


# --- HIBC labels --------------------------------------------------------------------------------


def test_an_hibc_scan_finds_its_product_by_labeler_and_product_number(admin_user, rep):
    product = ProductFactory(
        organization=admin_user.organization, hibc_lic="A999", hibc_product="1234"
    )
    # Another labeler's product 1234, and another organization's A999 1234, are not it.
    ProductFactory(organization=admin_user.organization, hibc_lic="B111", hibc_product="1234")
    ProductFactory(organization=OrganizationFactory(), hibc_lic="A999", hibc_product="1234")

    unit = unit_receive_udi(actor=admin_user, raw=HIBC_SCAN, custodian=rep)

    unit.refresh_from_db()
    assert unit.product == product
    assert (unit.lot_number, unit.serial_number, unit.expiration_date) == (
        "LOTX",
        "H1",
        datetime.date(2030, 1, 31),
    )
    assert (unit.udi, unit.custodian, unit.state) == (HIBC_SCAN, rep, UnitState.AVAILABLE)
    assert unit.ledger.get().kind == EntryKind.RECEIVED
    assert ledger_problems() == []


def test_an_hibc_package_label_is_refused_and_nothing_is_received(admin_user, rep):
    ProductFactory(organization=admin_user.organization, hibc_lic="A999", hibc_product="1234")

    with pytest.raises(ValidationError) as exc:
        unit_receive_udi(actor=admin_user, raw=HIBC_BOX, custodian=rep)

    assert exc.value.message_dict == {
        "udi": [
            "That is the barcode of a package (HIBC packaging level 1), not of one unit: "
            "scan the unit's own label."
        ]
    }
    assert nothing_received()


def test_a_serial_tracked_product_scanned_from_an_hibc_label_without_serial_is_refused(
    admin_user, rep
):
    ProductFactory(
        organization=admin_user.organization,
        hibc_lic="A999",
        hibc_product="1234",
        catalog_number="IMP-1",
    )

    with pytest.raises(ValidationError) as exc:
        unit_receive_udi(actor=admin_user, raw=hibc("A99912340/$$3300131LOTX"), custodian=rep)

    assert exc.value.message_dict == {
        "udi": ["IMP-1 is serial-tracked but the barcode has no serial."]
    }
    assert nothing_received()


# --- unknown products ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (GS1_SCAN, f"No product in the catalog has GTIN {GTIN}."),
        (HIBC_SCAN, "No product in the catalog has HIBC labeler A999 product 1234."),
    ],
    ids=["gs1", "hibc"],
)
def test_an_unknown_product_is_named_exactly(admin_user, rep, raw, message):
    # The identity on a product of another organization does not count.
    ProductFactory(
        organization=OrganizationFactory(), gtin=GTIN, hibc_lic="A999", hibc_product="1234"
    )

    with pytest.raises(UnknownProduct) as exc:
        unit_receive_udi(actor=admin_user, raw=raw, custodian=rep)

    assert exc.value.message_dict == {"udi": [message]}
    assert exc.value.label.raw == raw
    assert nothing_received()


# --- product_attach_identity --------------------------------------------------------------------


def test_an_admin_attaches_a_gtin_and_an_hibc_identity(admin_user):
    product = ProductFactory(organization=admin_user.organization, catalog_number="KN-1")

    product_attach_identity(actor=admin_user, product=product, gtin=GTIN)
    saved = product_attach_identity(
        actor=admin_user, product=product, hibc_lic="a999", hibc_product="1234"
    )

    assert (saved.gtin, saved.hibc) == (GTIN, "A9991234")
    assert identities() == {("KN-1", GTIN, "A999", "1234")}
    # Product changes are not custody changes: nothing on the ledger.
    assert not CustodyEntry.objects.exists()


def test_attaching_what_the_product_already_has_changes_nothing(admin_user):
    product = ProductFactory(organization=admin_user.organization, gtin=GTIN)

    assert product_attach_identity(actor=admin_user, product=product, gtin=GTIN).gtin == GTIN


def test_attaching_refuses_to_overwrite_a_different_gtin_and_names_it(admin_user):
    product = ProductFactory(
        organization=admin_user.organization, catalog_number="KN-1", gtin=OTHER_GTIN
    )

    with pytest.raises(ValidationError) as exc:
        product_attach_identity(actor=admin_user, product=product, gtin=GTIN)

    (message,) = exc.value.message_dict["gtin"]
    assert message.startswith(f"KN-1 already has GTIN {OTHER_GTIN};")
    assert identities() == {("KN-1", OTHER_GTIN, "", "")}


def test_attaching_refuses_to_overwrite_a_different_hibc_identity_and_names_it(admin_user):
    product = ProductFactory(
        organization=admin_user.organization,
        catalog_number="KN-1",
        hibc_lic="B111",
        hibc_product="77",
    )

    with pytest.raises(ValidationError) as exc:
        product_attach_identity(
            actor=admin_user, product=product, hibc_lic="A999", hibc_product="1234"
        )

    (message,) = exc.value.message_dict["hibc_product"]
    assert message.startswith("KN-1 already has HIBC labeler B111 product 77;")
    assert identities() == {("KN-1", None, "B111", "77")}


def test_attaching_refuses_an_identity_another_product_has(admin_user):
    ProductFactory(
        organization=admin_user.organization,
        catalog_number="KN-1",
        gtin=GTIN,
        hibc_lic="A999",
        hibc_product="1234",
    )
    bare = ProductFactory(organization=admin_user.organization, catalog_number="KN-2")

    with pytest.raises(ValidationError) as exc:
        product_attach_identity(actor=admin_user, product=bare, gtin=GTIN)
    assert exc.value.message_dict == {"gtin": ["Another product already has this GTIN."]}

    with pytest.raises(ValidationError) as exc:
        product_attach_identity(
            actor=admin_user, product=bare, hibc_lic="A999", hibc_product="1234"
        )
    assert exc.value.message_dict == {
        "hibc_product": ["Another product already has this HIBC identity."]
    }
    assert identities() == {("KN-1", GTIN, "A999", "1234"), ("KN-2", None, "", "")}


def test_a_clash_slipping_past_the_check_still_lands_on_the_field(admin_user, monkeypatch):
    """Another admin can give the GTIN to another product between the check and the update:
    the database refuses it and the service still names the field."""
    ProductFactory(organization=admin_user.organization, gtin=GTIN)
    bare = ProductFactory(organization=admin_user.organization)
    real, calls = catalog._product_clashes, []

    def blind_first(product):
        calls.append(product)
        return {} if len(calls) == 1 else real(product)

    monkeypatch.setattr(catalog, "_product_clashes", blind_first)

    with pytest.raises(ValidationError) as exc:
        product_attach_identity(actor=admin_user, product=bare, gtin=GTIN)

    assert exc.value.message_dict == {"gtin": ["Another product already has this GTIN."]}
    assert len(calls) == 2
    bare.refresh_from_db()
    assert bare.gtin is None


def test_only_admins_attach_identities(distributor, rep):
    product = ProductFactory(organization=distributor.organization)
    for actor in (distributor, rep):
        with pytest.raises(PermissionDenied):
            product_attach_identity(actor=actor, product=product, gtin=GTIN)
    product.refresh_from_db()
    assert product.gtin is None


def test_another_organizations_product_is_unknown(admin_user):
    stranger = ProductFactory(organization=OrganizationFactory())

    with pytest.raises(ValidationError, match="Unknown product"):
        product_attach_identity(actor=admin_user, product=stranger, gtin=GTIN)
    stranger.refresh_from_db()
    assert stranger.gtin is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gtin": "09506000134353"}, "gtin"),
        ({"hibc_lic": "A999"}, "hibc_product"),
        ({"hibc_lic": "9999", "hibc_product": "1"}, "hibc_product"),
        ({}, "__all__"),  # NON_FIELD_ERRORS
    ],
    ids=["bad check digit", "half an HIBC identity", "bad labeler code", "nothing"],
)
def test_attaching_a_malformed_identity_is_refused(admin_user, kwargs, field):
    product = ProductFactory(organization=admin_user.organization)

    with pytest.raises(ValidationError) as exc:
        product_attach_identity(actor=admin_user, product=product, **kwargs)

    assert list(exc.value.update_error_dict({})) == [field]
    product.refresh_from_db()
    assert (product.gtin, product.hibc) == (None, "")


# --- attach (or create), then receive from the same scan ---------------------------------------


@pytest.mark.parametrize(
    ("raw", "next_raw"),
    [(GS1_SCAN, f"(01){GTIN}(21)SN-2"), (HIBC_SCAN, hibc("A99912340/$$3300131LOTX/SH2"))],
    ids=["gs1", "hibc"],
)
def test_attaching_the_scans_identity_then_receives_the_unit(admin_user, rep, raw, next_raw):
    product = ProductFactory(organization=admin_user.organization, catalog_number="KN-1")

    unit = unit_receive_udi_attaching(actor=admin_user, raw=raw, custodian=rep, product=product)

    product.refresh_from_db()
    assert (product.gtin, product.hibc) == ((GTIN, "") if raw == GS1_SCAN else (None, "A9991234"))
    assert (unit.product, unit.udi, unit.custodian) == (product, raw, rep)
    # The next scan of that product finds it.
    assert unit_receive_udi(actor=admin_user, raw=next_raw, custodian=rep).product == product
    assert ledger_problems() == []


def test_when_the_unit_cannot_be_received_the_product_is_left_as_it_was(admin_user, rep):
    product = ProductFactory(organization=admin_user.organization, catalog_number="KN-1")
    receive_units(admin_user, rep, product=product, serial_prefix="SN-")  # SN-1 is on record
    before = (Unit.objects.count(), CustodyEntry.objects.count())

    with pytest.raises(ValidationError, match="KN-1 serial SN-1 is already on record"):
        unit_receive_udi_attaching(actor=admin_user, raw=GS1_SCAN, custodian=rep, product=product)

    product.refresh_from_db()
    assert product.gtin is None
    assert (Unit.objects.count(), CustodyEntry.objects.count()) == before


def test_a_package_label_attaches_nothing(admin_user, rep):
    product = ProductFactory(organization=admin_user.organization)

    with pytest.raises(ValidationError, match="HIBC packaging level 1"):
        unit_receive_udi_attaching(actor=admin_user, raw=HIBC_BOX, custodian=rep, product=product)

    product.refresh_from_db()
    assert product.hibc == ""
    assert nothing_received()


def test_a_new_product_from_the_scan_carries_its_identity_and_receives_the_unit(admin_user, rep):
    unit = unit_receive_udi_new_product(
        actor=admin_user,
        raw=HIBC_SCAN,
        custodian=rep,
        catalog_number="IMP-9",
        description="Bone anchor 5 mm",
        manufacturer="Acme",
        tracking=Product.Tracking.SERIAL,
    )

    product = Product.objects.get(catalog_number="IMP-9")
    assert (product.gtin, product.hibc, product.organization) == (
        None,
        "A9991234",
        admin_user.organization,
    )
    assert (unit.product, unit.serial_number, unit.udi) == (product, "H1", HIBC_SCAN)


def test_a_new_product_is_not_added_when_its_unit_cannot_be_received(admin_user, rep):
    with pytest.raises(ValidationError, match="serial-tracked but the barcode has no serial"):
        unit_receive_udi_new_product(
            actor=admin_user,
            raw=f"(01){GTIN}(10)LOT7",
            custodian=rep,
            catalog_number="KN-9",
            description="Tibial insert",
            manufacturer="Acme",
            tracking=Product.Tracking.SERIAL,
        )

    assert not Product.objects.exists()
    assert nothing_received()


def test_distributors_neither_attach_nor_create_from_a_scan(distributor):
    product = ProductFactory(organization=distributor.organization)

    with pytest.raises(PermissionDenied):
        unit_receive_udi_attaching(
            actor=distributor, raw=GS1_SCAN, custodian=distributor, product=product
        )
    with pytest.raises(PermissionDenied):
        unit_receive_udi_new_product(
            actor=distributor,
            raw=GS1_SCAN,
            custodian=distributor,
            catalog_number="KN-9",
            description="Tibial insert",
            manufacturer="Acme",
        )

    assert identities() == {(product.catalog_number, None, "", "")}
    assert nothing_received()
