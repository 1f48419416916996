"""The dashboard's facility stock per facility, counted from a partial index of facility stock
by (organization, custodian, facility): an index-only scan of just those units, for the whole
organization (admins) or a few holders (a distributor and her reps)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inventory", "0010_unit_on_hold_index")]

    operations = [
        migrations.AddIndex(
            model_name="unit",
            index=models.Index(
                condition=models.Q(state="facility_stock"),
                fields=["organization", "custodian", "facility"],
                name="unit_facility_stock_idx",
            ),
        ),
    ]
