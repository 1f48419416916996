"""The event list filtered by status (and open-event counts) read in list order from an index,
for the organization and for one representative; they supersede (organization, status,
scheduled_at)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_username_case_insensitive_unique'),
        ('events', '0002_event_list_order_indexes'),
        ('inventory', '0009_case_insensitive_catalog_number_location_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='event',
            name='events_even_organiz_bc9b30_idx',
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['organization', 'status', '-scheduled_at', '-id'], name='event_org_status_when_idx'),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['representative', 'status', '-scheduled_at', '-id'], name='event_rep_status_when_idx'),
        ),
    ]
