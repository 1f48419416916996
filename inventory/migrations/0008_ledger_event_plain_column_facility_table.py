"""Finish moving inventory's two links to events down into inventory, keeping every row.

Databases migrated before inventory 0003 was rewritten still carry a foreign key from
inventory_custodyentry.event_id to events_event; it is dropped here (the column, its index and
its values stay: the events services keep it pointing at a real event). A fresh database never
had the key, so this step finds nothing to drop. Then the facility table, created under its old
name events_facility, takes inventory's name; foreign keys pointing at it follow the rename.
"""

from django.db import migrations

ENTRY_TABLE = "inventory_custodyentry"


def _event_id_foreign_keys(connection):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, ENTRY_TABLE)
    return [
        name
        for name, info in constraints.items()
        if info["foreign_key"] and info["columns"] == ["event_id"]
    ]


def drop_ledger_event_foreign_key(apps, schema_editor):
    connection = schema_editor.connection
    leftovers = _event_id_foreign_keys(connection)
    if not leftovers:
        return
    if connection.vendor == "postgresql":
        for name in leftovers:
            schema_editor.execute(
                f"ALTER TABLE {schema_editor.quote_name(ENTRY_TABLE)} "
                f"DROP CONSTRAINT {schema_editor.quote_name(name)}"
            )
    elif connection.vendor == "sqlite":
        # SQLite keeps foreign keys in the table definition: rebuild the table from the current
        # model state (a plain integer column), copying every row.
        schema_editor._remake_table(apps.get_model("inventory", "CustodyEntry"))


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0007_dashboard_indexes'),
    ]

    operations = [
        migrations.RunPython(drop_ledger_event_foreign_key, migrations.RunPython.noop),
        migrations.AlterModelTable(
            name='facility',
            table=None,
        ),
    ]
