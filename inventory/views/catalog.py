"""The catalog and the locations pages."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render

from accounts.selectors import actor_for
from core.web import (
    add_form_errors,
    org_member_required,
    page_number,
    page_of,
)
from inventory import policies
from inventory.forms import (
    LocationForm,
    ProductForm,
)
from inventory.models import Location, Product
from inventory.selectors.catalog import IDENTITIES, product_matches
from inventory.selectors.units import receive_custodians
from inventory.services.catalog import product_create
from inventory.services.locations import location_create
from inventory.views.common import receiver_required


@org_member_required
def product_list(request):
    actor = actor_for(request.user)
    products = Product.objects.filter(organization_id=actor.organization_id).order_by(
        "catalog_number"
    )
    form = None
    if policies.can_manage_catalog(actor=actor):
        form = ProductForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                data = form.cleaned_data
                product = product_create(
                    actor=request.user,
                    catalog_number=data["catalog_number"],
                    description=data["description"],
                    manufacturer=data["manufacturer"],
                    product_line=data["product_line"],
                    gtin=data["gtin"],
                    hibc_lic=data["hibc_lic"],
                    hibc_product=data["hibc_product"],
                    single_use=data["single_use"],
                    tracking=data["tracking"],
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"Added {product} to the catalog.")
                return redirect("inventory:product_list")
    elif request.method == "POST":
        raise PermissionDenied("Only admins manage the catalog.")
    page = page_number(request)
    rows, has_next = page_of(products, page)
    return render(
        request,
        "inventory/product_list.html",
        {
            "products": rows,
            "form": form,
            "page": page,
            "has_next": has_next,
            "has_previous": page > 1,
        },
    )


@org_member_required
def product_search(request):
    """Type-ahead for the product picker of an unknown scan (inventory.forms.AttachProductForm):
    at most 20 products without a GTIN (identity=gtin) or without an HIBC identity
    (identity=hibc) matching q. Admins only, as attaching is. The answer has the holder
    pickers' shape, which static/js/holder_field.js shows: label (what the box takes), then
    name and role (here the description and the manufacturer)."""
    actor = actor_for(request.user)
    if not policies.can_manage_catalog(actor=actor):
        raise PermissionDenied("Only admins manage the catalog.")
    identity = request.GET.get("identity", "")
    if identity not in IDENTITIES:
        return JsonResponse(
            {"error": f"Say which identity is missing: identity={' | '.join(IDENTITIES)}."},
            status=400,
        )
    # Control characters (NUL included) never appear in a catalog number: drop them.
    query = "".join(ch for ch in request.GET.get("q", "")[:64] if ch.isprintable())
    products = product_matches(
        organization_id=actor.organization_id, identity=identity, query=query
    )
    return JsonResponse(
        {
            "results": [
                {"label": p.catalog_number, "name": p.description, "role": p.manufacturer}
                for p in products
            ]
        }
    )


@receiver_required
def location_list(request):
    actor = actor_for(request.user)
    form = LocationForm(
        request.POST or None,
        user=request.user,
        custodians=receive_custodians(actor=actor),
    )
    if request.method == "POST" and form.is_valid():
        try:
            location = location_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                holder=form.cleaned_data["holder"],
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Added location {location}.")
            return redirect("inventory:location_list")
    locations = Location.objects.filter(organization_id=actor.organization_id).select_related(
        "holder"
    )[:500]
    return render(request, "inventory/location_list.html", {"form": form, "locations": locations})
