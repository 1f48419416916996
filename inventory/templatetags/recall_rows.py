"""Rows of the recall page and the recall lookup, written in Python, escaped, as `list_rows`
writes /inventory/'s (its docstring says why): a recall page lists up to 200 case lines and 50
units, and the template engine spent about 15 ms of CPU on them at full scale. The tables
around the rows, their empty messages and the pager stay in the templates. No database work
here: the rows carry what the view loaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from inventory.hooks import CaseUse
from inventory.models import RecallUnit, Unit, UnitState
from inventory.templatetags.list_rows import custody_span, url_without_id

register = template.Library()

DASH = "—"


def _day(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d") if value else ""


def _case_row(case: CaseUse, *, with_representative: bool) -> str:
    flag = ' <span class="badge text-bg-warning">Open: act</span>' if with_representative else ""
    opened = with_representative and case.is_open
    cells = (
        f'<td><a href="{escape(case.url)}">{escape(case.name)}</a>{flag if opened else ""}</td>'
        f"<td>{escape(case.status)}</td><td>{_day(case.date)}</td><td>{escape(case.facility)}</td>"
        f"<td>{escape(case.surgeon or DASH)}</td><td>{escape(case.patient_ref or DASH)}</td>"
    )
    if with_representative:
        cells += f"<td>{escape(case.representative)}</td>"
    tr = '<tr class="table-warning">' if opened else "<tr>"
    return f"{tr}{cells}</tr>\n"


@register.simple_tag
def case_rows(cases: Iterable[CaseUse], *, with_representative: bool = False) -> SafeString:
    """Case lines (`hooks.CaseUse`). The recall page's (`with_representative`) mark open
    events, which someone must act on, and name their representative."""
    return mark_safe("".join(_case_row(c, with_representative=with_representative) for c in cases))


def _where(unit: Unit, *, facility_stock: str) -> str:
    if unit.state == UnitState.FACILITY_STOCK:
        return f"{facility_stock}{escape(str(unit.facility))}"
    return escape(unit.location) if unit.location_id else DASH


def _recall_unit_row(row: RecallUnit, *, unit_url: str) -> str:
    unit = row.unit
    returned = ' <span class="small">returned</span>' if row.returned_in_id else ""
    where = (
        escape(unit.facility)
        if unit.facility_id and unit.state == UnitState.FACILITY_STOCK
        else (escape(unit.location) if unit.location_id else DASH)
    )
    return (
        f'<tr><td><a href="{unit_url}{unit.pk}/">{escape(unit.product.catalog_number)} '
        f"{escape(unit.label)}</a></td>"
        f'<td data-testid="found">{escape(row.found_display)}</td>'
        f'<td><span class="badge state-{escape(unit.state)}">'
        f"{escape(unit.get_state_display())}</span>{returned}</td>"
        f"<td>{custody_span(unit.custody)}</td><td>{where}</td></tr>\n"
    )


@register.simple_tag
def recall_unit_rows(rows: Iterable[RecallUnit]) -> SafeString:
    """The recall page's units (`selectors.recalls.recall_unit_rows`); each unit carries
    `custody`."""
    unit_url = url_without_id("inventory:unit_detail")
    return mark_safe("".join(_recall_unit_row(r, unit_url=unit_url) for r in rows))


def _lookup_unit_row(unit: Unit, *, unit_url: str, scanned_serial: str) -> str:
    scanned = (
        ' <span class="badge text-bg-dark" data-testid="scanned-unit">Scanned</span>'
        if scanned_serial and unit.serial_number == scanned_serial
        else ""
    )
    expiry = unit.expiration_date.strftime("%Y-%m-%d") if unit.expiration_date else DASH
    return (
        f'<tr><td><a href="{unit_url}{unit.pk}/" title="Full ledger">'
        f"{escape(unit.product.catalog_number)} {escape(unit.serial_number or unit.label)}</a>"
        f"{scanned}</td>"
        f'<td class="font-monospace">{escape(unit.lot_number or DASH)}</td>'
        f"<td>{expiry}</td>"
        f'<td><span class="badge state-{escape(unit.state)}">'
        f"{escape(unit.get_state_display())}</span></td>"
        f"<td>{custody_span(unit.custody)}</td><td>{_where(unit, facility_stock='at ')}</td></tr>\n"
    )


@register.simple_tag
def lookup_unit_rows(units: Iterable[Unit], *, scanned_serial: str = "") -> SafeString:
    """The recall lookup's units (`selectors.recalls.lookup_units`); each carries `custody`.
    The unit a scanned label named is marked among its lot."""
    unit_url = url_without_id("inventory:unit_detail")
    return mark_safe(
        "".join(
            _lookup_unit_row(u, unit_url=unit_url, scanned_serial=scanned_serial) for u in units
        )
    )
