"""The camera scanner on Mark Used: each read code is checked at once (found, or why it cannot be
used), and a found unit is marked used with one tap, never automatically: a camera over an open
trunk reads the neighbouring boxes too. Both answer JSON to static/js/scanner.js."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import actor_for
from core.web import org_member_required
from events import policies, selectors
from events.services.usage import event_mark_used
from events.views.events import get_event
from inventory.forms import ScanCodeForm
from inventory.models import Unit
from inventory.selectors.recalls import active_recalls_for
from inventory.selectors.scans import units_from_scan, without_line
from inventory.selectors.units import custody_label
from inventory.services.scans import record_label_mismatches


@dataclass
class _Read:
    code: str
    unit: Unit | None = None
    refusal: str = ""
    notes: list[str] = field(default_factory=list)
    identified: str = ""


def _read(request, event) -> _Read:
    """The one code sent (a form error is a refusal), resolved among the units the event's
    representative may use: the unit, or why it cannot be marked used."""
    form = ScanCodeForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return _Read("", refusal=" ".join(form.errors["code"]))
    code = form.cleaned_data["code"]
    rep_actor = actor_for(event.representative)
    scanned = units_from_scan(
        qs=selectors.usable_units(event=event, rep_actor=rep_actor, scanning=True),
        text=code,
        prefer_holder_id=event.representative_id,
        units_of_use_only=True,
    )
    if scanned.mismatches:
        record_label_mismatches(
            actor=request.user, mismatches=scanned.mismatches, where="mark_used", event_id=event.pk
        )
    if scanned.problems:
        return _Read(code, refusal=without_line(scanned.problems[0], code))
    (unit,) = scanned.found
    recall = active_recalls_for(unit_ids=[unit.pk]).get(unit.pk)
    problem = policies.unit_use_problem(rep_actor=rep_actor, event=event, unit=unit, recall=recall)
    return _Read(
        code,
        unit,
        problem or "",
        [without_line(note, code) for note in scanned.notes],
        scanned.identified[unit.pk],
    )


def _unit_json(unit, event, viewer) -> dict:
    custody = custody_label(unit=unit, actor=actor_for(event.representative), viewer_id=viewer.pk)
    expiry = unit.expiration_date.isoformat() if unit.expiration_date else "no expiry"
    return {
        "id": unit.pk,
        "title": f"{unit.product.catalog_number} {unit.product.description}",
        "detail": f"{unit.label} · expires {expiry}",
        "custody": custody.text,
        "custody_css": custody.css,
    }


@org_member_required
@require_GET
def mark_used_scan_check(request, pk):
    """What a scanned code names on this event: the unit, or why it cannot be marked."""
    event = get_event(request, pk)
    read = _read(request, event)
    answer = {"code": read.code, "ok": not read.refusal, "message": read.refusal}
    answer["notes"] = read.notes
    if read.unit is not None:
        answer["unit"] = _unit_json(read.unit, event, request.user)
    answer["can_mark"] = not read.refusal and policies.can_mark_used(
        actor=actor_for(request.user), event=event
    )
    return JsonResponse(answer)


@org_member_required
@require_POST
def mark_used_scan_mark(request, pk):
    """Mark the unit a scanned code names used on this event (the tap on a listed result). The
    code is read again, so the record is checked as it is now; the service decides the rest."""
    event = get_event(request, pk)
    read = _read(request, event)
    if read.refusal:
        return JsonResponse({"code": read.code, "ok": False, "message": read.refusal}, status=422)
    tapped = request.POST.get("unit", "")
    if tapped and tapped != str(read.unit.pk):
        # A lot-only code may name another unit by now (the first one used elsewhere).
        return JsonResponse(
            {
                "code": read.code,
                "ok": False,
                "message": f"That code now names {read.unit.label}, not the unit listed: "
                "nothing was marked. Scan it again.",
            },
            status=422,
        )
    try:
        (line,) = event_mark_used(
            actor=request.user,
            event=event,
            unit_ids=[read.unit.pk],
            identified_by={read.unit.pk: read.identified},
        )
    except ValidationError as exc:
        return JsonResponse(
            {"code": read.code, "ok": False, "message": " ".join(exc.messages)}, status=422
        )
    answer = {
        "code": read.code,
        "ok": True,
        "message": f"{read.unit.label} marked used on {event.name}.",
        "unit": _unit_json(read.unit, event, request.user),
    }
    if warning := policies.unit_use_warning(event=event, unit=line.unit):
        answer["warning"] = warning
    return JsonResponse(answer)
