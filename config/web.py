"""Small helpers every app's views share: page parsing, error display, id lists, sign-in.

Presentation only; no business rule lives here.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError

PAGE_SIZE = 50


def org_member_required(view):
    """Signed in and part of an organization (superusers without one see nothing here)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.organization_id is None:
            raise PermissionDenied("Your account belongs to no organization.")
        return view(request, *args, **kwargs)

    return wrapper


def page_number(request) -> int:
    """The ?page= value; anything that is not a sensible page number means page 1."""
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


def page_of(qs, page: int, size: int = PAGE_SIZE):
    """One page of rows and whether another follows, without counting the whole table:
    fetching one row past the page answers that."""
    start = (page - 1) * size
    rows = list(qs[start : start + size + 1])
    return rows[:size], len(rows) > size


def selected_ids(values) -> list[int]:
    """Integer ids from a form's repeated field; other values are ignored (at most 1,000)."""
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**63:  # a primary key; anything else matches nothing
            ids.append(number)
    return ids[:1000]


def add_form_errors(form, exc: ValidationError) -> None:
    """Show a service's ValidationError next to the fields it names (else on the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def flash_errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)
