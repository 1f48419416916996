"""Receiving pages: by form, by scanned UDI and by CSV import."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import actor_for
from core.web import add_form_errors, scanner_csp
from inventory.forms import (
    CsvImportForm,
    ReceiveForm,
    UdiReceiveForm,
)
from inventory.models import UnitState
from inventory.selectors.units import receive_custodians
from inventory.services.imports import NO_DEFAULT, units_import_begin
from inventory.services.receiving import ReceiveLine, unit_receive_udi, units_receive
from inventory.views.common import holder_from_field, receiver_required
from jobs.models import Job


class _ReceiveForms:
    """The receiving page's three forms (form, UDI scan, CSV), bound only where posted."""

    def __init__(self, request, bound: str | None = None):
        actor = actor_for(request.user)
        common = {"user": request.user, "custodians": receive_custodians(actor=actor)}
        data = request.POST if request.method == "POST" else None
        self.form = ReceiveForm(
            data if bound == "form" else None, organization_id=actor.organization_id, **common
        )
        # Prefixes keep the three forms' element ids apart (a label must point at its field).
        self.udi_form = UdiReceiveForm(
            data if bound == "udi" else None,
            prefix="udi",
            organization_id=actor.organization_id,
            **common,
        )
        self.csv_form = CsvImportForm(
            data if bound == "csv" else None,
            request.FILES if bound == "csv" else None,
            prefix="csv",
            **common,
        )

    def render(self, request, *, active_tab=None, csv_problems=(), status=200):
        context = {
            "form": self.form,
            "udi_form": self.udi_form,
            "csv_form": self.csv_form,
            "csv_problems": csv_problems,
            "active_tab": active_tab,
        }
        return render(request, "inventory/receive_form.html", context, status=status)


@receiver_required
@scanner_csp
def receive(request):
    forms = _ReceiveForms(request, bound="form")
    form = forms.form
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        line = ReceiveLine(
            product=data["product"],
            lot_number=data["lot_number"].strip(),
            serial_numbers=form.serials(),
            quantity=data["quantity"],
            expiration_date=data["expiration_date"],
            location=data["location"],
        )
        try:
            units = units_receive(
                actor=request.user,
                lines=[line],
                custodian=holder_from_field(data["custodian"]),
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Received {len(units)} unit(s) of {data['product']}.")
            _warn_quarantined(request, units)
            return redirect("inventory:receive")
    return forms.render(request)


def _warn_quarantined(request, units) -> None:
    """Say so when receiving quarantined units because an active recall names their lot."""
    n = sum(1 for u in units if u.state == UnitState.QUARANTINED)
    if n:
        messages.warning(
            request,
            f"{n} received unit(s) belong to a lot or serial under an active recall: they are "
            "quarantined (see Recalls).",
        )


@receiver_required
@require_POST
@scanner_csp
def receive_udi(request):
    forms = _ReceiveForms(request, bound="udi")
    if forms.udi_form.is_valid():
        data = forms.udi_form.cleaned_data
        try:
            unit = unit_receive_udi(
                actor=request.user,
                raw=data["udi"],
                custodian=holder_from_field(data["custodian"]),
                location=data["location"],
            )
        except ValidationError as exc:
            add_form_errors(forms.udi_form, exc)
        else:
            messages.success(request, f"Received {unit.product.catalog_number} {unit.label}.")
            _warn_quarantined(request, [unit])
            return redirect("inventory:receive")
    return forms.render(request, active_tab="scan")


@receiver_required
@require_POST
@scanner_csp
def receive_csv(request):
    forms = _ReceiveForms(request, bound="csv")
    problems = []
    if forms.csv_form.is_valid():
        data = forms.csv_form.cleaned_data
        try:
            outcome = units_import_begin(
                actor=request.user,
                data=data["file"].read(settings.IMPORT_BACKGROUND_MAX_BYTES + 1),
                # Left blank: no default, so every row must name its custodian.
                default_custodian=(
                    NO_DEFAULT
                    if data["custodian"] is None
                    else holder_from_field(data["custodian"])
                ),
                filename=data["file"].name or "",
            )
        except ValidationError as exc:
            problems = exc.messages
        else:
            if isinstance(outcome, Job):
                messages.info(request, "That file is large: it is imported in the background.")
                return redirect("jobs:job_detail", pk=outcome.pk)
            messages.success(request, f"Imported {len(outcome)} unit(s).")
            _warn_quarantined(request, outcome)
            return redirect("inventory:receive")
    return forms.render(request, active_tab="csv", csv_problems=problems, status=400)
