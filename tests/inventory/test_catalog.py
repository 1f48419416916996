"""Catalog numbers and location names are unique per organization regardless of case: the
service says so next to the field, the database enforces it, and the forms only check shape."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from inventory.models import Location, Product
from inventory.services import catalog
from inventory.services.catalog import _product_clashes, product_create
from inventory.services.locations import location_create
from tests.factories import DistributorFactory, OrganizationFactory, UserFactory

GTIN = "09506000134352"


def new_product(admin, catalog_number, gtin=None):
    return product_create(
        actor=admin,
        catalog_number=catalog_number,
        description="Cortical screw 3.5 mm",
        manufacturer="Acme Ortho",
        gtin=gtin,
    )


def field_errors(call):
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.message_dict


# --- Products ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_catalog_number_differing_only_in_case_is_refused_on_its_field(admin_user):
    new_product(admin_user, "ABC-100")

    errors = field_errors(lambda: new_product(admin_user, "abc-100"))

    assert errors == {"catalog_number": ["Another product already has this catalog number."]}
    assert Product.objects.count() == 1


@pytest.mark.django_db
def test_gtin_taken_is_refused_on_its_field(admin_user):
    new_product(admin_user, "ABC-100", gtin=GTIN)

    errors = field_errors(lambda: new_product(admin_user, "ABC-200", gtin=GTIN))

    assert errors == {"gtin": ["Another product already has this GTIN."]}


@pytest.mark.django_db
def test_same_catalog_number_in_another_organization_is_fine(admin_user):
    new_product(admin_user, "ABC-100")
    other_admin = UserFactory(organization=OrganizationFactory(), admin=True)

    new_product(other_admin, "abc-100")

    assert Product.objects.filter(catalog_number__iexact="abc-100").count() == 2


@pytest.mark.django_db
def test_database_refuses_catalog_numbers_differing_only_in_case(org):
    Product.objects.create(organization=org, catalog_number="ABC-100", description="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(organization=org, catalog_number="abc-100", description="y")


@pytest.mark.django_db
def test_a_clash_slipping_past_the_check_still_lands_on_the_field(admin_user, monkeypatch):
    """A concurrent request can add the same number between the check and the insert: the
    database refuses it and the service still names the field."""
    new_product(admin_user, "ABC-100")
    real = _product_clashes
    calls = []

    def blind_first(product):
        calls.append(product)
        return {} if len(calls) == 1 else real(product)

    monkeypatch.setattr(catalog, "_product_clashes", blind_first)

    errors = field_errors(lambda: new_product(admin_user, "Abc-100"))

    assert errors == {"catalog_number": ["Another product already has this catalog number."]}
    assert len(calls) == 2


@pytest.mark.django_db
def test_product_page_shows_the_clash_next_to_the_catalog_number(client, admin_user):
    new_product(admin_user, "ABC-100")
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:product_list"),
        {
            "catalog_number": "abc-100",
            "description": "Another",
            "manufacturer": "Acme",
            "tracking": "serial",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "catalog_number": ["Another product already has this catalog number."]
    }
    assert Product.objects.count() == 1


# --- Locations --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_location_name_differing_only_in_case_is_refused_on_its_field(org):
    distributor = DistributorFactory(organization=org)
    location_create(actor=distributor, name="Main Warehouse", kind="warehouse")

    errors = field_errors(
        lambda: location_create(actor=distributor, name="main warehouse", kind="bin")
    )

    assert errors == {"name": ["A location with this name exists already."]}
    assert Location.objects.count() == 1


@pytest.mark.django_db
def test_same_location_name_in_another_organization_is_fine(admin_user):
    location_create(actor=admin_user, name="Main Warehouse", kind="warehouse")
    other_admin = UserFactory(organization=OrganizationFactory(), admin=True)

    location_create(actor=other_admin, name="MAIN WAREHOUSE", kind="warehouse")

    assert Location.objects.count() == 2


@pytest.mark.django_db
def test_database_refuses_location_names_differing_only_in_case(org):
    Location.objects.create(organization=org, name="Main Warehouse")
    with pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.create(organization=org, name="MAIN warehouse")


@pytest.mark.django_db
def test_location_page_shows_the_clash_next_to_the_name(client, admin_user):
    location_create(actor=admin_user, name="Main Warehouse", kind="warehouse")
    client.force_login(admin_user)

    response = client.post(
        reverse("inventory:location_list"), {"name": "MAIN WAREHOUSE", "kind": "warehouse"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "name": ["A location with this name exists already."]
    }


# --- The migration that introduced the constraints -------------------------------------------


@pytest.mark.django_db
def test_migration_lists_existing_case_insensitive_duplicates(org):
    migration = importlib.import_module(
        "inventory.migrations.0009_case_insensitive_catalog_number_location_name"
    )
    with connection.cursor() as cursor:  # as before the migration: case-sensitive at most
        cursor.execute("DROP INDEX product_catalog_number_ci_unique")
        cursor.execute("DROP INDEX location_name_ci_unique")
    first = Product.objects.create(organization=org, catalog_number="ABC-1", description="x")
    second = Product.objects.create(organization=org, catalog_number="abc-1", description="y")
    Product.objects.create(organization=org, catalog_number="XYZ-9", description="z")
    Location.objects.create(organization=org, name="Bin A")
    Location.objects.create(organization=org, name="BIN A")

    with pytest.raises(RuntimeError) as info:
        migration.refuse_duplicates(django_apps, None)

    message = str(info.value)
    assert f"'ABC-1' (id {first.pk}), 'abc-1' (id {second.pk})" in message
    assert "location name: 'Bin A'" in message and "'BIN A'" in message
    assert "XYZ-9" not in message


@pytest.mark.django_db
def test_migration_passes_without_duplicates(org):
    migration = importlib.import_module(
        "inventory.migrations.0009_case_insensitive_catalog_number_location_name"
    )
    Product.objects.create(organization=org, catalog_number="ABC-1", description="x")
    Product.objects.create(organization=OrganizationFactory(), catalog_number="abc-1")

    migration.refuse_duplicates(django_apps, None)
