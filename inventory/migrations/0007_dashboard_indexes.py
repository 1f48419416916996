"""Partial indexes for the dashboard's expiry counts and pool levels.

Expiry windows move every midnight without a write, so they are counted, not stored: these
indexes hold only live (not inactive) units by holder and expiry date, so a count reads just the
units near expiry, from the index alone. Pool levels count a distributor's available units per
location the same way.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inventory", "0006_reallocated_entry_kind")]

    operations = [
        migrations.AddIndex(
            model_name="unit",
            index=models.Index(
                condition=~models.Q(state="inactive"),
                fields=["organization", "custodian", "expiration_date"],
                name="unit_live_expiry_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="unit",
            index=models.Index(
                condition=~models.Q(state="inactive"),
                fields=["organization", "expiration_date"],
                name="unit_org_live_expiry_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="unit",
            index=models.Index(
                condition=models.Q(state="available"),
                fields=["organization", "custodian", "location", "expiration_date"],
                name="unit_available_location_idx",
            ),
        ),
    ]
