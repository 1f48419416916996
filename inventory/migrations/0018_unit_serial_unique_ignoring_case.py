"""One device, one record: a serial is unique per product ignoring case (D-1002 and d-1002 are
the same label), where it was unique only as typed.

The migration first looks for serials that clash once case is ignored and stops, listing them,
if there are any: which record is the real one is a person's call (`manage.py
unit_code_report` lists them too). On PostgreSQL the new unique index is built CONCURRENTLY,
so the unit table (a million rows) stays writable meanwhile; hence this migration is not
atomic. Elsewhere (SQLite) the constraint is added the usual way.
"""

from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import Lower

NAME = "unit_serial_ci_unique_per_product"
CONSTRAINT = models.UniqueConstraint(
    Lower("serial_number"), "product", condition=~Q(serial_number=""), name=NAME
)
SHOWN = 20


def refuse_clashes(apps, schema_editor):
    Unit = apps.get_model("inventory", "Unit")
    clashes = list(
        Unit.objects.exclude(serial_number="")
        .annotate(serial_ci=Lower("serial_number"))
        .values("product_id", "serial_ci")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("product_id", "serial_ci")[: SHOWN + 1]
    )
    if clashes:
        listed = "; ".join(
            f"product {c['product_id']}: {c['serial_ci']!r} x{c['n']}" for c in clashes[:SHOWN]
        )
        more = " (and more)" if len(clashes) > SHOWN else ""
        raise RuntimeError(
            "Serials that differ only in case would become duplicates: "
            f"{listed}{more}. Correct them (manage.py unit_code_report lists them all), "
            "then migrate again."
        )


def add_index(apps, schema_editor):
    Unit = apps.get_model("inventory", "Unit")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_constraint(Unit, CONSTRAINT)
        return
    table = schema_editor.quote_name(Unit._meta.db_table)
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(NAME)}")
    schema_editor.execute(
        f"CREATE UNIQUE INDEX CONCURRENTLY {schema_editor.quote_name(NAME)} ON {table} "
        "(LOWER(serial_number), product_id) WHERE NOT (serial_number = '')"
    )


def drop_index(apps, schema_editor):
    Unit = apps.get_model("inventory", "Unit")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_constraint(Unit, CONSTRAINT)
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(NAME)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("inventory", "0017_recall_unit_on_receipt"),
    ]

    operations = [
        migrations.RunPython(refuse_clashes, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddConstraint(model_name="unit", constraint=CONSTRAINT)],
            database_operations=[migrations.RunPython(add_index, drop_index)],
        ),
        migrations.RemoveConstraint(model_name="unit", name="unit_serial_unique_per_product"),
    ]
