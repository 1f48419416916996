"""The camera scanner outside Mark Used: the global Scan page, and the lookup every scan box's
scanner asks about each code it reads (static/js/scanner.js). The lookup answers JSON and
changes nothing but the record of a label that disagreed with its unit."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.selectors import actor_for
from core.web import org_member_required, scanner_csp
from inventory import policies
from inventory.forms import ScanCodeForm
from inventory.models import Product, Unit, UnitState
from inventory.selectors.scans import NO_UNIT, looks_like_label, units_from_scan, without_line
from inventory.selectors.units import custody_label
from inventory.services.scans import record_label_mismatches
from inventory.udi import Label, UdiError, parse_label

CONTEXTS = ("find", "transfer", "receive", "lookup")


@org_member_required
@scanner_csp
def scan_page(request):
    """Scan anything: each label read is listed with its unit and its lot in the recall lookup.
    Without a camera, a typed or pasted code (?code=) opens its unit, or says what it could not
    find."""
    context = {}
    if "code" in request.GET:
        form = ScanCodeForm(request.GET)
        if not form.is_valid():
            context["problem"] = " ".join(form.errors["code"])
        else:
            answer = _answer(request, form.cleaned_data["code"], "find")
            if answer["ok"]:
                return redirect(answer["unit"]["url"])
            context["problem"] = answer["message"]
        context["code"] = request.GET.get("code", "")
    return render(request, "inventory/scan.html", context)


@org_member_required
@require_GET
def scan_lookup(request):
    """?code=<what the camera read>&context=find|transfer|receive|lookup: what the code names
    for this person and this box, or why it cannot be used there (JSON)."""
    context = request.GET.get("context", "find")
    if context not in CONTEXTS:
        return JsonResponse({"ok": False, "message": "Unknown scan box."}, status=400)
    if context == "receive" and not policies.can_receive(actor=actor_for(request.user)):
        return JsonResponse(
            {"ok": False, "message": "Only admins and distributors receive stock."}, status=403
        )
    form = ScanCodeForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"code": "", "ok": False, "message": " ".join(form.errors["code"])})
    return JsonResponse(_answer(request, form.cleaned_data["code"], context))


def _answer(request, code: str, context: str) -> dict:
    if context == "receive":
        return {"code": code, **_receive_answer(request, code)}
    if context == "lookup":
        return {"code": code, **_lookup_answer(code)}
    qs = Unit.objects.visible_to(request.user)
    if context == "transfer":
        qs = qs.filter(state=UnitState.AVAILABLE)
    scanned = units_from_scan(qs=qs, text=code, prefer_holder_id=request.user.pk)
    if scanned.mismatches:
        record_label_mismatches(
            actor=request.user,
            mismatches=scanned.mismatches,
            where="transfer" if context == "transfer" else "scan",
        )
    if scanned.problems:
        message = without_line(scanned.problems[0], code)
        if context == "find" and message == NO_UNIT:
            message = _not_found(request, code) or message
        return {"code": code, "ok": False, "message": message}
    (unit,) = scanned.found
    answer = {
        "code": code,
        "ok": True,
        "message": "",
        "notes": [without_line(note, code) for note in scanned.notes],
        "unit": _unit_json(request, unit),
    }
    if context == "find" and policies.can_look_up_recalls(actor=actor_for(request.user)):
        # A label shows its unit's whole lot, the unit marked; a typed serial, the unit's lot.
        lookup = code.strip() if looks_like_label(code.strip()) else unit.lot_number or code
        answer["lot_url"] = f"{reverse('inventory:recall_lookup')}?{urlencode({'code': lookup})}"
    return answer


def _unit_json(request, unit: Unit) -> dict:
    custody = custody_label(unit=unit, actor=actor_for(request.user))
    expiry = unit.expiration_date.isoformat() if unit.expiration_date else "no expiry"
    return {
        "id": unit.pk,
        "title": f"{unit.product.catalog_number} {unit.product.description}",
        "detail": f"{unit.label} · expires {expiry} · {unit.get_state_display()}",
        "custody": custody.text,
        "custody_css": custody.css,
        "url": reverse("inventory:unit_detail", args=[unit.pk]),
    }


def _product_of(organization_id: int, label: Label) -> Product | None:
    products = Product.objects.filter(organization_id=organization_id)
    if label.gtin:
        return products.filter(gtin=label.gtin).first()
    return products.filter(hibc_lic=label.hibc.lic, hibc_product=label.hibc.product).first()


def _identity(label: Label) -> str:
    return f"GTIN {label.gtin}" if label.gtin else f"HIBC {label.hibc.lic}{label.hibc.product}"


def _not_found(request, code: str) -> str:
    """For the Scan page: what a readable label names that this person has no unit of."""
    if not looks_like_label(code.strip()):
        return f"No unit you can see has serial or lot {code.strip()}."
    try:
        label = parse_label(code)
    except UdiError:
        return ""
    product = _product_of(request.user.organization_id, label)
    if product is None:
        return f"No product in the catalog has {_identity(label)}."
    named = f"serial {label.serial}" if label.serial else f"lot {label.lot}"
    return f"{product.catalog_number}: no unit you can see has {named}."


def _lookup_answer(code: str) -> dict:
    """The recall lookup takes any readable label or typed lot or serial: it shows the lot, its
    units, holders and cases itself (it may find units the scanner's person holds none of)."""
    if not looks_like_label(code.strip()):
        return {
            "ok": True,
            "message": "",
            "unit": {"title": code.strip(), "detail": "lot or serial"},
        }
    try:
        label = parse_label(code)
    except UdiError as exc:
        return {"ok": False, "message": str(exc)}
    fields = [
        f"lot {label.lot}" if label.lot else "",
        f"serial {label.serial}" if label.serial else "",
    ]
    return {
        "ok": True,
        "message": "",
        "unit": {"title": _identity(label), "detail": " · ".join(f for f in fields if f)},
    }


def _receive_answer(request, code: str) -> dict:
    """Receiving reads one new unit per label: its product must be in the catalog and its
    serial new. The receive form decides; this is what the scanner lists."""
    try:
        label = parse_label(code)
    except UdiError as exc:
        return {"ok": False, "message": str(exc)}
    if label.hibc and not label.hibc.is_unit_of_use:
        return {
            "ok": False,
            "message": f"That is the barcode of a package (HIBC packaging level "
            f"{label.hibc.unit_of_measure}), not of one unit: scan the unit's own label.",
        }
    product = _product_of(request.user.organization_id, label)
    if product is None:
        missing = f"No product in the catalog has {_identity(label)}."
        if not policies.can_manage_catalog(actor=actor_for(request.user)):
            return {"ok": False, "message": f"{missing} Ask an admin to add it to the catalog."}
        # An admin's tap opens the form that adds the product from this scan, then receives.
        return {
            "ok": True,
            "message": f"{missing} Receive it to add the product to the catalog first.",
            "unit": {"title": _identity(label), "detail": "not in the catalog"},
        }
    fields = [
        f"lot {label.lot}" if label.lot else "",
        f"serial {label.serial}" if label.serial else "",
    ]
    if label.expiry:
        fields.append(f"expires {label.expiry.isoformat()}")
    if label.serial and (
        existing := Unit.objects.filter(product=product, serial_number__iexact=label.serial).first()
    ):
        return {
            "ok": False,
            "message": f"{product.catalog_number} serial {existing.serial_number} is already "
            "received.",
        }
    return {
        "ok": True,
        "message": "",
        "unit": {
            "title": f"{product.catalog_number} {product.description}",
            "detail": " · ".join(f for f in fields if f) or "no lot or serial",
        },
    }
