"""A reopened Case's re-allocation gets its own ledger kind instead of "adjusted"."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0005_search_trigram_indexes'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='custodyentry',
            name='ledger_kind_valid',
        ),
        migrations.AlterField(
            model_name='custodyentry',
            name='kind',
            field=models.CharField(choices=[('received', 'Received'), ('transfer_sent', 'Transfer sent'), ('transfer_accepted', 'Transfer accepted'), ('transfer_declined', 'Transfer declined'), ('transfer_cancelled', 'Transfer cancelled'), ('hold_released', 'Hold released'), ('marked_used', 'Marked used'), ('unmarked', 'Unmarked'), ('consumed', 'Consumed'), ('sold_to_facility', 'Sold to facility'), ('adjusted', 'Adjusted'), ('reallocated', 'Re-allocated on reopen')], max_length=30),
        ),
        migrations.AddConstraint(
            model_name='custodyentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['received', 'transfer_sent', 'transfer_accepted', 'transfer_declined', 'transfer_cancelled', 'hold_released', 'marked_used', 'unmarked', 'consumed', 'sold_to_facility', 'adjusted', 'reallocated'])), name='ledger_kind_valid'),
        ),
    ]
