"""Par-level pages: the levels of the locations one may see, and one level's replenishment
proposal."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from accounts.selectors import actor_for
from core.web import add_form_errors, org_member_required
from inventory import policies
from inventory.models import Location, ParLevel
from inventory.recall_forms import ParLevelForm
from inventory.selectors.par import below_par
from inventory.selectors.units import product_by_code
from inventory.services.par import par_level_set
from inventory.views.common import require


@org_member_required
def par_level_list(request):
    """Par levels of the locations the person may set them for; a form to set one."""
    actor = actor_for(request.user)
    require(policies.can_manage_par_levels(actor=actor))
    locations = Location.objects.filter(
        organization_id=actor.organization_id, holder__role="distributor"
    ).select_related("holder")
    if not actor.is_admin:
        locations = locations.filter(holder_id=actor.id)
    form = ParLevelForm(request.POST or None, locations=locations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            level = par_level_set(
                actor=request.user,
                location=data["location"],
                product=product_by_code(
                    organization_id=actor.organization_id, code=data["product"]
                ),
                par=data["par"],
                reorder_to=data["reorder_to"],
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Set {level}.")
            return redirect("inventory:par_level_list")
    levels = (
        ParLevel.objects.filter(location__in=locations)
        .select_related("location", "product")
        .order_by("location__name", "product__catalog_number")[:500]
    )
    return render(request, "inventory/par_level_list.html", {"form": form, "levels": levels})


@org_member_required
def par_replenish(request, pk):
    """One location below par and its proposed replenishment from the warehouses, earliest
    expiry first: a move from the holder's own, transfers from others' the viewer may send."""
    actor = actor_for(request.user)
    if not policies.can_manage_par_levels(actor=actor):
        raise PermissionDenied("Only admins and distributors keep par levels.")
    holder = None if actor.is_admin else request.user
    rows = below_par(holder=holder, viewer=request.user, level_id=pk)
    if rows:
        return render(request, "inventory/par_replenish.html", {"row": rows[0]})
    levels = ParLevel.objects.filter(organization_id=actor.organization_id)
    if holder is not None:
        levels = levels.filter(location__holder=holder)
    level = get_object_or_404(levels.select_related("location", "product"), pk=pk)
    messages.info(request, f"{level.location} is at par for {level.product.catalog_number}.")
    return redirect("home")
