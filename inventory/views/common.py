"""What several inventory pages share: permission guards, row labels, the export cap's note and
the custody picker's value."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied

from accounts.models import User
from accounts.selectors import actor_for
from core.web import org_member_required
from inventory import policies
from inventory.forms import ORG
from inventory.selectors.units import custody_label


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("You cannot open this page.")


def receiver_required(view):
    @org_member_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not policies.can_receive(actor=actor_for(request.user)):
            raise PermissionDenied("Only admins and distributors receive stock.")
        return view(request, *args, **kwargs)

    return wrapper


def export_capped_note(limit: int) -> str:
    return (
        f"Export capped: only the first {limit:,} rows are in this file. "
        "Narrow the filters to export the rest."
    )


def with_labels(rows, actor):
    for unit in rows:
        unit.custody = custody_label(unit=unit, actor=actor)
        unit.can_transfer = policies.can_transfer_unit(actor=actor, unit=unit)
    return rows


def holder_from_field(value) -> User | None:
    """A custody picker's cleaned value: a person, or None for organization custody."""
    return None if value == ORG else value
