"""Moving units between two locations of the same holder."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts.selectors import actor_for
from core.web import NOT_SEEN, flash_errors, org_member_required, seen_for, selected_ids
from inventory.models import Location, Unit
from inventory.recall_forms import MoveForm
from inventory.selectors.units import custody_label, unit_rows
from inventory.services.locations import units_move


@org_member_required
def unit_move(request):
    """Move units between two locations of their holder. GET ?unit=..&to_location=.. prefills
    (the dashboard's proposed replenishment and a unit's page link here); a POST without
    `to_location` (the unit list's "Move selected") only shows the units."""
    actor = actor_for(request.user)
    source = request.POST if request.method == "POST" else request.GET
    submitted = request.method == "POST" and "to_location" in request.POST
    ids = selected_ids(source.getlist("unit"))
    units = list(unit_rows(Unit.objects.visible_to(request.user).filter(pk__in=ids)).order_by("pk"))
    holders = {u.custodian_id for u in units}
    locations = Location.objects.filter(organization_id=actor.organization_id)
    if len(holders) == 1:
        (holder_id,) = holders
        locations = locations.filter(holder_id=holder_id)
    form = MoveForm(
        request.POST if submitted else None,
        locations=locations,
        initial={"to_location": request.GET.get("to_location")},
    )
    if submitted and form.is_valid() and (seen := seen_for(request.POST, ids)) is None:
        messages.error(request, NOT_SEEN)
    elif submitted and form.is_valid():
        try:
            moved = units_move(
                actor=request.user,
                unit_ids=ids,
                to_location=form.cleaned_data["to_location"],
                seen=seen,
            )
        except ValidationError as exc:
            flash_errors(request, exc)
            # Drawn again as things stand now, so a second try judges what the person sees.
            units = list(
                unit_rows(Unit.objects.visible_to(request.user).filter(pk__in=ids)).order_by("pk")
            )
        else:
            messages.success(
                request, f"Moved {len(moved)} unit(s) to {form.cleaned_data['to_location']}."
            )
            return redirect("home")
    for unit in units:
        unit.custody = custody_label(unit=unit, actor=actor)
    return render(request, "inventory/move_form.html", {"form": form, "units": units})
