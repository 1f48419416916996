"""Notifications moved to accounts (inventory, below events, notifies too): copy every row,
read state, timestamps and links kept, before events' own table goes (0005)."""

from django.db import migrations

BATCH = 2000


def _url(event_id, comment_id):
    # The event page's path as it is when this runs; stored so the list needs no join.
    url = f"/events/{event_id}/"
    return f"{url}#comment-{comment_id}" if comment_id else url


def forwards(apps, schema_editor):
    Old = apps.get_model("events", "Notification")
    New = apps.get_model("accounts", "Notification")
    rows = (
        Old.objects.select_related("actor", "event", "comment")
        .order_by("pk")
        .iterator(chunk_size=BATCH)
    )
    batch = []
    for old in rows:
        actor = old.actor.display_name or old.actor.username
        batch.append(
            New(
                user_id=old.user_id,
                kind=old.kind,
                actor_id=old.actor_id,
                summary=f"{actor} mentioned you on {old.event.name}"[:300],
                detail=(old.comment.body if old.comment_id else "")[:1000],
                url=_url(old.event_id, old.comment_id),
                event_id=old.event_id,
                comment_id=old.comment_id,
                created_at=old.created_at,
                read_at=old.read_at,
            )
        )
        if len(batch) >= BATCH:
            New.objects.bulk_create(batch)
            batch = []
    New.objects.bulk_create(batch)


def backwards(apps, schema_editor):
    """Only mentions existed before; other kinds have nowhere to go back to."""
    Old = apps.get_model("events", "Notification")
    New = apps.get_model("accounts", "Notification")
    Old.objects.bulk_create(
        Old(
            user_id=n.user_id,
            kind=n.kind,
            actor_id=n.actor_id,
            event_id=n.event_id,
            comment_id=n.comment_id,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n in New.objects.filter(
            kind="mention", event_id__isnull=False, actor_id__isnull=False
        ).iterator(chunk_size=BATCH)
    )
    New.objects.filter(kind="mention").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_notifications"),
        ("events", "0003_event_list_status_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
