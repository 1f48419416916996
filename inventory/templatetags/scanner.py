"""`{% scanner %}`: the camera Scan button and its panel beside a scan box (static/js/scanner.js).

mode: "mark" (Mark Used: each found unit gets a one-tap Mark used), "add" (append each tapped
code to the `target` field, then Done submits `submit`), "fill" (a tapped code fills `target`
and submits `submit` at once) or "open" (the Scan page: links to the unit and its lot).
`check_url` answers each code read; `mark_url` marks one (mode "mark"); `action` names the
tap of mode "fill".
"""

from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("includes/_scanner.html")
def scanner(
    *,
    mode,
    check_url,
    mark_url="",
    target="",
    submit="",
    label="Scan with camera",
    action="Use this",
    name="scanner",
):
    return {
        "installed": settings.SCANNER_INSTALLED,
        "mode": mode,
        "check_url": check_url,
        "mark_url": mark_url,
        "target": target,
        "submit": submit,
        "label": label,
        "action": action,
        "id": name,
    }
