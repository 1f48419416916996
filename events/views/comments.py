"""Comments on an event and the @mention autocomplete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.web import (
    add_form_errors,
    flash_errors,
    org_member_required,
)
from events import selectors
from events.forms import CommentForm
from events.models import Comment
from events.services import comments as comment_services
from events.views.events import get_event


@org_member_required
@require_POST
def comment_add(request, pk):
    event = get_event(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = comment_services.comment_add(
                actor=request.user, event=event, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            flash_errors(request, exc)
            request.session["comment_draft"] = form.cleaned_data["body"]
        else:
            messages.success(request, "Comment added.")
            return redirect(
                reverse("events:event_detail", args=[event.pk]) + f"#comment-{comment.pk}"
            )
    else:
        for error in form.errors.get("body", []):
            messages.error(request, error)
    return redirect(reverse("events:event_detail", args=[event.pk]) + "#comments")


@org_member_required
def comment_edit(request, pk, comment_pk):
    event = get_event(request, pk)
    comment = get_object_or_404(Comment, pk=comment_pk, event=event)
    if comment.author_id != request.user.pk:
        raise PermissionDenied("Only the author can edit a comment.")
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            comment_services.comment_edit(
                actor=request.user, comment=comment, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, "Comment saved.")
            return redirect(
                reverse("events:event_detail", args=[event.pk]) + f"#comment-{comment.pk}"
            )
    return render(
        request, "events/comment_form.html", {"form": form, "event": event, "comment": comment}
    )


@org_member_required
def mention_autocomplete(request, pk):
    event = get_event(request, pk)
    # Control characters (NUL included) never start a username: answer with nobody.
    prefix = "".join(ch for ch in request.GET.get("q", "")[:50] if ch.isprintable())
    users = selectors.mention_candidates(event=event, prefix=prefix)
    return JsonResponse(
        {
            "results": [
                {"username": u.username, "name": u.name, "role": u.get_role_display()}
                for u in users
            ]
        }
    )
