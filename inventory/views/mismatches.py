"""Labels that disagreed with a unit's record: the admins' list, and marking one resolved."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import actor_for
from core.keyset import keyset_page
from core.web import org_member_required
from inventory import policies
from inventory.selectors.mismatches import (
    MISMATCH_KEYSET,
    STATUSES,
    label_mismatches,
    with_event_refs,
)
from inventory.services import scans as scan_services

STATUS_TABS = (("open", "Open"), ("resolved", "Resolved"), ("all", "All"))


@org_member_required
def label_mismatch_list(request):
    """Each refused scan whose label disagreed with the record: who, when, where, the label's
    values beside the record's; an admin corrects the data, then marks the row resolved."""
    actor = actor_for(request.user)
    if not policies.can_review_label_mismatches(actor=actor):
        raise PermissionDenied("Only admins review label mismatches.")
    status = request.GET.get("status", "open")
    status = status if status in STATUSES else "open"
    page = keyset_page(request, label_mismatches(actor=actor, status=status), MISMATCH_KEYSET)
    return render(
        request,
        "inventory/label_mismatch_list.html",
        {
            "mismatches": with_event_refs(page.rows, viewer=request.user),
            "page": page,
            "status": status,
            "tabs": STATUS_TABS,
        },
    )


@org_member_required
@require_POST
def label_mismatch_resolve(request, pk):
    actor = actor_for(request.user)
    if not policies.can_review_label_mismatches(actor=actor):
        raise PermissionDenied("Only an admin resolves label mismatches.")
    mismatch = get_object_or_404(label_mismatches(actor=actor, status="all"), pk=pk)
    was_resolved = mismatch.is_resolved
    scan_services.label_mismatch_resolve(actor=request.user, mismatch=mismatch)
    if was_resolved:
        messages.info(request, f"The mismatch on {mismatch.unit.label} was already resolved.")
    else:
        messages.success(request, f"Marked the mismatch on {mismatch.unit.label} resolved.")
    back = request.POST.get("next", "")
    if back.startswith("/inventory/label-mismatches/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return redirect(back)
    return redirect(reverse("inventory:label_mismatch_list"))
