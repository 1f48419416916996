"""Indexes for the unit search's exact and short terms, and the transfers page's Recent list.

A catalog number's units are read in list order from (product, expiration_date, id).

The search compares UPPER(column) (Django's iexact and istartswith on PostgreSQL). B-tree
indexes over that expression with text_pattern_ops serve both "equals" and "starts with"
(LIKE 'AB%') whatever the database's collation, where trigram indexes (migration 0005) cannot
serve a term of one or two characters. PostgreSQL only; other databases search unindexed.
"""

from django.db import migrations, models

FORWARD = """
CREATE INDEX IF NOT EXISTS unit_serial_upper_pattern_idx
    ON inventory_unit (UPPER(serial_number::text) text_pattern_ops);
CREATE INDEX IF NOT EXISTS unit_lot_upper_pattern_idx
    ON inventory_unit (UPPER(lot_number::text) text_pattern_ops);
CREATE INDEX IF NOT EXISTS product_catalog_upper_pattern_idx
    ON inventory_product (organization_id, UPPER(catalog_number::text) text_pattern_ops);
"""

BACKWARD = """
DROP INDEX IF EXISTS product_catalog_upper_pattern_idx;
DROP INDEX IF EXISTS unit_lot_upper_pattern_idx;
DROP INDEX IF EXISTS unit_serial_upper_pattern_idx;
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0012_locations_holders_recalls_par_levels")]
    operations = [
        migrations.RunPython(forward, backward),
        migrations.AddIndex(
            model_name="unit",
            index=models.Index(
                fields=["product", "expiration_date", "id"], name="unit_product_expiry_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(
                fields=["organization", "-created_at", "-id"], name="transfer_recent_idx"
            ),
        ),
    ]
