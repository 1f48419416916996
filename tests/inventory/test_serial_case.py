"""A serial is unique per product ignoring case: receiving refuses d-1002 beside D-1002, the
database refuses it too, and existing values that break the code rules are listed, not
rejected."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from inventory.models import Unit
from inventory.services.receiving import ReceiveLine, units_receive
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(admin_user):
    product = ProductFactory(organization=admin_user.organization)
    (unit,) = units_receive(
        actor=admin_user,
        custodian=None,
        lines=[ReceiveLine(product=product, serial_numbers=["D-1002"])],
    )
    return unit


def test_receiving_refuses_a_serial_that_differs_only_in_case(admin_user, recorded):
    with pytest.raises(ValidationError, match=r"serial d-1002 is already on record \(as D-1002\)"):
        units_receive(
            actor=admin_user,
            custodian=None,
            lines=[ReceiveLine(product=recorded.product, serial_numbers=["d-1002"])],
        )
    assert Unit.objects.count() == 1


def test_one_receipt_refuses_two_serials_that_differ_only_in_case(admin_user):
    product = ProductFactory(organization=admin_user.organization)
    with pytest.raises(ValidationError, match="serial d-7 appears twice"):
        units_receive(
            actor=admin_user,
            custodian=None,
            lines=[ReceiveLine(product=product, serial_numbers=["D-7", "d-7"])],
        )


def test_the_database_refuses_a_serial_that_differs_only_in_case(recorded):
    twin = Unit.objects.get(pk=recorded.pk)
    twin.pk = None
    twin.serial_number = "d-1002"
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save(force_insert=True)


def test_the_report_lists_look_alikes_and_case_twins_and_changes_nothing(recorded):
    twin = Unit.objects.get(pk=recorded.pk)
    with connection.cursor() as cursor:  # values from before the rules
        cursor.execute('DROP INDEX IF EXISTS "unit_serial_ci_unique_per_product"')
    Unit.objects.filter(pk=recorded.pk).update(lot_number="L\u20107")
    twin.pk, twin.serial_number = None, "d-1002"
    twin.save(force_insert=True)

    out = io.StringIO()
    call_command("unit_code_report", stdout=out)

    text = out.getvalue()
    assert "U+2010 HYPHEN" in text and "serials that differ only in case" in text
    assert "'D-1002'" in text and "'d-1002'" in text and "2 value(s) to correct." in text
    assert Unit.objects.filter(lot_number="L\u20107").exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_and_lists_serials_that_would_clash(admin_user):
    executor = MigrationExecutor(connection)
    before = [("inventory", "0017_recall_unit_on_receipt")]
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        Product, Unit_ = old.get_model("inventory", "Product"), old.get_model("inventory", "Unit")
        product = Product.objects.create(
            organization_id=admin_user.organization_id, catalog_number="X-1", description="x"
        )
        for serial in ("S-9", "s-9"):
            Unit_.objects.create(
                organization_id=admin_user.organization_id, product=product, serial_number=serial
            )
        with pytest.raises(RuntimeError, match=r"'s-9' x2"):
            MigrationExecutor(connection).migrate(
                [("inventory", "0018_unit_serial_unique_ignoring_case")]
            )
        Unit_.objects.filter(serial_number="s-9").delete()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
