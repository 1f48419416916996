"""Event pages: thin. Parse input, call one selector or service, render or redirect."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.policies import usable_holder_ids
from accounts.selectors import actor_for
from config import csvsafe
from config.keyset import keyset_page
from config.web import (
    add_form_errors,
    flash_errors,
    org_member_required,
    selected_ids,
)
from inventory import selectors as inventory_selectors
from inventory.filters import custody_tabs
from inventory.forms import ScanForm
from inventory.models import Facility, UnitState
from inventory.selectors import units_from_scan

from . import policies, selectors, services
from .filters import EventFilter
from .forms import DIRECTORY_FORMS, CommentForm, EventForm, PoForm
from .models import Comment, Event, EventStatus, EventType, Physician, Procedure


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
            event = services.event_create(actor=request.user, **_event_details(form))
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
            services.event_update(actor=request.user, event=event, **_event_details(form))
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


# Earliest expiry first, units without one last, then oldest first (the keyset cursor's key).
MARK_USED_ORDER = [("expiration_date", "asc"), ("pk", "asc")]


@org_member_required
def mark_used(request, pk):
    """Mark Used Inventory: what the event's representative may use, with the custody filter."""
    event = _get_event(request, pk)
    if request.method == "POST":
        return _mark_used_post(request, event)
    rep_actor = actor_for(event.representative)
    facility_only = request.GET.get("facility_stock") == "1"
    filterset, qs = _usable_units_filtered(request, event, rep_actor, facility_only=facility_only)
    page = keyset_page(
        request,
        inventory_selectors.unit_rows(qs),
        MARK_USED_ORDER,
        partitions=inventory_selectors.holder_partitions(usable_holder_ids(actor=rep_actor)),
    )
    rows = page.rows
    for unit in _label_custody(rows, rep_actor, viewer=request.user):
        # Against the event's date: a case recorded late may use what expired since.
        unit.expired = policies.unit_expired_for(event=event, unit=unit)
        unit.expiry_warning = policies.unit_use_warning(event=event, unit=unit)
    lines = selectors.current_lines(event=event)
    _label_custody([line.unit for line in lines], rep_actor, viewer=request.user)
    can_use = policies.can_mark_used(actor=actor_for(request.user), event=event)
    return render(
        request,
        "events/mark_used.html",
        {
            "event": event,
            "filter": filterset,
            "custody_tabs": custody_tabs(request.GET, filterset),
            "units": rows,
            "lines": lines,
            "page": page,
            "facility_only": facility_only,
            # Searching keeps the "facility stock only" toggle.
            "keep": [("facility_stock", "1")] if facility_only else [],
            "facility_toggle": _facility_toggle_query(request, facility_only),
            "can_use": can_use,
        },
    )


def _usable_units_filtered(request, event, rep_actor, *, facility_only: bool):
    """What the representative may use on the event, through the inventory list's filters
    (the same custody values and holder ids, so pooling is decided in one place)."""
    base = selectors.usable_units(event=event, rep_actor=rep_actor)
    if facility_only:
        base = base.filter(state=UnitState.FACILITY_STOCK, facility_id=event.facility_id)
    params = request.GET.copy()
    params.pop("facility_stock", None)
    # Someone else looking sees the tabs named after the representative.
    own_label = f"{event.representative.name}'s Custody" if request.user.pk != rep_actor.id else ""
    filterset, qs, valid = inventory_selectors.filtered_units(
        params=params, actor=rep_actor, queryset=base, for_use=True, own_label=own_label
    )
    if not valid:
        for error in filterset.error_messages():
            messages.error(request, error)
    return filterset, qs


def _label_custody(units, rep_actor, *, viewer):
    for unit in units:
        unit.custody = inventory_selectors.custody_label(
            unit=unit, actor=rep_actor, viewer_id=viewer.pk
        )
    return units


def _facility_toggle_query(request, facility_only: bool) -> str:
    """The link that turns "facility stock only" on or off, keeping the other filters."""
    query = request.GET.copy()
    # A cursor belongs to the list it came from: the toggled list starts at its first page.
    for key in ("page", "after", "before"):
        query.pop(key, None)
    if facility_only:
        query.pop("facility_stock", None)
    else:
        query["facility_stock"] = "1"
    return query.urlencode()


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
            qs=selectors.usable_units(event=event, rep_actor=rep_actor, scanning=True),
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
        for line in lines:
            if warning := policies.unit_use_warning(event=event, unit=line.unit):
                messages.warning(request, warning)
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


def _directory_details(form) -> dict:
    """A directory form's fields by name: name, and the kind, city or specialty it has."""
    data = form.cleaned_data
    return {
        "name": data["name"],
        "kind": data.get("kind"),
        "city": data.get("city"),
        "specialty": data.get("specialty"),
    }


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
                    actor=request.user, entry=kind, **_directory_details(form)
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
                actor=request.user, entry=kind, instance=obj, **_directory_details(form)
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Saved {obj}.")
            return redirect("events:directory")
    return render(request, "events/directory_form.html", {"form": form, "obj": obj, "kind": kind})
