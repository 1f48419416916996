"""Catalog numbers and location names are unique per organization regardless of case.

Before swapping the case-sensitive constraints for case-insensitive ones, look for rows that
differ only in case: if there are any, stop with a list of them (rename or merge them, then
migrate again) rather than let the database fail with a bare constraint error.
"""

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def case_insensitive_duplicates(apps):
    """Human-readable lines, one per group of rows that differ only in case."""
    Product = apps.get_model("inventory", "Product")
    Location = apps.get_model("inventory", "Location")
    problems = []
    for model, field, what in ((Product, "catalog_number", "catalog number"), (Location, "name", "location name")):
        groups = (
            model.objects.annotate(folded=Lower(field))
            .values("organization_id", "folded")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("organization_id", "folded")
        )
        for group in groups:
            rows = model.objects.filter(organization_id=group["organization_id"]).annotate(
                folded=Lower(field)
            ).filter(folded=group["folded"]).order_by("pk")
            values = ", ".join(f"{getattr(r, field)!r} (id {r.pk})" for r in rows)
            problems.append(f"organization {group['organization_id']}, {what}: {values}")
    return problems


def refuse_duplicates(apps, schema_editor):
    problems = case_insensitive_duplicates(apps)
    if problems:
        raise RuntimeError(
            "Catalog numbers and location names must be unique per organization regardless of "
            "case, but these differ only in case; rename or merge them, then migrate again:\n  "
            + "\n  ".join(problems)
        )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_username_case_insensitive_unique'),
        ('inventory', '0008_ledger_event_plain_column_facility_table'),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='location',
            name='location_name_unique',
        ),
        migrations.RemoveConstraint(
            model_name='product',
            name='product_catalog_number_unique',
        ),
        migrations.AddConstraint(
            model_name='location',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('name'), models.F('organization'), name='location_name_ci_unique'),
        ),
        migrations.AddConstraint(
            model_name='product',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('catalog_number'), models.F('organization'), name='product_catalog_number_ci_unique'),
        ),
    ]
