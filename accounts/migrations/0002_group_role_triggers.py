"""PostgreSQL triggers: a group's head must be a distributor, its members sales reps.

Together with the unique columns this makes "exactly one distributor per group" a database fact:
a second distributor can be neither a second head nor a member. SQLite (the demo default) relies
on the services, which check the same rule.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_require_role() RETURNS trigger AS $$
DECLARE
    wanted text := TG_ARGV[0];
    user_column text := TG_ARGV[1];
    user_id bigint;
    actual text;
BEGIN
    user_id := (to_jsonb(NEW) ->> user_column)::bigint;
    SELECT role INTO actual FROM accounts_user WHERE id = user_id;
    IF actual IS DISTINCT FROM wanted THEN
        RAISE EXCEPTION 'user % has role %, but % requires role %',
            user_id, actual, TG_TABLE_NAME, wanted
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER distributorgroup_head_is_distributor
    BEFORE INSERT OR UPDATE OF distributor_id ON accounts_distributorgroup
    FOR EACH ROW EXECUTE FUNCTION accounts_require_role('distributor', 'distributor_id');

CREATE TRIGGER groupmembership_member_is_rep
    BEFORE INSERT OR UPDATE OF rep_id ON accounts_groupmembership
    FOR EACH ROW EXECUTE FUNCTION accounts_require_role('rep', 'rep_id');
"""

BACKWARD = """
DROP TRIGGER IF EXISTS groupmembership_member_is_rep ON accounts_groupmembership;
DROP TRIGGER IF EXISTS distributorgroup_head_is_distributor ON accounts_distributorgroup;
DROP FUNCTION IF EXISTS accounts_require_role();
"""


def _run(schema_editor, sql):
    # A plain cursor: the SQL holds RAISE's % placeholders, which must not be interpolated.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
