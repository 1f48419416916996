"""Case-insensitive unique names (catalog numbers, locations, recall references) lead with the
organization (README, "Ten organizations on one cluster"). These tables are small (hundreds
to thousands of rows per organization), so the swap runs in one transaction: no moment without
the constraint."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inventory", "0025_org_leading_unit_code_indexes")]

    operations = [
        migrations.RemoveConstraint(model_name="location", name="location_name_ci_unique"),
        migrations.AddConstraint(
            model_name="location",
            constraint=models.UniqueConstraint(
                models.F("organization"),
                django.db.models.functions.text.Lower("name"),
                name="location_name_ci_unique",
            ),
        ),
        migrations.RemoveConstraint(model_name="product", name="product_catalog_number_ci_unique"),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.UniqueConstraint(
                models.F("organization"),
                django.db.models.functions.text.Lower("catalog_number"),
                name="product_catalog_number_ci_unique",
            ),
        ),
        migrations.RemoveConstraint(model_name="recall", name="recall_reference_ci_unique"),
        migrations.AddConstraint(
            model_name="recall",
            constraint=models.UniqueConstraint(
                models.F("organization"),
                django.db.models.functions.text.Lower("reference"),
                name="recall_reference_ci_unique",
            ),
        ),
    ]
