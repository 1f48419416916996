"""Rows of the lists people page through all day, written in Python, escaped.

The template engine costs a few microseconds per variable, tag and `{% url %}`; a 50-row
table has one to two thousand of them, which was a third of these pages' time at full scale
(`manage.py bench_render`, and py-spy on gunicorn under the locust mix). These tags write
the same markup with `escape` and f-strings, as `events/templatetags/mentions.py` does. They
read only what the view loaded (`selectors.units.unit_rows`,
`selectors.transfers.with_row_details`) and the labels it put on each row: no database work here.

The table around the rows, its empty message, the filters and the pager stay in the
templates::

    {% load list_rows %}
    {% if units %}{% inventory_rows units today=today can_release=can_release %}
    {% else %}<tr><td colspan="7">No units match.</td></tr>{% endif %}
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.web import SEEN_FIELD, encode_seen
from inventory.models import Transfer, Unit, UnitState
from inventory.selectors.units import CustodyLabel

register = template.Library()


@register.simple_tag
def seen_field(units) -> SafeString:
    """The hidden `seen` field of a form that acts on units: each unit's ledger sequence as the
    page drew it (core.web.encode_seen). `units`: one Unit, Units, or (id, sequence) pairs."""
    if isinstance(units, Unit):
        units = [units]
    pairs = (u if isinstance(u, tuple) else (u.pk, u.ledger_seq) for u in units)
    return mark_safe(
        f'<input type="hidden" name="{SEEN_FIELD}" value="{escape(encode_seen(pairs))}">'
    )


def url_without_id(name: str) -> str:
    """The URL of a detail page `name` up to its id ("/inventory/units/"), escaped: a list
    reverses it once and appends "<pk>/" per row, instead of one reverse() per row."""
    return escape(reverse(name, args=[0])[:-2])


@register.simple_tag
def custody_label(label: CustodyLabel) -> SafeString:
    """The custody label: red for a distributor's stock, black for one's own, named. The one
    place its markup is written: rows use it, pages use it as {% custody_label unit.custody %}."""
    return mark_safe(custody_span(label))


def custody_span(label: CustodyLabel) -> str:
    return (
        f'<span class="custody-label {escape(label.css)}" data-custody="{escape(label.kind)}">'
        f"{escape(label.text)}</span>"
    )


def _checkbox(unit: Unit, *, disabled: bool) -> str:
    return (
        f'<input class="form-check-input row-pick" type="checkbox" name="unit" value="{unit.pk}" '
        f'aria-label="Select {escape(unit.label)}"{" disabled" if disabled else ""}>'
    )


def _where(unit: Unit) -> str:
    """Facility stock names its facility; other stock its location, if any."""
    if unit.state == UnitState.FACILITY_STOCK:
        return f"At {escape(unit.facility)}" if unit.facility_id else "At"
    return escape(unit.location) if unit.location_id else ""


def _inventory_row(unit: Unit, *, unit_url: str, today: datetime.date, can_release: bool) -> str:
    # A unit on hold can be ticked by someone who may release it, for "Release selected".
    disabled = not unit.can_transfer and (unit.state != UnitState.HOLD or not can_release)
    serial = unit.serial_number
    cells = [f'<span class="font-monospace">{escape(serial)}</span>' if serial else ""]
    if unit.lot_number:
        cells.append(f'<div class="small text-muted">Lot {escape(unit.lot_number)}</div>')
    expiry = unit.expiration_date
    if expiry is None:
        expiry_html = '<span class="text-muted">—</span>'
    elif expiry < today:
        expiry_html = (
            f'<span class="text-danger fw-semibold">{expiry.isoformat()}</span> '
            '<span class="badge text-bg-danger">Expired</span>'
        )
    else:
        expiry_html = f"<span>{expiry.isoformat()}</span>"
    product = unit.product
    return (
        f'<tr data-serial="{escape(serial)}">'
        f"<td>{_checkbox(unit, disabled=disabled)}</td>"
        f'<td><a href="{unit_url}{unit.pk}/">{escape(product.catalog_number)}</a>'
        f'<div class="small text-muted">{escape(product.description)}</div></td>'
        f"<td>{''.join(cells)}</td>"
        f"<td>{expiry_html}</td>"
        f"<td>{custody_span(unit.custody)}</td>"
        f'<td class="d-none d-md-table-cell">{_where(unit)}</td>'
        f'<td><span class="badge state-{escape(unit.state)}">'
        f"{escape(unit.get_state_display())}</span></td></tr>\n"
    )


@register.simple_tag
def inventory_rows(units: Iterable[Unit], *, today: datetime.date, can_release: bool) -> SafeString:
    """/inventory/'s rows. Each unit carries `custody` (a CustodyLabel) and `can_transfer`."""
    unit_url = url_without_id("inventory:unit_detail")
    return mark_safe(
        "".join(
            _inventory_row(u, unit_url=unit_url, today=today, can_release=can_release)
            for u in units
        )
    )


def _usable_row(unit: Unit, *, can_use: bool) -> str:
    expiry = unit.expiration_date
    if expiry is None:
        expiry_html = "—"
    else:
        expiry_html = expiry.isoformat()
        if unit.expired:
            expiry_html += ' <span class="badge text-bg-danger">Expired</span>'
        elif unit.expiry_warning:
            expiry_html += (
                f' <span class="badge text-bg-warning" title="{escape(unit.expiry_warning)}">'
                "Expires within 30 days of the event</span>"
            )
    if unit.state == UnitState.FACILITY_STOCK:
        source = (
            '<span class="badge state-facility_stock">Facility stock</span> '
            f'<span class="small">at {escape(unit.facility) if unit.facility_id else ""}</span>'
        )
    else:
        location = escape(unit.location) if unit.location_id else ""
        source = f'<span class="small text-muted">{location}</span>'
    product = unit.product
    serial = unit.serial_number
    return (
        f'<tr data-serial="{escape(serial)}">'
        f"<td>{_checkbox(unit, disabled=unit.expired or not can_use)}</td>"
        f"<td>{escape(product.catalog_number)}"
        f'<div class="small text-muted">{escape(product.description)}</div></td>'
        f'<td class="font-monospace">{escape(serial or unit.lot_number)}</td>'
        f"<td>{expiry_html}</td>"
        f"<td>{custody_span(unit.custody)}</td>"
        f"<td>{source}</td></tr>\n"
    )


@register.simple_tag
def usable_rows(units: Iterable[Unit], *, can_use: bool) -> SafeString:
    """Mark Used's candidate rows. Each unit carries `custody`, `expired` and
    `expiry_warning` (judged against the event's date by the view)."""
    return mark_safe("".join(_usable_row(u, can_use=can_use) for u in units))


def _transfer_row(transfer: Transfer, *, detail_url: str) -> str:
    on_behalf = (
        f' <span class="text-muted">for {escape(transfer.on_behalf_of)}</span>'
        if transfer.on_behalf_of_id
        else ""
    )
    sender = escape(transfer.sender) if transfer.sender_id else "Organization"
    recipient = escape(transfer.recipient) if transfer.recipient_id else "Organization"
    return (
        f'<tr><td><a href="{detail_url}{transfer.pk}/">#{transfer.pk}</a></td>'
        f"<td>{sender}</td><td>{recipient}</td><td>{transfer.unit_count}</td>"
        f'<td class="d-none d-md-table-cell">{escape(transfer.started_by)}{on_behalf}</td>'
        f"<td>{escape(transfer.get_status_display())}</td></tr>\n"
    )


@register.simple_tag
def transfer_rows(transfers: Iterable[Transfer]) -> SafeString:
    """A transfer table's rows. Each transfer carries its people and `unit_count`
    (`selectors.transfers.with_row_details`)."""
    detail_url = url_without_id("inventory:transfer_detail")
    return mark_safe("".join(_transfer_row(t, detail_url=detail_url) for t in transfers))


@register.simple_tag
def facility_stock_rows(rows: Iterable[dict]) -> SafeString:
    """The dashboard's facility stock: one linked row per facility with its unit count
    (`events.selectors.facility_stock_counts`). An admin's runs to every hospital of the
    organization (200 at full scale), 5 ms of the dashboard through the template engine."""
    units_url = escape(reverse("inventory:unit_list"))
    return mark_safe(
        "".join(
            '<li class="list-group-item d-flex justify-content-between">'
            f'<a href="{units_url}?state=facility_stock&amp;facility={int(row["facility_id"])}">'
            f"{escape(row['facility__name'])}</a>"
            f'<span class="badge text-bg-info">{int(row["units"])}</span></li>\n'
            for row in rows
        )
    )
