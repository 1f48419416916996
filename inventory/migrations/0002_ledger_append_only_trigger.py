"""On PostgreSQL the database itself refuses UPDATE, DELETE and TRUNCATE of the custody ledger.

TRUNCATE alone can be allowed for one session with `SET trunkpool.allow_ledger_truncate = 'on'`:
test-database teardown empties every table that way. UPDATE and DELETE have no such switch.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION inventory_ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('trunkpool.allow_ledger_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the custody ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER custodyentry_no_update_delete
    BEFORE UPDATE OR DELETE ON inventory_custodyentry
    FOR EACH ROW EXECUTE FUNCTION inventory_ledger_append_only();

CREATE TRIGGER custodyentry_no_truncate
    BEFORE TRUNCATE ON inventory_custodyentry
    FOR EACH STATEMENT EXECUTE FUNCTION inventory_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS custodyentry_no_truncate ON inventory_custodyentry;
DROP TRIGGER IF EXISTS custodyentry_no_update_delete ON inventory_custodyentry;
DROP FUNCTION IF EXISTS inventory_ledger_append_only();
"""


def _run(schema_editor, sql):
    # A plain cursor: RAISE's % placeholders must not be interpolated.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
