"""Locations get a holder; recalls, returns and par levels; quarantined/moved/returned in the
ledger.

Existing locations are backfilled from the units sitting there: a location whose live units
are all in one person's custody becomes that person's; every other location (empty, shared by
several holders, or holding organization stock) stays in organization custody (NULL), which
an admin can change later.
"""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def backfill_location_holders(apps, schema_editor):
    Location = apps.get_model("inventory", "Location")
    Unit = apps.get_model("inventory", "Unit")
    holders = {}
    rows = (
        Unit.objects.exclude(state="inactive")
        .exclude(location_id=None)
        .values_list("location_id", "custodian_id")
        .distinct()
    )
    for location_id, custodian_id in rows.iterator():
        holders.setdefault(location_id, set()).add(custodian_id)
    for location_id, ids in holders.items():
        if len(ids) == 1 and None not in ids:
            Location.objects.filter(pk=location_id).update(holder_id=next(iter(ids)))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_username_case_insensitive_unique'),
        ('inventory', '0011_dashboard_facility_stock_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ParLevel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('par', models.PositiveIntegerField()),
                ('reorder_to', models.PositiveIntegerField()),
                ('alerted_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['location', 'product'],
            },
        ),
        migrations.CreateModel(
            name='Recall',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(max_length=80)),
                ('reason', models.CharField(max_length=1000)),
                ('recall_class', models.CharField(choices=[('I', 'Class I'), ('II', 'Class II'), ('III', 'Class III')], max_length=3, verbose_name='class')),
                ('lot_numbers', models.JSONField(blank=True, default=list)),
                ('serial_numbers', models.JSONField(blank=True, default=list)),
                ('recall_date', models.DateField(verbose_name='date')),
                ('status', models.CharField(choices=[('active', 'Active'), ('withdrawn', 'Withdrawn')], default='active', max_length=20)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                ('withdraw_reason', models.CharField(blank=True, max_length=500)),
            ],
            options={
                'ordering': ['-recall_date', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='RecallReturn',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(max_length=80)),
                ('returned_on', models.DateField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['-returned_on', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='RecallUnit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('found_state', models.CharField(choices=[('available', 'Available'), ('in_transit', 'In transit'), ('hold', 'Hold'), ('allocated', 'Allocated'), ('facility_stock', 'Facility stock'), ('quarantined', 'Quarantined'), ('inactive', 'Inactive')], max_length=20)),
            ],
            options={
                'ordering': ['recall', 'unit'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='custodyentry',
            name='ledger_to_state_valid',
        ),
        migrations.RemoveConstraint(
            model_name='custodyentry',
            name='ledger_kind_valid',
        ),
        migrations.RemoveConstraint(
            model_name='unit',
            name='unit_state_valid',
        ),
        migrations.AddField(
            model_name='custodyentry',
            name='from_location',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.location'),
        ),
        migrations.AddField(
            model_name='custodyentry',
            name='to_location',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.location'),
        ),
        migrations.AddField(
            model_name='location',
            name='holder',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='locations', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='custodyentry',
            name='kind',
            field=models.CharField(choices=[('received', 'Received'), ('transfer_sent', 'Transfer sent'), ('transfer_accepted', 'Transfer accepted'), ('transfer_declined', 'Transfer declined'), ('transfer_cancelled', 'Transfer cancelled'), ('hold_released', 'Hold released'), ('marked_used', 'Marked used'), ('unmarked', 'Unmarked'), ('consumed', 'Consumed'), ('sold_to_facility', 'Sold to facility'), ('adjusted', 'Adjusted'), ('reallocated', 'Re-allocated on reopen'), ('moved', 'Moved'), ('quarantined', 'Quarantined'), ('returned', 'Returned'), ('recall_withdrawn', 'Recall withdrawn')], max_length=30),
        ),
        migrations.AlterField(
            model_name='custodyentry',
            name='to_state',
            field=models.CharField(choices=[('available', 'Available'), ('in_transit', 'In transit'), ('hold', 'Hold'), ('allocated', 'Allocated'), ('facility_stock', 'Facility stock'), ('quarantined', 'Quarantined'), ('inactive', 'Inactive')], max_length=20),
        ),
        migrations.AlterField(
            model_name='unit',
            name='state',
            field=models.CharField(choices=[('available', 'Available'), ('in_transit', 'In transit'), ('hold', 'Hold'), ('allocated', 'Allocated'), ('facility_stock', 'Facility stock'), ('quarantined', 'Quarantined'), ('inactive', 'Inactive')], default='available', max_length=20),
        ),
        migrations.AddConstraint(
            model_name='unit',
            constraint=models.CheckConstraint(condition=models.Q(('state__in', ['available', 'in_transit', 'hold', 'allocated', 'facility_stock', 'quarantined', 'inactive'])), name='unit_state_valid'),
        ),
        migrations.AddField(
            model_name='parlevel',
            name='location',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='par_levels', to='inventory.location'),
        ),
        migrations.AddField(
            model_name='parlevel',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='accounts.organization'),
        ),
        migrations.AddField(
            model_name='parlevel',
            name='product',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='par_levels', to='inventory.product'),
        ),
        migrations.AddField(
            model_name='recall',
            name='created_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='recall',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='accounts.organization'),
        ),
        migrations.AddField(
            model_name='recall',
            name='product',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='recalls', to='inventory.product'),
        ),
        migrations.AddField(
            model_name='recall',
            name='withdrawn_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='custodyentry',
            name='recall',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='inventory.recall'),
        ),
        migrations.AddConstraint(
            model_name='custodyentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['received', 'transfer_sent', 'transfer_accepted', 'transfer_declined', 'transfer_cancelled', 'hold_released', 'marked_used', 'unmarked', 'consumed', 'sold_to_facility', 'adjusted', 'reallocated', 'moved', 'quarantined', 'returned', 'recall_withdrawn'])), name='ledger_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='custodyentry',
            constraint=models.CheckConstraint(condition=models.Q(('to_state__in', ['available', 'in_transit', 'hold', 'allocated', 'facility_stock', 'quarantined', 'inactive'])), name='ledger_to_state_valid'),
        ),
        migrations.AddField(
            model_name='recallreturn',
            name='created_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='recallreturn',
            name='recall',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='returns', to='inventory.recall'),
        ),
        migrations.AddField(
            model_name='recallunit',
            name='recall',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='recall_units', to='inventory.recall'),
        ),
        migrations.AddField(
            model_name='recallunit',
            name='returned_in',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='units', to='inventory.recallreturn'),
        ),
        migrations.AddField(
            model_name='recallunit',
            name='unit',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='recall_units', to='inventory.unit'),
        ),
        migrations.AddConstraint(
            model_name='parlevel',
            constraint=models.UniqueConstraint(fields=('location', 'product'), name='par_level_once'),
        ),
        migrations.AddConstraint(
            model_name='parlevel',
            constraint=models.CheckConstraint(condition=models.Q(('par__gte', 1)), name='par_level_par_positive'),
        ),
        migrations.AddConstraint(
            model_name='parlevel',
            constraint=models.CheckConstraint(condition=models.Q(('reorder_to__gte', models.F('par'))), name='par_level_reorder_to_at_least_par'),
        ),
        migrations.AddConstraint(
            model_name='recall',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('reference'), models.F('organization'), name='recall_reference_ci_unique'),
        ),
        migrations.AddConstraint(
            model_name='recall',
            constraint=models.CheckConstraint(condition=models.Q(('recall_class__in', ['I', 'II', 'III'])), name='recall_class_valid'),
        ),
        migrations.AddConstraint(
            model_name='recall',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['active', 'withdrawn'])), name='recall_status_valid'),
        ),
        migrations.AddIndex(
            model_name='recallunit',
            index=models.Index(fields=['unit', 'recall'], name='recall_unit_by_unit_idx'),
        ),
        migrations.AddConstraint(
            model_name='recallunit',
            constraint=models.UniqueConstraint(fields=('recall', 'unit'), name='recall_unit_once'),
        ),
        migrations.RunPython(backfill_location_holders, migrations.RunPython.noop),
]
