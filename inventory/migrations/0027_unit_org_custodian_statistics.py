"""Tell PostgreSQL that a unit's custodian decides its organization.

With ten organizations on one cluster, `organization_id = X` keeps a tenth of the units, and
the planner multiplied that by the custodian's share as if the two were independent: it
expected 10 of a holder's units where there were 28,000, sorted them all instead of reading
the (custodian, expiry) order, and Mark Used and a rep's inventory took 300-490 ms of SQL. A
functional-dependency statistic (with the most common pairs) brings the estimate back to
what one organization alone gave: 13-30 ms. ANALYZE samples the table, a second or two at
10M units; it runs here so the statistic counts at once instead of at the next autovacuum.
"""

from django.db import migrations

FORWARD = [
    "CREATE STATISTICS IF NOT EXISTS unit_org_custodian_stats (dependencies, mcv) "
    "ON organization_id, custodian_id FROM inventory_unit",
    "ANALYZE inventory_unit",
]
BACKWARD = ["DROP STATISTICS IF EXISTS unit_org_custodian_stats"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("inventory", "0026_org_leading_unique_names")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
