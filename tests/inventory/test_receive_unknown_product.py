"""Receiving by scan reads HIBC labels as it reads GS1 ones, and a label whose product is not in
the catalog says so exactly; an admin then gives its GTIN or HIBC identity to a product (an
existing one, or a new one) and the unit is received from the same scan, never retyped."""

import datetime
import re
from html import unescape

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

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
from tests.inventory.factories import (
    LocationFactory,
    ProductFactory,
    ledger_problems,
    receive_units,
)

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
    org = admin_user.organization
    # Another labeler's product 1234 (first in catalog order), and another organization's
    # A999 1234, are not it.
    ProductFactory(organization=org, catalog_number="AA-1", hibc_lic="B111", hibc_product="1234")
    ProductFactory(organization=OrganizationFactory(), hibc_lic="A999", hibc_product="1234")
    product = ProductFactory(
        organization=org, catalog_number="ZZ-1", hibc_lic="A999", hibc_product="1234"
    )

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


# --- the Receive by UDI page ---------------------------------------------------------------------


def scan_post(raw, custodian="org", location=""):
    """What the UDI form posts, and what its hidden copies post again."""
    return {"udi-udi": raw, "udi-custodian": custodian, "udi-location": location}


def hidden_values(html):
    """The (name, value) pairs of the hidden inputs that carry the scan."""
    found = re.findall(r'<input type="hidden" name="(udi-[a-z]+)" value="([^"]*)">', html)
    return [(name, unescape(value)) for name, value in found]


def test_an_unknown_scan_offers_an_admin_both_forms_carrying_the_scan(client, admin_user, rep):
    location = LocationFactory(organization=admin_user.organization, holder=rep)
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:receive_udi"), scan_post(GS1_SCAN, rep.username, str(location.pk))
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f"No product in the catalog has GTIN {GTIN}." in html
    assert "Ask an admin" not in html
    assert response.context["unknown"].identity == f"GTIN {GTIN}"
    assert 'action="/inventory/receive/scan/attach/"' in html
    assert 'action="/inventory/receive/scan/new-product/"' in html
    # Each of the two forms carries the scan, its custodian and location, never retyped.
    carried = [
        ("udi-udi", GS1_SCAN),
        ("udi-custodian", rep.username),
        ("udi-location", str(location.pk)),
    ]
    assert hidden_values(html) == carried * 2
    # The scan stays in its box (id and name unchanged), and the product box takes the focus.
    assert 'name="udi-udi"' in html and 'id="id_udi-udi"' in html
    assert response.context["udi_form"]["udi"].value() == GS1_SCAN
    assert "autofocus" in str(response.context["unknown"].attach_form["product"])
    assert "autofocus" not in str(response.context["udi_form"]["udi"])
    assert nothing_received()


@pytest.mark.parametrize(
    ("raw", "identity"),
    [(GS1_SCAN, f"GTIN {GTIN}"), (HIBC_SCAN, "HIBC labeler A999 product 1234")],
    ids=["gs1", "hibc"],
)
def test_a_distributor_is_told_to_ask_an_admin_and_gets_no_attach_form(
    client, distributor, raw, identity
):
    client.force_login(distributor)

    response = client.post(reverse("inventory:receive_udi"), scan_post(raw, str(distributor.pk)))

    html = response.content.decode()
    assert response.context["udi_form"].errors["udi"] == [
        f"No product in the catalog has {identity}.",
        "Ask an admin to add it to the catalog.",
    ]
    assert "receive/scan/attach/" not in html and "receive/scan/new-product/" not in html
    assert 'name="attach-product"' not in html
    assert nothing_received()


def test_an_hibc_package_label_is_refused_on_the_page_without_offering_the_catalog(
    client, admin_user
):
    client.force_login(admin_user)

    response = client.post(reverse("inventory:receive_udi"), scan_post(HIBC_BOX))

    assert response.context["udi_form"].errors["udi"] == [
        "That is the barcode of a package (HIBC packaging level 1), not of one unit: "
        "scan the unit's own label."
    ]
    assert response.context["unknown"] is None
    assert nothing_received()


def test_an_hibc_scan_is_received_on_the_page(client, admin_user):
    product = ProductFactory(
        organization=admin_user.organization, hibc_lic="A999", hibc_product="1234"
    )
    client.force_login(admin_user)

    response = client.post(reverse("inventory:receive_udi"), scan_post(HIBC_SCAN), follow=True)

    assert response.redirect_chain == [(reverse("inventory:receive"), 302)]
    assert f"Received {product.catalog_number}" in response.content.decode()
    assert Unit.objects.get().product == product


@pytest.mark.parametrize("raw", [GS1_SCAN, HIBC_SCAN], ids=["gs1", "hibc"])
def test_an_admin_attaches_the_scan_to_a_product_and_the_unit_is_received(
    client, admin_user, rep, raw
):
    product = ProductFactory(organization=admin_user.organization, catalog_number="KN-100")
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:receive_udi_attach"),
        {**scan_post(raw, rep.username), "attach-product": "kn-100"},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("inventory:receive"), 302)]
    body = response.content.decode()
    identity = f"GTIN {GTIN}" if raw == GS1_SCAN else "HIBC labeler A999 product 1234"
    assert f"KN-100 now has {identity}." in body
    assert "Received KN-100" in body
    product.refresh_from_db()
    unit = Unit.objects.get()
    assert (unit.product, unit.udi, unit.custodian) == (product, raw, rep)
    assert (product.gtin, product.hibc) == ((GTIN, "") if raw == GS1_SCAN else (None, "A9991234"))
    assert ledger_problems() == []


def test_attaching_to_a_product_with_another_gtin_is_refused_and_keeps_the_scan(client, admin_user):
    ProductFactory(organization=admin_user.organization, catalog_number="KN-1", gtin=OTHER_GTIN)
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:receive_udi_attach"), {**scan_post(GS1_SCAN), "attach-product": "KN-1"}
    )

    assert response.status_code == 200
    attach_form = response.context["unknown"].attach_form
    (error,) = attach_form.non_field_errors()
    assert error.startswith(f"KN-1 already has GTIN {OTHER_GTIN};")
    assert attach_form["product"].value() == "KN-1"
    assert response.context["udi_form"]["udi"].value() == GS1_SCAN
    assert ("udi-udi", GS1_SCAN) in hidden_values(response.content.decode())
    assert identities() == {("KN-1", OTHER_GTIN, "", "")}
    assert nothing_received()


def test_an_unknown_catalog_number_names_products_that_could_take_the_gtin(client, admin_user):
    ProductFactory(organization=admin_user.organization, catalog_number="KN-100")
    ProductFactory(organization=admin_user.organization, catalog_number="KN-101")
    ProductFactory(organization=admin_user.organization, catalog_number="KN-102", gtin=OTHER_GTIN)
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:receive_udi_attach"), {**scan_post(GS1_SCAN), "attach-product": "kn"}
    )

    assert response.context["unknown"].attach_form.errors["product"] == [
        "No product has the catalog number “kn”. Products that match: KN-100, KN-101."
    ]
    assert identities() == {
        ("KN-100", None, "", ""),
        ("KN-101", None, "", ""),
        ("KN-102", OTHER_GTIN, "", ""),
    }
    assert nothing_received()


def test_a_distributor_cannot_attach_or_create_from_a_scan(client, distributor):
    product = ProductFactory(organization=distributor.organization, catalog_number="KN-1")
    client.force_login(distributor)
    scan = scan_post(GS1_SCAN, str(distributor.pk))

    attach = client.post(
        reverse("inventory:receive_udi_attach"), {**scan, "attach-product": "KN-1"}
    )
    create = client.post(
        reverse("inventory:receive_udi_new_product"),
        {
            **scan,
            "new-catalog_number": "KN-9",
            "new-description": "x",
            "new-manufacturer": "y",
            "new-tracking": "serial",
        },
    )
    search = client.get(reverse("inventory:product_search"), {"identity": "gtin", "q": "KN"})

    assert (attach.status_code, create.status_code, search.status_code) == (403, 403, 403)
    assert identities() == {(product.catalog_number, None, "", "")}
    assert nothing_received()


def test_an_admin_creates_a_product_from_the_scan_and_the_unit_is_received(client, admin_user, rep):
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:receive_udi_new_product"),
        {
            **scan_post(GS1_SCAN, rep.username),
            "new-catalog_number": "KN-900",
            "new-description": "Tibial insert 9",
            "new-manufacturer": "Acme Orthopedics",
            "new-product_line": "Knee",
            "new-tracking": "serial",
            "new-single_use": "on",
        },
        follow=True,
    )

    body = response.content.decode()
    assert "Added KN-900 Tibial insert 9 to the catalog." in body
    assert "Received KN-900" in body
    product = Product.objects.get()
    assert (product.catalog_number, product.gtin, product.tracking, product.single_use) == (
        "KN-900",
        GTIN,
        Product.Tracking.SERIAL,
        True,
    )
    assert Unit.objects.get().product == product


def test_a_new_product_clashing_with_the_catalog_is_refused_and_keeps_the_scan(client, admin_user):
    ProductFactory(organization=admin_user.organization, catalog_number="KN-900")
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:receive_udi_new_product"),
        {
            **scan_post(GS1_SCAN),
            "new-catalog_number": "kn-900",
            "new-description": "Tibial insert 9",
            "new-manufacturer": "Acme Orthopedics",
            "new-tracking": "serial",
        },
    )

    new_form = response.context["unknown"].new_product_form
    assert new_form.errors["catalog_number"] == ["Another product already has this catalog number."]
    assert '<details class="mt-4" open' in response.content.decode()
    assert "autofocus" in str(new_form["catalog_number"])
    assert ("udi-udi", GS1_SCAN) in hidden_values(response.content.decode())
    assert Product.objects.count() == 1
    assert nothing_received()


def test_the_new_product_form_guesses_tracking_from_the_label(client, admin_user):
    client.force_login(admin_user)

    with_serial = client.post(reverse("inventory:receive_udi"), scan_post(GS1_SCAN))
    lot_only = client.post(reverse("inventory:receive_udi"), scan_post(f"(01){GTIN}(10)L1"))

    assert with_serial.context["unknown"].new_product_form["tracking"].value() == "serial"
    assert lot_only.context["unknown"].new_product_form["tracking"].value() == "lot"


def test_a_tampered_scan_is_refused_and_nothing_changes(client, admin_user):
    product = ProductFactory(organization=admin_user.organization, catalog_number="KN-1")
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:receive_udi_attach"), {**scan_post(HIBC_BOX), "attach-product": "KN-1"}
    )

    assert "HIBC packaging level 1" in response.content.decode()
    product.refresh_from_db()
    assert product.hibc == ""
    assert nothing_received()


def test_product_search_offers_only_products_without_that_identity(client, admin_user):
    ProductFactory(
        organization=admin_user.organization, catalog_number="KN-1", description="Tibial tray"
    )
    ProductFactory(organization=admin_user.organization, catalog_number="KN-2", gtin=GTIN)
    ProductFactory(
        organization=admin_user.organization,
        catalog_number="SCR-1",
        description="Cortical screw",
        hibc_lic="A999",
        hibc_product="1",
    )
    ProductFactory(organization=OrganizationFactory(), catalog_number="KN-3")
    client.force_login(admin_user)
    url = reverse("inventory:product_search")

    def labels(**query):
        return [r["label"] for r in client.get(url, query).json()["results"]]

    assert labels(identity="gtin", q="kn") == ["KN-1"]
    assert labels(identity="hibc", q="kn") == ["KN-1", "KN-2"]
    assert labels(identity="gtin", q="screw") == ["SCR-1"]
    assert labels(identity="hibc", q="screw") == []
    assert client.get(url, {"identity": "gtin", "q": "KN"}).json()["results"][0] == {
        "label": "KN-1",
        "name": "Tibial tray",
        "role": "Acme Orthopedics",
    }
    assert client.get(url, {"q": "KN"}).status_code == 400
