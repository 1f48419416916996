"""Rows of the event list and of Mark Used's "Used on this event", written in Python, escaped
(see inventory/templatetags/list_rows.py for why). They read only what the view loaded: the
events with their people and places (`Event.objects.visible_to` + `with_unit_counts`), and the
event's current lines with their units and the custody labels the view put on them."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from events.models import Event, EventLine
from inventory.templatetags.list_rows import custody_span, url_without_id

register = template.Library()


def _event_row(event: Event, *, detail_url: str) -> str:
    when = timezone.localtime(event.scheduled_at).strftime("%Y-%m-%d %H:%M")
    return (
        f'<tr data-event="{event.pk}"><td class="text-nowrap" data-label="When">{when}</td>'
        f'<td class="card-lead"><a href="{detail_url}{event.pk}/">{escape(event.name)}</a></td>'
        f'<td class="d-none d-md-table-cell" data-label="Type">{escape(event.get_type_display())}</td>'
        f'<td data-label="Representative">{escape(event.representative)}</td>'
        f'<td class="d-none d-md-table-cell" data-label="Facility">{escape(event.facility)}</td>'
        f'<td data-label="Units">{event.unit_count}</td>'
        f'<td data-label="Status"><span class="badge event-{escape(event.status)}">'
        f"{escape(event.get_status_display())}</span></td></tr>\n"
    )


@register.simple_tag
def event_rows(events: Iterable[Event]) -> SafeString:
    """The event list's rows; each event carries `unit_count` (`selectors.with_unit_counts`)."""
    detail_url = url_without_id("events:event_detail")
    return mark_safe("".join(_event_row(e, detail_url=detail_url) for e in events))


def _used_row(line: EventLine, *, can_use: bool) -> str:
    unit = line.unit
    box = (
        f'<input class="form-check-input row-pick" type="checkbox" name="unit" value="{line.unit_id}" '
        f'aria-label="Unmark {escape(unit.label)}">'
        if can_use
        else ""
    )
    billing = (
        "Billable"
        if line.billable
        else '<span class="text-muted">Unbillable (facility stock)</span>'
    )
    return (
        f'<tr data-serial="{escape(unit.serial_number)}"><td>{box}</td>'
        f"<td>{escape(unit.product.catalog_number)} "
        f'<span class="font-monospace">{escape(unit.serial_number or unit.lot_number)}</span></td>'
        f"<td>{custody_span(unit.custody)}</td><td>{billing}</td></tr>\n"
    )


@register.simple_tag
def used_rows(lines: Iterable[EventLine], *, can_use: bool) -> SafeString:
    """Mark Used's "Used on this event" rows, with an Unmark box each when `can_use`."""
    return mark_safe("".join(_used_row(line, can_use=can_use) for line in lines))
