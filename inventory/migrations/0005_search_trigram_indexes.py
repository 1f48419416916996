"""Trigram indexes for the unit search (serial and lot "contains"), on PostgreSQL.

Django's icontains compares UPPER(column) LIKE UPPER('%term%'); GIN indexes over the same
expression with pg_trgm let PostgreSQL answer that without reading every unit. If the database
user may not create the extension, the indexes are skipped with a notice: search still works,
only slower on very large organizations.
"""

from django.db import migrations

FORWARD = """
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS unit_serial_trgm_idx
        ON inventory_unit USING gin (UPPER(serial_number::text) gin_trgm_ops);
    CREATE INDEX IF NOT EXISTS unit_lot_trgm_idx
        ON inventory_unit USING gin (UPPER(lot_number::text) gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file THEN
    RAISE NOTICE 'pg_trgm unavailable (%); unit search runs without trigram indexes', SQLERRM;
END
$$;
"""

BACKWARD = """
DROP INDEX IF EXISTS unit_lot_trgm_idx;
DROP INDEX IF EXISTS unit_serial_trgm_idx;
"""


def _run(schema_editor, sql):
    # A plain cursor: the SQL holds % placeholders that must not be interpolated.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_unit_custodian_expiry_index")]
    operations = [migrations.RunPython(forward, backward)]
