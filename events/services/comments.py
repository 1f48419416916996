"""Comments on events and the @mentions they carry."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, User
from accounts.selectors import actor_for
from accounts.services import notify
from events import policies, selectors
from events.mentions import possible_mentions
from events.models import (
    Comment,
    Event,
    Mention,
)


def _resolve_or_refuse(event: Event, body: str) -> list[User]:
    names = possible_mentions(body)
    visible, hidden, unknown = selectors.resolve_mentions(event=event, names=names)
    problems = [f"@{n} cannot see this event, so they cannot be mentioned here." for n in hidden]
    problems += [f"There is no user @{n} in your organization." for n in unknown]
    if problems:
        raise ValidationError({"body": problems})
    return visible


def _notify(*, actor: User, event: Event, comment: Comment, users: list[User]) -> None:
    notify(
        recipients=users,
        kind=NotificationKind.MENTION,
        actor=actor,
        summary=f"{actor.name} mentioned you on {event.name}",
        detail=comment.body,
        url=reverse("events:event_detail", args=[event.pk]) + f"#comment-{comment.pk}",
        event_id=event.pk,
        comment_id=comment.pk,
    )


@transaction.atomic
def comment_add(*, actor: User, event: Event, body: str) -> Comment:
    """Comment on an event. Every @mention must name someone who can see the event (else the
    whole comment is refused, saying who); each mentioned user is notified in-app now and by
    email after commit."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    who = actor_for(actor)
    if not policies.can_see_event(actor=who, event=event):
        raise PermissionDenied("Not found.")
    users = _resolve_or_refuse(event, body)
    comment = Comment.objects.create(event=event, author=actor, body=body[:5000])
    Mention.objects.bulk_create(Mention(comment=comment, user=u) for u in users)
    _notify(actor=actor, event=event, comment=comment, users=users)
    return comment


@transaction.atomic
def comment_edit(*, actor: User, comment: Comment, body: str) -> Comment:
    """The author edits a comment; only people newly mentioned are notified."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "A comment cannot be empty."})
    comment = Comment.objects.select_for_update().select_related("event").get(pk=comment.pk)
    if comment.author_id != actor.pk:
        raise PermissionDenied("Only the author can edit a comment.")
    if not policies.can_see_event(actor=actor_for(actor), event=comment.event):
        raise PermissionDenied("Not found.")
    users = _resolve_or_refuse(comment.event, body)
    before = set(comment.mentions.values_list("user_id", flat=True))
    now_ids = {u.pk for u in users}
    comment.mentions.exclude(user_id__in=now_ids).delete()
    new = [u for u in users if u.pk not in before]
    Mention.objects.bulk_create(Mention(comment=comment, user=u) for u in new)
    comment.body = body[:5000]
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    _notify(actor=actor, event=comment.event, comment=comment, users=new)
    return comment
