"""The hold queue: units back from declined transfers, and releasing them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import actor_for
from core.keyset import keyset_page
from core.web import (
    NOT_SEEN,
    SEEN_FIELD,
    decode_seen,
    flash_errors,
    org_member_required,
    seen_for,
    selected_ids,
)
from inventory import policies
from inventory.selectors.units import units_on_hold, with_declines
from inventory.services.holds import units_release_hold


@org_member_required
@require_POST
def hold_release(request):
    actor = actor_for(request.user)
    if not policies.can_review_holds(actor=actor):
        raise PermissionDenied("Only an admin releases units on hold.")
    if request.POST.get("all"):
        # Everything on hold, as many as one request may act on (the rest stay listed), and
        # the rows the page showed: one released or recalled since is told, not skipped. Units
        # beyond the page shown are judged as they are now: "all" means whatever is on hold.
        seen = decode_seen(request.POST.get(SEEN_FIELD, "")) if SEEN_FIELD in request.POST else None
        ids = list(
            units_on_hold(actor=actor)
            .order_by("pk")
            .values_list("pk", flat=True)[: settings.MAX_SELECTION]
        )
        ids = sorted({*ids, *(seen or {})})[: settings.MAX_SELECTION]
    else:
        ids = selected_ids(request.POST.getlist("unit"))
        seen = seen_for(request.POST, ids)
    if seen is None:
        messages.error(request, NOT_SEEN)
    else:
        try:
            units = units_release_hold(actor=request.user, unit_ids=ids, seen=seen)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Released {len(units)} unit(s) from hold.")
    back = request.POST.get("next", "")
    if back.startswith("/inventory/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return redirect(back)
    return redirect(reverse("inventory:unit_list") + "?state=hold")


@org_member_required
def hold_list(request):
    """Units back from declined transfers, with why, by whom and when; release some or all."""
    actor = actor_for(request.user)
    if not policies.can_review_holds(actor=actor):
        raise PermissionDenied("Only admins review units on hold.")
    page = keyset_page(request, units_on_hold(actor=actor), [("pk", "asc")])
    return render(
        request,
        "inventory/hold_list.html",
        {"units": with_declines(page.rows), "page": page},
    )
