"""The email task moved from accounts.tasks to accounts.mail (beside the sending it runs), which
breaks the mail -> tasks -> services -> mail import cycle. Emails queued before the move keep
their job: their stored task path follows."""

from django.db import migrations

OLD = "accounts.tasks.send_email_once"
NEW = "accounts.mail.send_email_once"


def _rename(apps, schema_editor, old: str, new: str) -> None:
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    DBTaskResult.objects.using(schema_editor.connection.alias).filter(task_path=old).update(
        task_path=new
    )


def forwards(apps, schema_editor):
    _rename(apps, schema_editor, OLD, NEW)


def backwards(apps, schema_editor):
    _rename(apps, schema_editor, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_notification_kind_job_done"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
