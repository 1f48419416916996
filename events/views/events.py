"""Event pages: the list, create, edit, one event, submit and the other status changes, and its
usage CSV."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import actor_for
from core import csvsafe
from core.keyset import keyset_page
from core.web import (
    add_form_errors,
    flash_errors,
    org_member_required,
)
from events import policies, selectors
from events.filters import EventFilter
from events.forms import CommentForm, EventForm, PoForm
from events.models import Event, EventStatus, EventType
from events.services import events as event_services


def get_event(request, pk):
    return get_object_or_404(
        Event.objects.visible_to(request.user).select_related(
            "representative", "facility", "physician", "procedure", "created_by"
        ),
        pk=pk,
    )


@org_member_required
def event_list(request):
    actor = actor_for(request.user)
    filterset = EventFilter(
        request.GET,
        queryset=Event.objects.visible_to(request.user),
        organization_id=actor.organization_id,
        user=request.user,
        representatives=selectors.representative_picks(actor=actor),
    )
    if filterset.is_valid():
        qs = filterset.qs
    else:
        qs = Event.objects.none()
        for errors in filterset.errors.values():
            for error in errors:
                messages.error(request, error)
    page = keyset_page(request, selectors.event_rows(qs), selectors.EVENT_ORDER)
    return render(
        request,
        "events/event_list.html",
        {
            "form": filterset.form,
            "events": selectors.with_unit_counts(page.rows),
            "page": page,
        },
    )


def _event_details(form: EventForm) -> dict:
    """The event form's fields by name, as event_create and event_update take them."""
    data = form.cleaned_data
    return {
        "type": data["type"],
        "name": data["name"],
        "representative": data["representative"],
        "facility": data["facility"],
        "physician": data["physician"],
        "procedure": data["procedure"],
        "scheduled_at": data["scheduled_at"],
        "patient_ref": data["patient_ref"],
        "notes": data["notes"],
    }


@org_member_required
def event_create(request):
    actor = actor_for(request.user)
    initial = {"representative": request.user.pk} if not actor.is_admin else {}
    form = EventForm(
        request.POST or None,
        initial=initial,
        organization_id=actor.organization_id,
        representatives=selectors.representative_picks(actor=actor),
        user=request.user,
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = event_services.event_create(actor=request.user, **_event_details(form))
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Opened {event.name}.")
            return redirect("events:event_detail", pk=event.pk)
    return render(request, "events/event_form.html", {"form": form, "creating": True})


@org_member_required
def event_edit(request, pk):
    event = get_event(request, pk)
    actor = actor_for(request.user)
    initial = {
        f: getattr(event, f)
        for f in (
            "type",
            "name",
            "representative",
            "facility",
            "physician",
            "procedure",
            "patient_ref",
            "notes",
        )
    }
    initial["scheduled_at"] = timezone.localtime(event.scheduled_at)
    picks = selectors.representative_picks(actor=actor)
    form = EventForm(
        request.POST or None,
        initial=initial,
        organization_id=actor.organization_id,
        representatives=None
        if picks is None
        else picks | User.objects.filter(pk=event.representative_id),
        user=request.user,
        keep=event.representative,
    )
    if request.method == "POST" and form.is_valid():
        try:
            event_services.event_update(actor=request.user, event=event, **_event_details(form))
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("events:event_detail", pk=event.pk)
    return render(
        request, "events/event_form.html", {"form": form, "event": event, "creating": False}
    )


@org_member_required
def event_detail(request, pk):
    event = get_event(request, pk)
    actor = actor_for(request.user)
    summary = selectors.usage_summary(event=event)
    return render(
        request,
        "events/event_detail.html",
        {
            "event": event,
            "summary": summary,
            "comments": selectors.comments_for(event=event),
            # A comment refused for its mentions comes back as it was typed.
            "comment_form": CommentForm(initial={"body": request.session.pop("comment_draft", "")}),
            "po_form": PoForm(),
            "can": {
                "edit": policies.can_edit_event(actor=actor, event=event),
                "use": policies.can_mark_used(actor=actor, event=event),
                "submit": policies.can_submit(actor=actor, event=event),
                "cancel": policies.can_cancel(actor=actor, event=event),
                "complete": policies.can_complete(actor=actor, event=event),
                "paid": policies.can_mark_paid(actor=actor, event=event),
                "reopen": policies.can_reopen(actor=actor, event=event),
            },
        },
    )


@org_member_required
def submit_confirm(request, pk):
    """Before submitting: say what submitting will do to the units and who can undo it."""
    event = get_event(request, pk)
    actor = actor_for(request.user)
    if not policies.can_submit(actor=actor, event=event):
        messages.error(request, policies.refusal_reason(event=event, action="submit", actor=actor))
        return redirect("events:event_detail", pk=event.pk)
    lines = selectors.current_lines(event=event)
    as_submitted = copy.copy(event)
    as_submitted.status = EventStatus.SUBMITTED
    return render(
        request,
        "events/event_submit_confirm.html",
        {
            "event": event,
            "lines": lines,
            "consumed": [
                ln for ln in lines if ln.unit.product.single_use or ln.from_facility_stock
            ],
            "returned": [
                ln for ln in lines if not ln.unit.product.single_use and not ln.from_facility_stock
            ],
            "is_stocking_order": event.type == EventType.STOCKING_ORDER,
            "is_adjustment": event.type
            in (EventType.DAMAGE, EventType.RETURN, EventType.ADJUSTMENT),
            "can_reopen_after": policies.can_reopen(actor=actor, event=as_submitted),
            "reopenable": event.type == EventType.CASE,
        },
    )


TRANSITIONS = {
    "submit": (event_services.event_submit, "Submitted."),
    "cancel": (event_services.event_cancel, "Cancelled; its units are released."),
    "paid": (event_services.event_mark_paid, "Marked paid."),
    "reopen": (event_services.event_reopen, "Reopened."),
}


@org_member_required
@require_POST
def transition(request, pk, action):
    event = get_event(request, pk)
    try:
        if action == "complete":
            form = PoForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors["po_number"])
            event_services.event_complete(
                actor=request.user, event=event, po_number=form.cleaned_data["po_number"]
            )
            messages.success(request, "Completed with its PO number.")
        else:
            service, done = TRANSITIONS[action]
            service(actor=request.user, event=event)
            messages.success(request, done)
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect("events:event_detail", pk=event.pk)


@org_member_required
def usage_csv(request, pk):
    event = get_event(request, pk)
    summary = selectors.usage_summary(event=event)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{event.pk}-usage.csv"'
    writer = csvsafe.writer(response)
    writer.writerow(
        [
            "event",
            "catalog_number",
            "description",
            "serial_number",
            "lot_number",
            "billable",
            "from_facility_stock",
            "custodian_now",
            "recall",
        ]
    )
    for line in summary["lines"]:
        unit = line.unit
        writer.writerow(
            [
                event.name,
                unit.product.catalog_number,
                unit.product.description,
                unit.serial_number,
                unit.lot_number,
                "yes" if line.billable else "no",
                "yes" if line.from_facility_stock else "no",
                unit.custodian.name if unit.custodian else "Organization",
                f"Recalled: {line.recall.reference} — tell the surgeon" if line.recall else "",
            ]
        )
    return response
