"""Event pages: thin. Parse input, call one selector or service, render or redirect."""

from __future__ import annotations

import copy
import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role, User
from accounts.selectors import actor_for
from config.web import (
    add_form_errors,
    flash_errors,
    org_member_required,
    page_number,
    page_of,
    selected_ids,
)
from inventory import selectors as inventory_selectors
from inventory.filters import UnitFilter, product_lines
from inventory.forms import ScanForm
from inventory.models import Facility, UnitState
from inventory.selectors import units_from_scan
from inventory.views import custody_tabs

from . import policies, selectors, services
from .forms import DIRECTORY_FORMS, CommentForm, EventFilterForm, EventForm, PoForm
from .models import Comment, Event, EventStatus, EventType, Notification, Physician, Procedure


def _representatives(user):
    """Whom the user may pick as an event's representative (form choices start from scope)."""
    actor = actor_for(user)
    qs = User.objects.filter(
        organization_id=actor.organization_id,
        is_active=True,
        role__in=[Role.REP, Role.DISTRIBUTOR],
    )
    if actor.is_admin:
        return qs
    if actor.is_distributor:
        return qs.filter(pk__in={actor.id, *actor.rep_ids})
    return qs.filter(pk=actor.id)


def _get_event(request, pk):
    return get_object_or_404(
        Event.objects.visible_to(request.user).select_related(
            "representative", "facility", "physician", "procedure", "created_by"
        ),
        pk=pk,
    )


@org_member_required
def event_list(request):
    actor = actor_for(request.user)
    form = EventFilterForm(
        request.GET or None,
        organization_id=actor.organization_id,
        representatives=_representatives(request.user),
    )
    qs = Event.objects.visible_to(request.user)
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            for field in ("type", "status"):
                if data[field]:
                    qs = qs.filter(**{field: data[field]})
            if data["facility"]:
                qs = qs.filter(facility=data["facility"])
            if data["representative"]:
                qs = qs.filter(representative=data["representative"])
            if data["date_from"]:
                qs = qs.filter(scheduled_at__date__gte=data["date_from"])
            if data["date_to"]:
                qs = qs.filter(scheduled_at__date__lte=data["date_to"])
        else:
            qs = qs.none()
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
    page = page_number(request)
    rows, has_next = page_of(selectors.event_rows(qs).order_by("-scheduled_at", "-pk"), page)
    return render(
        request,
        "events/event_list.html",
        {
            "form": form,
            "events": rows,
            "page": page,
            "has_next": has_next,
            "has_previous": page > 1,
        },
    )


@org_member_required
def event_create(request):
    actor = actor_for(request.user)
    reps = _representatives(request.user)
    initial = {"representative": request.user.pk} if not actor.is_admin else {}
    form = EventForm(
        request.POST or None,
        initial=initial,
        organization_id=actor.organization_id,
        representatives=reps,
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Opened {event.name}.")
            return redirect("events:event_detail", pk=event.pk)
    return render(request, "events/event_form.html", {"form": form, "creating": True})


@org_member_required
def event_edit(request, pk):
    event = _get_event(request, pk)
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
    form = EventForm(
        request.POST or None,
        initial=initial,
        organization_id=actor.organization_id,
        representatives=_representatives(request.user)
        | User.objects.filter(pk=event.representative_id),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.event_update(actor=request.user, event=event, **form.cleaned_data)
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
    event = _get_event(request, pk)
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
def mark_used(request, pk):
    """Mark Used Inventory: what the event's representative may use, with the custody filter."""
    event = _get_event(request, pk)
    actor = actor_for(request.user)
    if not policies.can_see_event(actor=actor, event=event):
        raise PermissionDenied  # unreachable: visible_to already scoped the lookup
    rep_actor = actor_for(event.representative)
    if request.method == "POST":
        return _mark_used_post(request, event)
    base = selectors.usable_units(event=event, rep_actor=rep_actor)
    facility_only = request.GET.get("facility_stock") == "1"
    if facility_only:
        base = base.filter(state=UnitState.FACILITY_STOCK, facility_id=event.facility_id)
    holder_ids = {rep_actor.id} | (
        {rep_actor.distributor_id} if rep_actor.distributor_id else set()
    )
    holders = list(User.objects.filter(pk__in=holder_ids))
    params = request.GET.copy()
    params.pop("facility_stock", None)
    filterset = UnitFilter(
        params,
        queryset=base,
        actor=rep_actor,
        holders=holders,
        product_lines=product_lines(event.organization_id),
    )
    for name in ("state", "rep", "custodian"):
        filterset.filters.pop(name, None)
    if "custody" in filterset.filters:
        # Only the representative's own custody and (with pooling) the pool are usable here;
        # someone else looking at the event sees the tabs named after the representative.
        choices = filterset.filters["custody"].extra["choices"]
        if not rep_actor.uses_pool:
            choices = [c for c in choices if c[0] == "mine"]
        if request.user.pk != rep_actor.id:
            own = f"{event.representative.name}'s Custody"
            choices = [(v, own if v == "mine" else label) for v, label in choices]
        filterset.filters["custody"].extra["choices"] = choices
    if filterset.is_bound and not filterset.is_valid():
        qs = base.none()
        for error in filterset.error_messages():
            messages.error(request, error)
    else:
        qs = filterset.qs
    page = page_number(request)
    rows, has_next = page_of(
        inventory_selectors.unit_rows(qs).order_by(*inventory_selectors.UNIT_ORDER), page
    )
    today = timezone.localdate()
    for unit in rows:
        unit.custody = inventory_selectors.custody_label(
            unit=unit, actor=rep_actor, viewer_id=request.user.pk
        )
        unit.expired = unit.is_expired(today)
    lines = selectors.current_lines(event=event)
    for line in lines:
        line.unit.custody = inventory_selectors.custody_label(
            unit=line.unit, actor=rep_actor, viewer_id=request.user.pk
        )
    tabs = custody_tabs(request, filterset)
    facility_toggle = request.GET.copy()
    facility_toggle.pop("page", None)
    if facility_only:
        facility_toggle.pop("facility_stock", None)
    else:
        facility_toggle["facility_stock"] = "1"
    return render(
        request,
        "events/mark_used.html",
        {
            "event": event,
            "filter": filterset,
            "custody_tabs": tabs,
            "units": rows,
            "lines": lines,
            "page": page,
            "has_next": has_next,
            "has_previous": page > 1,
            "facility_only": facility_only,
            # Searching keeps the "facility stock only" toggle.
            "keep": [("facility_stock", "1")] if facility_only else [],
            "facility_toggle": facility_toggle.urlencode(),
            "can_use": policies.can_mark_used(actor=actor, event=event),
            "today": today,
        },
    )


def _mark_used_post(request, event):
    back = reverse("events:mark_used", args=[event.pk])
    query = request.POST.get("return_query", "")
    if query:
        back += "?" + query
    if "scan" in request.POST:
        scan = ScanForm(request.POST)
        if not scan.is_valid():
            for error in scan.errors.get("scan", []):
                messages.error(request, error)
            return redirect(back)
        rep_actor = actor_for(event.representative)
        found, problems = units_from_scan(
            qs=selectors.usable_units(event=event, rep_actor=rep_actor),
            text=scan.cleaned_data["scan"],
        )
        if problems:
            for problem in problems:
                messages.error(request, problem)
            return redirect(back)
        ids = [u.pk for u in found]
    else:
        ids = selected_ids(request.POST.getlist("unit"))
    try:
        lines = services.event_mark_used(actor=request.user, event=event, unit_ids=ids)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Marked {len(lines)} unit(s) used on {event.name}.")
    return redirect(back)


@org_member_required
@require_POST
def unmark(request, pk):
    event = _get_event(request, pk)
    try:
        count = services.event_unmark(
            actor=request.user, event=event, unit_ids=selected_ids(request.POST.getlist("unit"))
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Unmarked {count} unit(s).")
    return redirect(
        request.POST.get("next")
        if request.POST.get("next", "").startswith("/events/")
        else reverse("events:mark_used", args=[event.pk])
    )


@org_member_required
def submit_confirm(request, pk):
    """Before submitting: say what submitting will do to the units and who can undo it."""
    event = _get_event(request, pk)
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
    "submit": (services.event_submit, "Submitted."),
    "cancel": (services.event_cancel, "Cancelled; its units are released."),
    "paid": (services.event_mark_paid, "Marked paid."),
    "reopen": (services.event_reopen, "Reopened."),
}


@org_member_required
@require_POST
def transition(request, pk, action):
    event = _get_event(request, pk)
    try:
        if action == "complete":
            form = PoForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors["po_number"])
            services.event_complete(
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
    event = _get_event(request, pk)
    summary = selectors.usage_summary(event=event)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{event.pk}-usage.csv"'
    writer = csv.writer(response)
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
            ]
        )
    return response


@org_member_required
@require_POST
def comment_add(request, pk):
    event = _get_event(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.comment_add(
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
    event = _get_event(request, pk)
    comment = get_object_or_404(Comment, pk=comment_pk, event=event)
    if comment.author_id != request.user.pk:
        raise PermissionDenied("Only the author can edit a comment.")
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_edit(
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
    event = _get_event(request, pk)
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


@org_member_required
def notification_list(request):
    page = page_number(request)
    rows, has_next = page_of(selectors.notification_rows(user=request.user), page)
    return render(
        request,
        "events/notification_list.html",
        {"notifications": rows, "page": page, "has_next": has_next, "has_previous": page > 1},
    )


@org_member_required
@require_POST
def notification_read(request):
    ids = None if request.POST.get("all") else selected_ids(request.POST.getlist("id"))
    count = services.notifications_mark_read(user=request.user, ids=ids)
    messages.success(request, f"Marked {count} notification(s) read.")
    return redirect("events:notification_list")


@org_member_required
def notification_open(request, pk):
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    target = reverse("events:event_detail", args=[notification.event_id])
    if notification.comment_id:
        target += f"#comment-{notification.comment_id}"
    return redirect(target)


@org_member_required
def directory(request):
    actor = actor_for(request.user)
    can_edit = policies.can_manage_directory(actor=actor)
    kind = request.POST.get("kind") if request.method == "POST" else None
    forms = {k: f(prefix=k) for k, f in DIRECTORY_FORMS.items()}
    if kind in DIRECTORY_FORMS:
        if not can_edit:
            raise PermissionDenied("Only admins and distributors edit the directory.")
        form = DIRECTORY_FORMS[kind](request.POST, prefix=kind)
        forms[kind] = form
        if form.is_valid():
            try:
                obj = services.directory_save(
                    actor=request.user, entry=kind, fields=form.cleaned_data
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"Added {obj}.")
                return redirect("events:directory")
    elif request.method == "POST":
        messages.error(request, "Choose what to add: a facility, a physician or a procedure.")
    org = actor.organization_id
    return render(
        request,
        "events/directory.html",
        {
            "facilities": Facility.objects.filter(organization_id=org)[:500],
            "physicians": Physician.objects.filter(organization_id=org)[:500],
            "procedures": Procedure.objects.filter(organization_id=org)[:500],
            "forms": forms if can_edit else None,
        },
    )


@org_member_required
def directory_edit(request, kind, pk):
    actor = actor_for(request.user)
    if kind not in services.DIRECTORY_MODELS:
        raise Http404("Unknown directory entry.")
    obj = get_object_or_404(
        services.DIRECTORY_MODELS[kind], pk=pk, organization_id=actor.organization_id
    )
    if not policies.can_manage_directory(actor=actor):
        raise PermissionDenied("Only admins and distributors edit the directory.")
    form = DIRECTORY_FORMS[kind](request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            services.directory_save(
                actor=request.user, entry=kind, instance=obj, fields=form.cleaned_data
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Saved {obj}.")
            return redirect("events:directory")
    return render(request, "events/directory_form.html", {"form": form, "obj": obj, "kind": kind})
