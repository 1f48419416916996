"""The database refuses a custody entry whose organization is not its unit's.

A CHECK cannot see the unit, so the ledger gets a composite foreign key (unit_id,
organization_id) -> inventory_unit (id, organization_id), which needs a unique constraint on
those two unit columns. It is also the shape a distribution by organization (Citus) needs.

Written for a 10M-row ledger on a live database, so the migration is not atomic:
- the unique index is built CONCURRENTLY (writes to units go on), then becomes the constraint
  without a second build;
- the foreign key is added NOT VALID (a brief lock, no scan), then VALIDATEd, which scans the
  ledger under SHARE UPDATE EXCLUSIVE: reads and inserts go on meanwhile.
A failed concurrent build leaves an invalid index; a re-run drops it and builds again. Not
deferrable, unlike Django's own keys: a forged entry fails at its INSERT, and every writer
creates the unit before its first entry.

Other databases get the unique constraint only (Django's own operation).
"""

from django.db import migrations, models

INDEX = "unit_id_org_unique"
FOREIGN_KEY = "ledger_unit_same_org"


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        schema_editor.add_constraint(apps.get_model("inventory", "Unit"), _unique())
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid, c.conname IS NOT NULL FROM pg_class r"
            " JOIN pg_index i ON i.indexrelid = r.oid"
            " LEFT JOIN pg_constraint c ON c.conindid = r.oid AND c.conname = r.relname"
            " WHERE r.relname = %s",
            [INDEX],
        )
        found = cursor.fetchone()
        if found and not found[0]:
            cursor.execute(f"DROP INDEX CONCURRENTLY {INDEX}")
            found = None
        if not found:
            cursor.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY {INDEX} ON inventory_unit (id, organization_id)"
            )
        if not (found and found[1]):
            cursor.execute(
                f"ALTER TABLE inventory_unit ADD CONSTRAINT {INDEX} UNIQUE USING INDEX {INDEX}"
            )
        cursor.execute(
            f"ALTER TABLE inventory_custodyentry DROP CONSTRAINT IF EXISTS {FOREIGN_KEY}"
        )
        cursor.execute(
            f"ALTER TABLE inventory_custodyentry ADD CONSTRAINT {FOREIGN_KEY}"
            " FOREIGN KEY (unit_id, organization_id)"
            " REFERENCES inventory_unit (id, organization_id) NOT VALID"
        )
        cursor.execute(f"ALTER TABLE inventory_custodyentry VALIDATE CONSTRAINT {FOREIGN_KEY}")


def backward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        schema_editor.remove_constraint(apps.get_model("inventory", "Unit"), _unique())
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE inventory_custodyentry DROP CONSTRAINT IF EXISTS {FOREIGN_KEY}"
        )
        cursor.execute(f"ALTER TABLE inventory_unit DROP CONSTRAINT IF EXISTS {INDEX}")


def _unique():
    return models.UniqueConstraint(fields=["id", "organization"], name=INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("inventory", "0023_ledger_xact")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[migrations.AddConstraint(model_name="unit", constraint=_unique())],
        ),
    ]
