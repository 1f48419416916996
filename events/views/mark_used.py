"""The Mark Used Inventory screen: the units an event's representative may use, with the custody
filter, and marking or unmarking them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.policies import usable_holder_ids
from accounts.selectors import actor_for
from core.keyset import keyset_page
from core.web import (
    NOT_SEEN,
    flash_errors,
    org_member_required,
    scanner_csp,
    seen_for,
    selected_ids,
)
from events import policies, selectors
from events.services.usage import event_mark_used, event_unmark
from events.views.events import get_event
from inventory.filters import custody_tabs
from inventory.forms import ScanForm
from inventory.models import LabelMismatch, UnitState
from inventory.selectors.scans import units_from_scan
from inventory.selectors.units import (
    custody_label,
    filtered_units,
    list_partitions,
    unit_rows,
)
from inventory.services.scans import record_label_mismatches

# Earliest expiry first, units without one last, then oldest first (the keyset cursor's key).
MARK_USED_ORDER = [("expiration_date", "asc"), ("pk", "asc")]


@org_member_required
@scanner_csp
def mark_used(request, pk):
    """Mark Used Inventory: what the event's representative may use, with the custody filter."""
    event = get_event(request, pk)
    if request.method == "POST":
        return _mark_used_post(request, event)
    rep_actor = actor_for(event.representative)
    facility_only = request.GET.get("facility_stock") == "1"
    filterset, qs = _usable_units_filtered(request, event, rep_actor, facility_only=facility_only)
    page = keyset_page(
        request,
        unit_rows(qs),
        MARK_USED_ORDER,
        partitions=list_partitions(filterset, usable_holder_ids(actor=rep_actor)),
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
    filterset, qs, valid = filtered_units(
        params=params, actor=rep_actor, queryset=base, for_use=True, own_label=own_label
    )
    if not valid:
        for error in filterset.error_messages():
            messages.error(request, error)
    return filterset, qs


def _label_custody(units, rep_actor, *, viewer):
    for unit in units:
        unit.custody = custody_label(unit=unit, actor=rep_actor, viewer_id=viewer.pk)
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
        scanned = units_from_scan(
            qs=selectors.usable_units(event=event, rep_actor=rep_actor, scanning=True),
            text=scan.cleaned_data["scan"],
            prefer_holder_id=event.representative_id,
            units_of_use_only=True,
        )
        # Kept for the admins even though the scan is refused (README, "Scans and codes").
        record_label_mismatches(
            actor=request.user,
            mismatches=scanned.mismatches,
            where=LabelMismatch.Where.MARK_USED,
            event_id=event.pk,
        )
        if scanned.problems:
            for problem in scanned.problems:
                messages.error(request, problem)
            return redirect(back)
        for note in scanned.notes:
            messages.info(request, note)
        # A scan is judged on the unit as it is now: it carries no sequence.
        ids, identified, seen = [u.pk for u in scanned.found], scanned.identified, None
    else:
        ids, identified = selected_ids(request.POST.getlist("unit")), {}
        seen = seen_for(request.POST, ids)
        if seen is None:
            messages.error(request, NOT_SEEN)
            return redirect(back)
    try:
        lines = event_mark_used(
            actor=request.user, event=event, unit_ids=ids, identified_by=identified, seen=seen
        )
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
    event = get_event(request, pk)
    try:
        count = event_unmark(
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
