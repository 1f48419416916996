"""The unit indexes that find a code (exact lot or serial; a serial or lot that starts with, or
equals, a term in any case) lead with the organization (README, "Ten organizations on one
cluster"): with many organizations
on one cluster, a lot number that every organization stocks is read once, not once each.

Built CONCURRENTLY: at ten organizations the unit table holds 10M rows, and a plain CREATE
INDEX would block every receive, transfer and mark used while it builds. Each new index is
built before the one it replaces is dropped, so searches never go unindexed. The trigram GIN
indexes (migration 0005) stay as they are: GIN has no leading column (tests/production/
test_org_indexes.py says why that is fine).
"""

from core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

PATTERN_FORWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS unit_org_serial_upper_pattern_idx ON inventory_unit "
    "(organization_id, UPPER(serial_number::text) text_pattern_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS unit_org_lot_upper_pattern_idx ON inventory_unit "
    "(organization_id, UPPER(lot_number::text) text_pattern_ops)",
    "DROP INDEX CONCURRENTLY IF EXISTS unit_serial_upper_pattern_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS unit_lot_upper_pattern_idx",
]
PATTERN_BACKWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS unit_serial_upper_pattern_idx ON inventory_unit "
    "(UPPER(serial_number::text) text_pattern_ops)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS unit_lot_upper_pattern_idx ON inventory_unit "
    "(UPPER(lot_number::text) text_pattern_ops)",
    "DROP INDEX CONCURRENTLY IF EXISTS unit_org_serial_upper_pattern_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS unit_org_lot_upper_pattern_idx",
]


def _run(statements):
    def run(apps, schema_editor):
        # PostgreSQL only, like migration 0013 that made the pattern indexes.
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("inventory", "0024_ledger_unit_same_organization")]

    operations = [
        AddIndexConcurrently(
            model_name="unit",
            index=models.Index(fields=["organization", "lot_number"], name="unit_org_lot_idx"),
        ),
        AddIndexConcurrently(
            model_name="unit",
            index=models.Index(
                fields=["organization", "serial_number"], name="unit_org_serial_idx"
            ),
        ),
        RemoveIndexConcurrently(model_name="unit", name="inventory_u_lot_num_fc200c_idx"),
        RemoveIndexConcurrently(model_name="unit", name="inventory_u_serial__a0b097_idx"),
        migrations.RunPython(_run(PATTERN_FORWARD), _run(PATTERN_BACKWARD)),
    ]
