from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_group_change_history_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="readpin",
            name="lsn",
            # A pin written before this column: the start of the WAL, replayed by any replica.
            field=models.CharField(default="0/0", max_length=32),
            preserve_default=False,
        ),
    ]
