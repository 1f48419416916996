"""Receiving pages: by form, by scanned UDI and by CSV import.

A scan whose product is not in the catalog comes back with the UDI form saying so; an admin
also gets two small forms right there: give the label's GTIN or HIBC identity to an existing
product, or create a product with it. Both carry the scan (with its custodian and location) in
hidden fields, and receive the unit from it once the product knows its identity.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import actor_for
from core.web import add_form_errors, scanner_csp
from inventory import policies
from inventory.forms import (
    AttachProductForm,
    CsvImportForm,
    ReceiveForm,
    ScannedProductForm,
    UdiReceiveForm,
)
from inventory.models import Product, UnitState
from inventory.selectors.catalog import GTIN, HIBC
from inventory.selectors.units import receive_custodians
from inventory.services.imports import NO_DEFAULT, units_import_begin
from inventory.services.receiving import (
    ReceiveLine,
    UnknownProduct,
    label_identity,
    receivable_label,
    unit_receive_udi,
    unit_receive_udi_attaching,
    unit_receive_udi_new_product,
    units_receive,
)
from inventory.udi import Label
from inventory.views.common import holder_from_field, receiver_required, require
from jobs.models import Job

ATTACH = "attach"
NEW_PRODUCT = "new"


@dataclass
class _UnknownScan:
    """What the page offers for a scan whose product is not in the catalog."""

    label: Label
    identity: str  # "GTIN …" or "HIBC labeler … product …"
    attach_form: AttachProductForm | None = None  # admins only, as is the next one
    new_product_form: ScannedProductForm | None = None


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
        self.unknown: _UnknownScan | None = None

    def offer_catalog(self, request, label: Label, *, bound: str | None = None) -> _UnknownScan:
        """Say the scan's product is not in the catalog; an admin gets the forms to give its
        identity to a product (`bound`: the one posted, ATTACH or NEW_PRODUCT)."""
        actor = actor_for(request.user)
        self.unknown = _UnknownScan(label=label, identity=label_identity(label))
        if not policies.can_manage_catalog(actor=actor):
            return self.unknown
        data = request.POST if request.method == "POST" else None
        self.unknown.attach_form = AttachProductForm(
            data if bound == ATTACH else None,
            prefix=ATTACH,
            organization_id=actor.organization_id,
            identity=GTIN if label.gtin else HIBC,
        )
        # Most lot-tracked labels carry no serial; a label with one is usually serial-tracked.
        tracking = Product.Tracking.SERIAL if label.serial else Product.Tracking.LOT
        self.unknown.new_product_form = ScannedProductForm(
            data if bound == NEW_PRODUCT else None,
            prefix=NEW_PRODUCT,
            initial={"tracking": tracking},
        )
        return self.unknown

    def _focus_catalog_forms(self) -> None:
        """With the catalog forms offered, the next thing to type is the product, or the first
        field to correct in the form just posted, rather than the scan."""
        unknown = self.unknown
        if unknown is None or unknown.attach_form is None:
            return
        form = unknown.new_product_form
        if not form.is_bound:
            form = unknown.attach_form
        field = next((name for name in form.fields if name in form.errors), next(iter(form.fields)))
        self.udi_form.fields["udi"].widget.attrs.pop("autofocus", None)
        form.fields[field].widget.attrs["autofocus"] = True

    def render(self, request, *, active_tab=None, csv_problems=(), status=200):
        self._focus_catalog_forms()
        context = {
            "form": self.form,
            "udi_form": self.udi_form,
            "csv_form": self.csv_form,
            "csv_problems": csv_problems,
            "active_tab": active_tab,
            "unknown": self.unknown,
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


def _scan_of(udi_form) -> dict:
    """The scan and where it goes, from the UDI form's cleaned data, as the services take them."""
    data = udi_form.cleaned_data
    return {
        "raw": data["udi"],
        "custodian": holder_from_field(data["custodian"]),
        "location": data["location"],
    }


def _received(request, unit):
    messages.success(request, f"Received {unit.product.catalog_number} {unit.label}.")
    _warn_quarantined(request, [unit])
    return redirect("inventory:receive")


@receiver_required
@require_POST
@scanner_csp
def receive_udi(request):
    forms = _ReceiveForms(request, bound="udi")
    if forms.udi_form.is_valid():
        try:
            unit = unit_receive_udi(actor=request.user, **_scan_of(forms.udi_form))
        except UnknownProduct as exc:
            add_form_errors(forms.udi_form, exc)
            if forms.offer_catalog(request, exc.label).attach_form is None:
                forms.udi_form.add_error("udi", "Ask an admin to add it to the catalog.")
        except ValidationError as exc:
            add_form_errors(forms.udi_form, exc)
        else:
            return _received(request, unit)
    return forms.render(request, active_tab="scan")


@receiver_required
@require_POST
@scanner_csp
def receive_udi_attach(request):
    """An admin gives the scanned label's GTIN or HIBC identity to an existing product, then
    the unit is received from the same scan."""
    return _add_to_catalog_and_receive(request, ATTACH)


@receiver_required
@require_POST
@scanner_csp
def receive_udi_new_product(request):
    """An admin adds a product with the scanned label's GTIN or HIBC identity, then the unit
    is received from the same scan."""
    return _add_to_catalog_and_receive(request, NEW_PRODUCT)


def _add_to_catalog_and_receive(request, which: str):
    """The scan comes back in the UDI form's hidden copies (prefix "udi"), `which` form holds
    the admin's answer. Nothing changes unless the unit is received."""
    require(policies.can_manage_catalog(actor=actor_for(request.user)))
    forms = _ReceiveForms(request, bound="udi")
    if not forms.udi_form.is_valid():
        return forms.render(request, active_tab="scan")
    try:
        label = receivable_label(forms.udi_form.cleaned_data["udi"])
    except ValidationError as exc:
        add_form_errors(forms.udi_form, exc)
        return forms.render(request, active_tab="scan")
    unknown = forms.offer_catalog(request, label, bound=which)
    form = unknown.attach_form if which == ATTACH else unknown.new_product_form
    if form.is_valid():
        try:
            if which == ATTACH:
                unit = unit_receive_udi_attaching(
                    actor=request.user,
                    product=form.cleaned_data["product"],
                    **_scan_of(forms.udi_form),
                )
            else:
                unit = unit_receive_udi_new_product(
                    actor=request.user, **form.cleaned_data, **_scan_of(forms.udi_form)
                )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            product = unit.product
            if which == ATTACH:
                messages.success(request, f"{product.catalog_number} now has {unknown.identity}.")
            else:
                messages.success(request, f"Added {product} to the catalog.")
            return _received(request, unit)
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
