"""Each custody entry records the transaction that inserted it, for the change feed.

Entry ids are taken from a sequence before commit, so a transaction that took id 10 can commit
after one that took id 11: a reader following `id > cursor` would have passed 10 for good. The
feed (inventory.selectors.ledger_feed) instead reads in (xact, id) order and only entries of
transactions older than every transaction still open, which can no longer be joined by an
earlier one.

On PostgreSQL a BEFORE INSERT trigger sets `xact` to pg_current_xact_id() (the top-level
transaction's xid8, as bigint) whatever the insert says, so no code path can forget or forge it;
COPY fires it too. Entries written before this migration keep 0: they all committed long ago.
Adding the column with a constant default rewrites no row and fires no UPDATE trigger, so the
append-only triggers of migration 0002 stay as they are. Other databases keep 0 throughout
(one writer at a time: id order is commit order there).
"""

from django.conf import settings
from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION inventory_ledger_xact() RETURNS trigger AS $$
BEGIN
    NEW.xact := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER custodyentry_xact
    BEFORE INSERT ON inventory_custodyentry
    FOR EACH ROW EXECUTE FUNCTION inventory_ledger_xact();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS custodyentry_xact ON inventory_custodyentry;
DROP FUNCTION IF EXISTS inventory_ledger_xact();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_user_is_service"),
        ("inventory", "0022_ledger_reported_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="custodyentry",
            name="xact",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(forward, backward),
        migrations.AddIndex(
            model_name="custodyentry",
            index=models.Index(fields=["organization", "xact", "id"], name="ledger_feed_org_idx"),
        ),
        migrations.AddIndex(
            model_name="custodyentry",
            index=models.Index(fields=["to_custodian", "xact", "id"], name="ledger_feed_to_idx"),
        ),
        migrations.AddIndex(
            model_name="custodyentry",
            index=models.Index(
                fields=["from_custodian", "xact", "id"], name="ledger_feed_from_idx"
            ),
        ),
    ]
