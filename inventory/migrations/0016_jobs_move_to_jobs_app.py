"""Background jobs move to their own app: copy every job and stored chunk into the jobs app's
tables (same ids), move the sequences and content types along, then drop inventory's tables.

The jobs app sits below inventory, so this migration (inventory's) depends on jobs' first one;
no migration of a lower app depends on a higher one.
"""

from django.db import migrations

BATCH = 200  # chunks are up to ~1 MB each


JOB_FIELDS = [
    "id", "organization_id", "owner_id", "kind", "status", "stage", "processed", "total",
    "params", "filename", "result_count", "problems", "created_at", "finished_at",
]


def _copy(apps, schema_editor, *, source: str, target: str) -> None:
    """Move every job and chunk of app `source` into app `target`, ids kept."""
    OldJob = apps.get_model(source, "Job")
    OldChunk = apps.get_model(source, "JobChunk")
    Job = apps.get_model(target, "Job")
    JobChunk = apps.get_model(target, "JobChunk")
    db = schema_editor.connection.alias
    for old in OldJob.objects.using(db).order_by("pk").values(*JOB_FIELDS).iterator():
        Job.objects.using(db).create(**old)
    ids = OldChunk.objects.using(db).order_by("pk").values_list("pk", flat=True)
    for start in range(0, len(ids), BATCH):
        batch = OldChunk.objects.using(db).filter(pk__in=ids[start : start + BATCH])
        JobChunk.objects.using(db).bulk_create(
            JobChunk(id=c.id, job_id=c.job_id, part=c.part, seq=c.seq, data=c.data)
            for c in batch
        )
    # Plain deletes: both apps' models are named Job here, which confuses the ORM's cascade.
    for model in (OldChunk, OldJob):
        schema_editor.execute(f"DELETE FROM {schema_editor.quote_name(model._meta.db_table)}")
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            # Run the deferred foreign-key checks of those deletes now: a table with pending
            # trigger events cannot be dropped later in this transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for model in (Job, JobChunk):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
    # Permissions follow the content type: rename it when the target app has none yet (it
    # gets them after migrate), else drop the old one.
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("job", "jobchunk"):
        old = ContentType.objects.using(db).filter(app_label=source, model=model)
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            old.delete()
        else:
            old.update(app_label=target)


def copy_jobs(apps, schema_editor):
    _copy(apps, schema_editor, source="inventory", target="jobs")


def copy_back(apps, schema_editor):
    _copy(apps, schema_editor, source="jobs", target="inventory")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0015_par_count_index"),
        ("jobs", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(copy_jobs, copy_back),
        migrations.DeleteModel(name="JobChunk"),
        migrations.DeleteModel(name="Job"),
    ]
