"""Recall pages: the list, recording one, its page, return and withdraw, and the recall lookup with
its CSV."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.selectors import actor_for
from core import csvsafe
from core.keyset import keyset_page
from core.web import (
    NOT_SEEN,
    SEEN_FIELD,
    add_form_errors,
    decode_seen,
    flash_errors,
    org_member_required,
    scanner_csp,
    seen_for,
    selected_ids,
)
from inventory import hooks, policies
from inventory.models import Recall, Unit
from inventory.recall_forms import (
    LookupForm,
    RecallForm,
    RecallReturnForm,
    RecallWithdrawForm,
)
from inventory.selectors import recalls as recall_selectors
from inventory.selectors.recalls import (
    cases_by_unit,
    lookup_counts,
    lookup_query,
    lookup_units,
    recall_progress,
    recall_unit_rows,
    returnable_sequences,
    split_codes,
)
from inventory.selectors.units import custody_label, product_by_code
from inventory.services import recalls as recall_services
from inventory.views.common import export_capped_note, require

LOOKUP_PAGE = 50


LOOKUP_CASES = 50  # case lines the lookup page lists; its CSV export has them all


EXPORT_LIMIT = 100_000


@org_member_required
def recall_list(request):
    actor = actor_for(request.user)
    require(policies.can_look_up_recalls(actor=actor))
    rows = Recall.objects.visible_to(request.user).select_related("product")[:200]
    return render(
        request,
        "inventory/recall_list.html",
        {"recalls": rows, "can_manage": policies.can_manage_recalls(actor=actor)},
    )


@org_member_required
def recall_new(request):
    actor = actor_for(request.user)
    require(policies.can_manage_recalls(actor=actor))
    form = RecallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        product = product_by_code(organization_id=actor.organization_id, code=data["product"])
        try:
            recall = recall_services.recall_record(
                actor=request.user,
                reference=data["reference"],
                reason=data["reason"],
                recall_class=data["recall_class"],
                product=product,
                lot_numbers=split_codes(data["lot_numbers"]),
                serial_numbers=split_codes(data["serial_numbers"]),
                recall_date=data["recall_date"],
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            found = recall.recall_units.count()
            messages.success(request, f"Recorded recall {recall.reference}: {found} unit(s) found.")
            return redirect("inventory:recall_detail", pk=recall.pk)
    return render(request, "inventory/recall_form.html", {"form": form})


@org_member_required
def recall_detail(request, pk):
    actor = actor_for(request.user)
    require(policies.can_look_up_recalls(actor=actor))
    recall = get_object_or_404(
        Recall.objects.visible_to(request.user).select_related("product"), pk=pk
    )
    progress = recall_progress(recall=recall, user=request.user)
    page = keyset_page(
        request,
        recall_unit_rows(recall=recall, user=request.user),
        [("pk", "asc")],
        size=LOOKUP_PAGE,
    )
    for row in page.rows:
        row.unit.custody = custody_label(unit=row.unit, actor=actor)
    can_manage = policies.can_manage_recalls(actor=actor) and recall.is_active
    return render(
        request,
        "inventory/recall_detail.html",
        {
            "recall": recall,
            "progress": progress,
            "page": page,
            "cases_shown": recall_selectors.CASES_SHOWN,
            "can_manage": can_manage,
            # The return form only when a return would take something (the service's rule).
            "can_return": can_manage and progress.returnable > 0,
            "returnable_seen": returnable_sequences(recall=recall)
            if can_manage and progress.returnable
            else [],
            "return_form": RecallReturnForm(),
            "withdraw_form": RecallWithdrawForm(),
        },
    )


@org_member_required
@require_POST
def recall_return(request, pk):
    require(policies.can_manage_recalls(actor=actor_for(request.user)))
    recall = get_object_or_404(Recall.objects.visible_to(request.user), pk=pk)
    form = RecallReturnForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("inventory:recall_detail", pk=pk)
    # No unit field: every quarantined unit. Unit values none of which can be read: nothing
    # (the service refuses an empty selection), never "everything".
    picked = request.POST.getlist("unit")
    ids = selected_ids(picked) if picked else None
    if ids is not None:
        seen = seen_for(request.POST, ids)
    elif SEEN_FIELD in request.POST:
        seen = decode_seen(request.POST[SEEN_FIELD])
    else:
        seen = None
    if seen is None:
        messages.error(request, NOT_SEEN)
        return redirect("inventory:recall_detail", pk=pk)
    try:
        shipment = recall_services.recall_return(
            actor=request.user,
            recall=recall,
            reference=form.cleaned_data["reference"],
            returned_on=form.cleaned_data["returned_on"],
            unit_ids=ids,
            seen=seen,
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request, f"Returned {shipment.units.count()} unit(s) under {shipment.reference}."
        )
    return redirect("inventory:recall_detail", pk=pk)


@org_member_required
@require_POST
def recall_withdraw(request, pk):
    require(policies.can_manage_recalls(actor=actor_for(request.user)))
    recall = get_object_or_404(Recall.objects.visible_to(request.user), pk=pk)
    form = RecallWithdrawForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("inventory:recall_detail", pk=pk)
    try:
        recall_services.recall_withdraw(
            actor=request.user, recall=recall, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Withdrew recall {recall.reference}; units are back.")
    return redirect("inventory:recall_detail", pk=pk)


def _lookup(request):
    """(form, lookup or None, matching units) for the lookup page and its export."""
    actor = actor_for(request.user)
    require(policies.can_look_up_recalls(actor=actor))
    form = LookupForm(request.GET or None)
    if not request.GET or not form.is_valid():
        return form, None, Unit.objects.none()
    try:
        lookup = lookup_query(organization_id=actor.organization_id, **form.cleaned_data)
    except ValidationError as exc:
        add_form_errors(form, exc)
        return form, None, Unit.objects.none()
    return form, lookup, lookup_units(user=request.user, lookup=lookup)


@org_member_required
@scanner_csp
def recall_lookup(request):
    """Where is every unit of lot X, and which cases used it?"""
    actor = actor_for(request.user)
    form, lookup, units = _lookup(request)
    context = {"form": form, "lookup": lookup}
    if lookup is not None:
        page = keyset_page(request, units, [("pk", "asc")], size=LOOKUP_PAGE)
        # The first LOOKUP_CASES case lines (one past says more exist); the export has them all.
        cases = hooks.cases_using_units(
            user=request.user, unit_ids=units.values_list("pk", flat=True), limit=LOOKUP_CASES + 1
        )
        for unit in page.rows:
            unit.custody = custody_label(unit=unit, actor=actor)
        context.update(
            counts=lookup_counts(units=units),
            page=page,
            cases=cases[:LOOKUP_CASES],
            more_cases=len(cases) > LOOKUP_CASES,
            export_query=request.GET.urlencode(),
        )
    return render(request, "inventory/recall_lookup.html", context)


@org_member_required
def recall_lookup_export(request):
    """One table: a row per matching unit and case that used it (the unit's columns repeated),
    or one row with empty case columns for a unit no case the viewer may see used. Units are
    named as on their label (catalog number, lot, serial), never by an internal id. Through
    the formula-safe writer."""
    form, lookup, units = _lookup(request)
    if lookup is None:
        messages.error(request, "Look something up before exporting.")
        return redirect(reverse("inventory:recall_lookup") + "?" + request.GET.urlencode())
    # One row past the limit says whether the export was cut short.
    rows = units.order_by("pk")[: EXPORT_LIMIT + 1]
    cases = cases_by_unit(user=request.user, units=units)
    writer = csvsafe.streaming_writer()
    no_case = ["", "", "", "", "", ""]

    def lines():
        yield writer.writerow(
            [
                "catalog_number",
                "lot_number",
                "serial_number",
                "expiration_date",
                "state",
                "holder",
                "location",
                "facility",
                "event",
                "event_status",
                "event_date",
                "event_facility",
                "surgeon",
                "patient_reference",
            ]
        )
        for count, unit in enumerate(rows.iterator(chunk_size=2000), start=1):
            if count > EXPORT_LIMIT:
                yield writer.writerow([export_capped_note(EXPORT_LIMIT)])
                break
            columns = [
                unit.product.catalog_number,
                unit.lot_number,
                unit.serial_number,
                unit.expiration_date.isoformat() if unit.expiration_date else "",
                unit.state,
                unit.custodian.name if unit.custodian else "Organization",
                unit.location.name if unit.location else "",
                unit.facility.name if unit.facility else "",
            ]
            for case in cases.get(unit.pk) or [None]:
                yield writer.writerow(
                    columns
                    + (
                        no_case
                        if case is None
                        else [
                            case.name,
                            case.status,
                            timezone.localtime(case.date).strftime("%Y-%m-%d %H:%M"),
                            case.facility,
                            case.surgeon,
                            case.patient_ref,
                        ]
                    )
                )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="recall-lookup-{stamp}.csv"'
    return response
