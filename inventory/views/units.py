"""Pages of units: the inventory list with its custody filter, its CSV export (in the request or as
a background job) and one unit's page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.policies import holder_ids_in_scope
from accounts.selectors import actor_for
from core import csvsafe
from core.keyset import keyset_page
from core.web import org_member_required
from inventory import policies
from inventory.filters import custody_tabs
from inventory.models import Unit
from inventory.selectors.mismatches import open_mismatch_count
from inventory.selectors.units import (
    EXPORT_COLUMNS,
    UNIT_KEYSET,
    UNIT_ORDER,
    custody_label,
    export_row,
    filtered_units,
    list_partitions,
    more_rows_than,
    unit_history,
    unit_rows,
)
from inventory.services.exports import units_export_begin
from inventory.views.common import export_capped_note, with_labels

EXPORT_LIMIT = 100_000


def _filtered_units(request):
    actor = actor_for(request.user)
    filterset, qs, valid = filtered_units(
        params=request.GET, actor=actor, queryset=Unit.objects.visible_to(request.user)
    )
    if valid and "custody" in request.GET and "custody" not in filterset.filters:
        messages.info(request, "Admins see every custodian: narrow the list by custodian instead.")
    return filterset, qs, valid


@org_member_required
def unit_list(request):
    actor = actor_for(request.user)
    filterset, qs, valid = _filtered_units(request)
    if not valid:
        for error in filterset.error_messages():
            messages.error(request, error)
    page = keyset_page(
        request,
        unit_rows(qs),
        UNIT_KEYSET,
        partitions=list_partitions(filterset, holder_ids_in_scope(actor=actor)),
    )
    return render(
        request,
        "inventory/unit_list.html",
        {
            "filter": filterset,
            "units": with_labels(page.rows, actor),
            "page": page,
            "custody_tabs": custody_tabs(request.GET, filterset),
            # A list longer than one page may be longer than an export holds: say so there.
            "export_limit": f"{EXPORT_LIMIT:,}" if page.has_next or not page.is_first_page else "",
            "can_release": policies.can_review_holds(actor=actor),
            "today": timezone.localdate(),
        },
    )


@org_member_required
def unit_export(request):
    """CSV of exactly the filtered rows (streamed, so a large export does not sit in memory)."""
    actor = actor_for(request.user)
    filterset, qs, valid = _filtered_units(request)
    if not valid:
        messages.error(request, "Fix the filter before exporting.")
        return redirect(reverse("inventory:unit_list") + "?" + request.GET.urlencode())
    if more_rows_than(qs, settings.EXPORT_BACKGROUND_ROWS):
        return _export_in_background(request)
    # One row past the limit says whether the export was cut short.
    rows = unit_rows(qs).order_by(*UNIT_ORDER)[: EXPORT_LIMIT + 1]
    writer = csvsafe.streaming_writer()

    def lines():
        yield writer.writerow(EXPORT_COLUMNS)
        for count, unit in enumerate(rows.iterator(chunk_size=2000), start=1):
            if count > EXPORT_LIMIT:
                # Until large exports run in the background, say so rather than stop silently.
                yield writer.writerow([export_capped_note(EXPORT_LIMIT)])
                return
            yield writer.writerow(export_row(unit=unit, actor=actor))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="trunkpool-units-{stamp}.csv"'
    return response


def _export_in_background(request):
    """Over settings.EXPORT_BACKGROUND_ROWS rows an export is a job: GET asks, POST starts it."""
    if request.method != "POST":
        return render(
            request,
            "inventory/export_confirm.html",
            {"query": request.GET.urlencode(), "limit": settings.EXPORT_BACKGROUND_ROWS},
        )
    job = units_export_begin(actor=request.user, params=dict(request.GET.lists()))
    messages.info(request, "Your export runs in the background; it is listed under Jobs.")
    return redirect("jobs:job_detail", pk=job.pk)


@org_member_required
def unit_detail(request, pk):
    actor = actor_for(request.user)
    unit = get_object_or_404(unit_rows(Unit.objects.visible_to(request.user)), pk=pk)
    unit.custody = custody_label(unit=unit, actor=actor)
    return render(
        request,
        "inventory/unit_detail.html",
        {
            "unit": unit,
            "history": unit_history(unit=unit, viewer=request.user),
            "can_transfer": policies.can_transfer_unit(actor=actor, unit=unit),
            "can_move": policies.can_move_unit(actor=actor, unit=unit),
            "can_release": policies.can_release_hold(actor=actor, unit=unit),
            "open_mismatches": open_mismatch_count(actor=actor, unit=unit),
            "today": timezone.localdate(),
        },
    )
