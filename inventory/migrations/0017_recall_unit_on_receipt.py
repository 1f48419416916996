"""A recall remembers which of its units it found on receipt (received later into a lot or
serial it names, quarantined as they came in), so its page stops saying "Found: Available" for
them.

Existing rows are marked from the ledger: a unit the recall quarantined with the "received
into recall" entry that quarantine_on_receipt writes, or a unit received after the recall was
recorded (with two active recalls naming it, only the earliest writes the entry; recording a
recall finds only units already there).
"""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q


def mark_on_receipt(apps, schema_editor):
    RecallUnit = apps.get_model("inventory", "RecallUnit")
    CustodyEntry = apps.get_model("inventory", "CustodyEntry")
    received_into = CustodyEntry.objects.filter(
        unit_id=OuterRef("unit_id"),
        recall_id=OuterRef("recall_id"),
        kind="quarantined",
        note__startswith="Received into recall ",
    )
    received_after = CustodyEntry.objects.filter(
        unit_id=OuterRef("unit_id"), kind="received", at__gt=OuterRef("recall__created_at")
    )
    RecallUnit.objects.filter(Q(Exists(received_into)) | Q(Exists(received_after))).update(
        on_receipt=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0016_jobs_move_to_jobs_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="recallunit",
            name="on_receipt",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_on_receipt, migrations.RunPython.noop, elidable=True),
    ]
