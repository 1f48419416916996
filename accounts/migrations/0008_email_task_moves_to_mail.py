"""The email task moved from accounts.tasks to accounts.mail (beside the sending it runs), which
breaks the mail -> tasks -> services -> mail import cycle. Emails queued before the move keep
their job: their stored task path follows. Workers of the previous release cannot run the new
path, so stop them before migrating (README, Production)."""

from django.db import migrations

# (column, old path, new path): the task, and the error the stale-task sweeper records, which
# moved from config.tasks to core.tasks.
RENAMES = [
    ("task_path", "accounts.tasks.send_email_once", "accounts.mail.send_email_once"),
    ("exception_class_path", "config.tasks.WorkerLost", "core.tasks.WorkerLost"),
]


def _rename(apps, schema_editor, *, back: bool) -> None:
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    rows = DBTaskResult.objects.using(schema_editor.connection.alias)
    for column, old, new in RENAMES:
        old, new = (new, old) if back else (old, new)
        rows.filter(**{column: old}).update(**{column: new})


def forwards(apps, schema_editor):
    _rename(apps, schema_editor, back=False)


def backwards(apps, schema_editor):
    _rename(apps, schema_editor, back=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_notification_kind_job_done"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
