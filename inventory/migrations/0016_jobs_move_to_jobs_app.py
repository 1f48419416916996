"""Background jobs move to their own app: copy every job and stored chunk into the jobs app's
tables (same ids), carry the id sequences and content types along, then drop inventory's tables.

The jobs app sits below inventory, so this migration (inventory's) depends on jobs' first one;
no migration of a lower app depends on a higher one. It reverses the same way.

The copy is one INSERT ... SELECT per table, so no chunk (about 1 MB each) passes through
Python. On PostgreSQL the old tables are locked first: a writer from a server still running the
previous release waits, then fails on the dropped table, instead of writing a row the copy has
already passed. Stop workers and old app servers before migrating this release all the same
(README, Production).
"""

from django.db import migrations

JOB_COLUMNS = (
    "id, organization_id, owner_id, kind, status, stage, processed, total, params, filename, "
    "result_count, problems, created_at, finished_at"
)
CHUNK_COLUMNS = "id, job_id, part, seq, data"


def _move(apps, schema_editor, *, source: str, target: str) -> None:
    """Move every job and chunk of app `source` into app `target`, ids and sequence kept."""
    connection = schema_editor.connection
    quote = schema_editor.quote_name
    tables = {
        app: (
            apps.get_model(app, "Job")._meta.db_table,
            apps.get_model(app, "JobChunk")._meta.db_table,
        )
        for app in (source, target)
    }
    (old_job, old_chunk), (new_job, new_chunk) = tables[source], tables[target]
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"LOCK TABLE {quote(old_job)}, {quote(old_chunk)} IN EXCLUSIVE MODE")
        for old, new, columns in ((old_job, new_job, JOB_COLUMNS), (old_chunk, new_chunk, CHUNK_COLUMNS)):
            cursor.execute(
                f"INSERT INTO {quote(new)} ({columns}) SELECT {columns} FROM {quote(old)}"
            )
            _carry_sequence(cursor, postgres, old, new)
        # The source tables are dropped going forward; going back, the jobs tables stay (the
        # jobs app's own migration drops them later, if asked to), so empty them. Deferred
        # foreign-key checks fire now: a table with pending trigger events cannot be dropped.
        cursor.execute(f"DELETE FROM {quote(old_chunk)}")
        cursor.execute(f"DELETE FROM {quote(old_job)}")
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _move_content_types(apps, schema_editor, source=source, target=target)


def _carry_sequence(cursor, postgres: bool, old: str, new: str) -> None:
    """The new table hands out ids after every id the old one ever handed out, not only after
    the rows still there: a pruned job's id is never reused (its "done" email is keyed on it,
    and old links name it)."""
    if postgres:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [old])
        old_sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT last_value FROM {old_sequence}")  # a name PostgreSQL gave
        handed_out = cursor.fetchone()[0]
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(%s, "
            "(SELECT COALESCE(MAX(id), 0) FROM " + new + ")))",  # noqa: S608 (our table)
            [new, handed_out],
        )
        return
    # SQLite: AUTOINCREMENT tables keep their high-water mark in sqlite_sequence.
    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [old])
    row = cursor.fetchone()
    if row is None:
        return
    cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [new])
    cursor.execute(
        "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, MAX(%s, "
        "(SELECT COALESCE(MAX(id), 0) FROM " + new + ")))",  # noqa: S608 (our table)
        [new, row[0]],
    )


def _move_content_types(apps, schema_editor, *, source: str, target: str) -> None:
    """Permissions follow the content type: rename it when the target app has none yet (it gets
    them after migrate), else point the old permissions at the target's and drop the old one."""
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in ("job", "jobchunk"):
        old = ContentType.objects.using(db).filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.using(db).filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(update_fields=["app_label"])
            continue
        taken = set(
            Permission.objects.using(db).filter(content_type=new).values_list("codename", flat=True)
        )
        Permission.objects.using(db).filter(content_type=old).exclude(codename__in=taken).update(
            content_type=new
        )
        old.delete()


def forwards(apps, schema_editor):
    _move(apps, schema_editor, source="inventory", target="jobs")


def backwards(apps, schema_editor):
    _move(apps, schema_editor, source="jobs", target="inventory")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0015_par_count_index"),
        ("jobs", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="JobChunk"),
        migrations.DeleteModel(name="Job"),
    ]
